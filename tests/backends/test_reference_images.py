"""Opening a reference image: one helper (``backends/reference_images.py``) for the two backends that read one.

``sketch`` draws each cast member's picture as a thumbnail in the panel; ``diffusers-image`` starts its
image-to-image from the first reference. Each says the same thing about a picture that is missing or that
Pillow cannot read, in one line, with its own wording kept: the still backend names the shot and the
reference's tag, the sketch names the file. These tests pinned both backends' messages before the two
copies of the checks became one; a decompression bomb (a picture too large to open safely) is now one clear
line in the sketch too, where it was a traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from PIL import Image

from shotsmith.backends import sketch
from shotsmith.backends.base import GenerationMode, GenerationRequest, Reference
from shotsmith.backends.reference_images import open_reference
from shotsmith.errors import InvalidInputError
from shotsmith.testing.conformance import reference_image

MISSING_HINT = "add the cast member's picture again, or remove it from the shot"


def request(*references: Reference, mode: GenerationMode = GenerationMode.TEXT_TO_IMAGE,
            shot: int | None = 3) -> GenerationRequest:
    return GenerationRequest(prompt="Mara pours a latte at the counter", mode=mode, duration_s=3.0,
                             aspect_ratio="16:9", resolution="360p", seed=7, shot_index=shot,
                             references=list(references))


def not_a_picture(folder: Path) -> Path:
    path = folder / "notes.png"
    path.write_text("not a picture")
    return path


@pytest.fixture
def bomb(tmp_path, monkeypatch) -> Path:
    """A picture over Pillow's decompression-bomb limit (the limit lowered, so the file stays tiny)."""
    path = tmp_path / "huge.png"
    Image.new("RGB", (64, 64), (10, 20, 30)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64*64 is over twice this: an error, not a warning
    return path


# -- the sketch's panel thumbnails ----------------------------------------------------------------------
def test_sketch_draws_a_readable_reference_and_skips_a_redos_previous_still(tmp_path):
    face = reference_image(tmp_path, "mara")
    thumbs = sketch._reference_thumbnails(request(Reference(path=str(face), tag="Mara"),
                                                  Reference(path=str(tmp_path / "gone.png"), tag="previous"),
                                                  Reference(path=str(reference_image(tmp_path, "cafe")))))
    assert [label for _, label in thumbs] == ["Mara", "cafe"]  # the tag, else the file's stem
    picture = thumbs[0][0]
    assert picture.size == (96, 96) and picture.getpixel((0, 0)) == (200, 60, 40)
    assert sketch.render_png(request(Reference(path=str(face), tag="Mara"))).startswith(b"\x89PNG")


def test_sketch_a_missing_reference_is_one_line_naming_the_file(tmp_path):
    gone = tmp_path / "gone.png"
    with pytest.raises(InvalidInputError) as caught:
        sketch.render_png(request(Reference(path=str(gone), tag="Mara")))
    assert caught.value.message == f"reference image {gone} does not exist"
    assert caught.value.hint == MISSING_HINT


def test_sketch_an_unreadable_reference_is_one_line(tmp_path):
    notes = not_a_picture(tmp_path)
    with pytest.raises(InvalidInputError) as caught:
        sketch.render_png(request(Reference(path=str(notes), tag="Mara")))
    assert re.fullmatch(rf"reference image {re.escape(str(notes))} is not an image Pillow can read \(.+\)",
                        caught.value.message)


def test_sketch_a_decompression_bomb_is_one_line(bomb):
    with pytest.raises(InvalidInputError, match=rf"^reference image {re.escape(str(bomb))} is not an image Pillow "
                                                r"can read \(.*exceeds limit"):
        sketch.render_png(request(Reference(path=str(bomb), tag="Mara")))


# -- diffusers-image's img2img start --------------------------------------------------------------------
pytest.importorskip("diffusers")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from shotsmith.backends.diffusers_image import DiffusersImageBackend  # noqa: E402


def backend(tmp_path: Path) -> DiffusersImageBackend:
    return DiffusersImageBackend(model=str(tmp_path / "model"), short_side=64, steps=1, device="cpu")


def test_diffusers_image_opens_the_first_reference_as_rgb(tmp_path):
    grey = tmp_path / "grey.png"
    Image.new("LA", (40, 30), (128, 200)).save(grey)
    be = backend(tmp_path)
    ready, _ = be.prepare(request(Reference(path=str(grey), tag="Mara")))
    picture = be._reference_picture(ready)
    assert picture.mode == "RGB" and picture.size == (40, 30) and picture.getpixel((0, 0)) == (128, 128, 128)


def test_diffusers_image_a_missing_reference_names_the_shot_and_the_tag(tmp_path):
    gone = tmp_path / "gone.png"
    with pytest.raises(InvalidInputError) as caught:
        backend(tmp_path).prepare(request(Reference(path=str(gone), tag="Mara")))
    assert caught.value.message == f"shot 3: reference image {gone} (Mara) does not exist"
    assert caught.value.hint == MISSING_HINT
    with pytest.raises(InvalidInputError) as untagged:  # no tag, no shot: the file's name, no prefix
        backend(tmp_path).prepare(request(Reference(path=str(gone)), shot=None))
    assert untagged.value.message == f"reference image {gone} (gone.png) does not exist"


def test_diffusers_image_an_unreadable_reference_is_one_line(tmp_path, bomb):
    notes = not_a_picture(tmp_path)
    for path in (notes, bomb):
        with pytest.raises(InvalidInputError) as caught:
            backend(tmp_path).prepare(request(Reference(path=str(path), tag="Mara")))
        assert re.fullmatch(rf"shot 3: reference image {re.escape(str(path))} is not an image Pillow can read "
                            r"\(.+\)", caught.value.message), caught.value.message


# -- the helper itself ------------------------------------------------------------------------------------------
def test_the_helper_gives_a_loaded_picture_that_outlives_its_file(tmp_path):
    face = reference_image(tmp_path, "mara")
    picture = open_reference(face)
    face.unlink()  # loaded and detached from the file: nothing is read later
    assert picture.size == (96, 96) and picture.getpixel((48, 30)) == (240, 200, 170)
    with pytest.raises(InvalidInputError) as caught:
        open_reference(tmp_path / "gone.png", label="shot 2: ", name="Theo")
    assert caught.value.message == f"shot 2: reference image {tmp_path / 'gone.png'} (Theo) does not exist"
