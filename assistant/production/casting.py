"""Keeping the cast: adding members with their reference images, and putting them in the shots that name them."""

from __future__ import annotations

import filecmp
import re
import shutil
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from pydantic import ValidationError

from shotsmith.brief import ShotPlan
from shotsmith.cast import CastMember, find_member, members_in
from shotsmith.errors import InvalidInputError
from shotsmith.store import ProjectStore

IMAGE_FORMATS = {"PNG", "JPEG", "WEBP"}
CAST_DIR = "assets/cast"


def _checked_image(path: Path) -> None:
    if path.is_dir():
        raise InvalidInputError(f"reference image {path} is a folder", hint="name the picture files in it")
    if not path.is_file():
        raise InvalidInputError(f"reference image {path} does not exist")
    try:
        with Image.open(path) as image:
            image.verify()
            kind = image.format
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInputError(f"{path} is not a readable image") from exc
    if kind not in IMAGE_FORMATS:
        raise InvalidInputError(f"{path} is a {kind} image; use PNG, JPEG or WebP")


def check_member(name: str, images: list[Path], *, kind: str | None = None, description: str = "") -> CastMember:
    """Refuse a bad name, kind or image before anything is written (``cast add`` may be creating the project)."""
    for image in images:
        _checked_image(Path(image).expanduser())
    if kind not in (None, "character", "product", "location"):
        raise InvalidInputError(f"cast kind {kind!r} is not character, product or location")
    try:
        return CastMember(name=name, kind=kind or "character", description=description)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["loc"] == ("description",):  # pydantic's own words name no field
            limit = CastMember.model_fields["description"].metadata[0].max_length
            raise InvalidInputError(f"the description of {name} is {len(description)} characters; "
                                    f"at most {limit} go into a prompt", hint="shorten it") from None
        raise InvalidInputError(first["msg"].removeprefix("Value error, ")) from None


def add_member(store: ProjectStore, name: str, images: list[Path], *, description: str = "",
               kind: str | None = None) -> CastMember:
    """Add (or extend) a member; images are checked, then copied into ``assets/cast/NAME/``.

    ``kind`` None keeps an existing member's kind (a new one is a character); a kind given changes it.
    """
    checked = check_member(name, images, kind=kind, description=description)
    try:
        existing = find_member(store.project.cast, name)
    except InvalidInputError:
        existing = None
    member = existing or checked
    folder = store.root / CAST_DIR / member.name
    folder.mkdir(parents=True, exist_ok=True)
    added = []
    for image in images:
        source = Path(image).expanduser().resolve()
        same = [kept for kept in member.images if (store.root / kept).is_file()
                and filecmp.cmp(store.root / kept, source, shallow=False)]
        if same:  # the member has this picture already: saying it again adds no second reference
            continue
        target = folder / source.name
        if target.resolve() != source:
            n = 1
            while target.exists():
                target = folder / f"{source.stem}-{n}{source.suffix}"
                n += 1
            shutil.copyfile(source, target)
        added.append(store.relative(target))
    updated = member.model_copy(update={"images": [*member.images, *added],
                                        "description": description or member.description,
                                        "kind": kind or member.kind})
    store.project.cast = [m for m in store.project.cast if m.name != member.name] + [updated]
    if store.project.plan is not None:
        store.project.plan = assign_cast(store.project.plan, store.project.brief.text if store.project.brief else "",
                                         store.project.cast)
    store.save()
    return updated


def remove_member(store: ProjectStore, name: str) -> None:
    member = find_member(store.project.cast, name)
    store.project.cast = [m for m in store.project.cast if m.name != member.name]
    if store.project.plan is not None:
        plan = store.project.plan
        store.project.plan = plan.model_copy(update={"shots": [
            s.model_copy(update={"cast": [c for c in s.cast if c != member.name]}) for s in plan.shots]})
    store.save()


def assign_cast(plan: ShotPlan, brief: str, cast: list[CastMember]) -> ShotPlan:
    """Put each member in the shots that name it; one the brief names but no shot does goes in every shot.

    A member already placed by hand stays where it is.
    """
    if not cast:
        return plan
    in_brief = members_in(cast, brief)
    named_somewhere = {m.name for s in plan.shots for m in members_in(cast, s.prompt)}
    shots = []
    for shot in plan.shots:
        names = list(shot.cast)
        for member in members_in(cast, shot.prompt):
            if member.name not in names:
                names.append(member.name)
        for member in in_brief:
            if member.name not in named_somewhere and member.name not in names and not shot.source:
                names.append(member.name)
        shots.append(shot.model_copy(update={"cast": names}) if names != shot.cast else shot)
    return plan.model_copy(update={"shots": shots})


#: ``@name`` as a brief writes it; a word character before the ``@`` makes it an e-mail address, not a tag.
_TAG = re.compile(r"(?<![\w@])@([A-Za-z]\w{1,15})\b")


def unknown_tags_notice(text: str, cast: list[CastMember]) -> list[str]:
    """The brief's ``@names`` that no cast member answers to, said once, so the user's tag is not silently a word.

    Without a member the shot gets the bare word in its prompt and no reference images: the user who
    wrote ``@mara`` meant the same Mara in every shot, and is told how to get her.
    """
    known = {m.name.lower() for m in cast}
    unknown = list(dict.fromkeys(f"@{t.lower()}" for t in _TAG.findall(text) if t.lower() not in known))
    if not unknown:
        return []
    return [f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in the cast: the shots use the "
            f"word without reference images (add one with 'shotsmith cast add NAME IMAGE… -p DIR', "
            f"or say 'this is Name: picture.png')"]
