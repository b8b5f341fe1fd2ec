"""Opening a reference image (a cast member's picture, a redo's previous still) the one way.

Two backends read reference pictures themselves: ``sketch`` draws each one as a thumbnail in the panel,
``diffusers-image`` starts its image-to-image from the first. A reference is the user's file, so what
can be wrong with it is the user's to fix, and each case is one line: the file is gone (they removed or
moved it after adding the member), or Pillow cannot read it (not a picture, truncated, or so large it
could be a decompression bomb). The picture is loaded and detached from the file, so nothing reads it
later and no file handle stays open.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from shotsmith.errors import InvalidInputError

#: What to do about a reference that is gone.
MISSING_HINT = "add the cast member's picture again, or remove it from the shot"


def open_reference(path: str | Path, *, label: str = "", name: str | None = None) -> Image.Image:
    """The picture at ``path``, loaded (its own mode; convert as needed).

    ``label`` starts each message (``"shot 3: "``); ``name`` (the reference's tag, or the file name) is said
    after the path when the file is missing, for a backend that names the member there.
    """
    path = Path(path)
    if not path.is_file():
        named = f" ({name})" if name else ""
        raise InvalidInputError(f"{label}reference image {path}{named} does not exist", hint=MISSING_HINT)
    try:
        with Image.open(path) as picture:
            picture.load()
            return picture.copy()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidInputError(f"{label}reference image {path} is not an image Pillow can read ({exc})") from exc
