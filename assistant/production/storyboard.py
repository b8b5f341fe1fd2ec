"""Storyboard first: one keyframe still per shot, made before any video, then animated image-to-video.

Shots generated independently from text have no reason to show the same
person, product, place or light; shots animated from stills of one storyboard
(with the cast's reference images behind every still) do. This module holds
the pieces the production service uses for that step: which image backend
makes the stills, the request for a shot's first (and last) frame, the cast
references and look that go with it, the storyboard's panels with their
approval state, and the contact sheet a person approves before video money is
spent.

Approval is per panel and bound to the still itself (``Shot.keyframe_approved``
holds the approved still's path): an edit that changes the picture, or a redo,
makes a new still, which is pending until the user approves it; re-timing or
moving a shot keeps its still, and so its approval. A still whose shot has its clip (``run`` approves by
being run) reads ``used``, not pending (:func:`panel_state`). A redo that changes the same shot
(a note or a camera move) draws the new still from the previous one, passed as the
first reference (``PREVIOUS_TAG``) to image backends that take references; the rule is
in ``ProductionService.redo_keyframe``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageOps
from pydantic import BaseModel, Field

from shotsmith.backends.base import Backend, GenerationMode, GenerationRequest, Reference
from shotsmith.backends.registry import backend_classes, get_backend
from shotsmith.backends.sketch import panel_labels
from shotsmith.brief import Shot, ShotPlan
from shotsmith.cast import CastMember, Look
from shotsmith.errors import InvalidInputError
from shotsmith.fonts import font_path

#: Each video provider's own image model (same account, same look; for the local ``diffusers`` video backend the
#: local ``diffusers-image`` one, when a model is configured for it); anything else falls back to sketch.
PROVIDER_IMAGE_BACKEND = {"runway": "runway-image", "luma": "luma-image", "pika": "flux", "veo": "gemini-image",
                          "diffusers": "diffusers-image"}
OFFLINE_IMAGE_BACKEND = "sketch"
#: Words added to an end-frame request so it shows where the shot arrives, not where it starts.
END_FRAME_HINT = "the same scene at the very end of the shot, after the camera move"
#: How a redo's previous still is tagged among the references (Runway cites it as ``@previous``).
PREVIOUS_TAG = "previous"

PanelState = Literal["approved", "used", "pending", "none", "footage", "continues"]
#: A panel's state in words (the chat's and the agent's lines; "continues" names its shot).
MARK_WORDS = {"approved": "approved", "used": "used for the clip", "pending": "pending", "none": "no still yet",
              "footage": "footage"}
#: The contact sheet's mark after a panel's number, duration and camera move (none for a shot with no still).
SHEET_MARKS = {"approved": "✓ approved", "used": "✓ used for the clip", "pending": "pending", "footage": "footage"}


def wants_keyframes(mode: str, video: Backend) -> bool:
    """Keyframes are made when asked (``auto``) and the video backend can animate a still."""
    return mode == "auto" and GenerationMode.IMAGE_TO_VIDEO in video.capabilities().modes


def image_backend_for(video: Backend, chosen: str | None) -> Backend:
    """The backend that draws the keyframes: the user's choice, else the provider's own, else sketch.

    The provider's own is used only where it is installed and, when it runs locally, has a model set:
    ``diffusers-image`` pairs with ``diffusers`` only when ``[backends.diffusers-image] model`` is configured
    (a local image model is the user's own download, never assumed); a cloud image model is its provider's.
    """
    if chosen:
        backend = get_backend(chosen)
    else:
        own = getattr(video, "image_backend", None) or PROVIDER_IMAGE_BACKEND.get(video.name)
        backend = get_backend(own) if own in backend_classes() else None
        if backend is None or (backend.capabilities().local and not backend.model):
            backend = get_backend(OFFLINE_IMAGE_BACKEND)
    return check_makes_images(backend)


def check_makes_images(backend: Backend) -> Backend:
    """``backend``, when it makes stills; refused when it does not (a video or voice backend as ``--image-backend``)."""
    kinds = {mode.kind.value for mode in backend.capabilities().modes}
    if "image" not in kinds:
        raise InvalidInputError(f"backend {backend.name} does not make images",
                                hint="pick an image backend with --image-backend (see shotsmith backends list)")
    return backend


def shot_cast(shot: Shot, cast: list[CastMember]) -> list[CastMember]:
    names = {n.lower() for n in shot.cast}
    return [m for m in cast if m.name.lower() in names]


def full_prompt(shot: Shot, cast: list[CastMember], look: Look) -> str:
    """The shot's prompt with its cast described and the film's look, as every backend receives it."""
    parts = [shot.prompt]
    for member in shot_cast(shot, cast):
        if member.description and member.description.lower() not in shot.prompt.lower():
            parts.append(f"{member.name}: {member.description}")
    phrase = look.phrase
    if phrase and phrase.lower() not in shot.prompt.lower():
        parts.append(phrase)
    return "; ".join(parts)


def references(shot: Shot, cast: list[CastMember], resolve) -> list[Reference]:
    """The cast's reference images for a shot, tagged by name (``@Mara``) and typed by kind."""
    refs: list[Reference] = []
    roles = {"character": "character", "product": "product", "location": "location"}
    for member in shot_cast(shot, cast):
        for image in member.images:
            refs.append(Reference(path=str(resolve(image)), tag=member.tag, role=roles[member.kind]))
    return refs


def keyframe_request(shot: Shot, plan: ShotPlan, *, cast: list[CastMember], look: Look, resolution: str, fps: int,
                     seed: int | None, resolve, end: bool = False, previous: str | None = None) -> GenerationRequest:
    """The still's request; ``previous`` (a redo's earlier still, absolute) goes first among the references,
    so a backend that starts from one image (diffusers-image's img2img) starts from it.

    It carries the shot's duration (the field is required), but a still has no length: its cache key leaves
    the duration out (``cache_keys.key_exclusions``), so re-timing a shot or changing its speed never buys
    its still again; a new prompt, camera, style, cast or look does."""
    prompt = full_prompt(shot, cast, look)
    if end:
        prompt = f"{prompt}; {END_FRAME_HINT}"
    refs = references(shot, cast, resolve)
    if previous:
        refs = [Reference(path=previous, tag=PREVIOUS_TAG, role="location"), *refs]
    return GenerationRequest(prompt=prompt, mode=GenerationMode.TEXT_TO_IMAGE, duration_s=max(shot.duration_s, 0.1),
                             aspect_ratio=plan.aspect_ratio, resolution=resolution, fps=fps, camera=shot.camera,
                             style=shot.style, shot_index=shot.index, references=refs,
                             seed=None if seed is None else seed + shot.index + (1000 if end else 0))


class Panel(BaseModel):
    """One storyboard panel as the chat, the agent and the TUI show it."""

    shot: int = Field(description="Shot number.")
    state: PanelState = Field(
        description="approved / used (its clip is made, from this still: nothing waits for a yes) / pending (a "
                    "still waits for a yes) / none (no still yet) / footage (the user's file) / continues (starts "
                    "from the previous shot's last frame: no still of its own).")
    keyframe: str | None = Field(default=None, description="Project-relative path of the still, when there is one.")
    duration_s: float = Field(description="Seconds on screen.")
    camera: str = Field(description="Camera move.")
    prompt: str = Field(description="What the shot shows.")

    def line(self, root: Path | None = None) -> str:
        """``2. [pending] 3 s, push in: a barista pours … — keyframes/ab12.png`` (the path under ``root``)."""
        mark = f"continues from shot {self.shot - 1}" if self.state == "continues" else MARK_WORDS[self.state]
        where = f" — {root / self.keyframe if root else self.keyframe}" if self.keyframe else ""
        prompt = textwrap.shorten(self.prompt, width=90, placeholder=" …")
        return f"{self.shot}. [{mark}] {self.duration_s:g} s, {self.camera.replace('_', ' ')}: {prompt}{where}"


def panel_state(shot: Shot) -> PanelState:
    """What a shot's storyboard panel says; the one place the chat, the agent, the sheet and the TUI read it.

    A still that was never approved but whose shot has its clip (``run`` is its
    own approval, and a clip made is money already spent) is ``used``, not
    ``pending``: nothing waits for it, and ``keyframes_to_review`` holds no shot
    with a clip either. A change to the picture unbinds both, so it is pending again.
    """
    if shot.source:
        return "footage"
    if shot.continues_from:
        return "continues"
    state = shot.keyframe_state
    return "used" if state == "pending" and shot.bound_clip else state


def panels(plan: ShotPlan) -> list[Panel]:
    """The storyboard: one panel per shot, in cut order."""
    return [Panel(shot=s.index, state=panel_state(s), keyframe=None if s.continues_from else s.bound_keyframe,
                  duration_s=s.duration_s, camera=s.camera.value, prompt=s.prompt) for s in plan.shots]


def approve(plan: ShotPlan, shots: list[int] | None) -> tuple[ShotPlan, list[int]]:
    """``plan`` with the stills of ``shots`` (None: every shot that has one) approved; and which were.

    Naming a shot that has no still yet is an error (there is nothing to approve); footage needs none.
    """
    known = {s.index: s for s in plan.shots}
    if shots is not None:
        missing = sorted({i for i in shots if i not in known})
        if missing:
            raise InvalidInputError(f"no shot {', '.join(map(str, missing))}; the plan has shots 1-{len(plan.shots)}")
        continued = [i for i in shots if known[i].continues_from]
        if continued:
            raise InvalidInputError(
                "; ".join(f"shot {i} continues from shot {i - 1}'s last frame" for i in continued)
                + ": it has no still of its own to approve", hint=f"approve shot {continued[0] - 1} instead")
        bare = [i for i in shots if not known[i].source and not known[i].bound_keyframe]
        if bare:
            raise InvalidInputError(f"shot {', '.join(map(str, bare))} has no storyboard still yet",
                                    hint="make the storyboard first ('show the storyboard' or 'generate')")
    wanted = set(known) if shots is None else set(shots)
    approved = [s.index for s in plan.shots if s.index in wanted and s.keyframe_state == "pending"]
    new = plan.model_copy(update={"shots": [s.model_copy(update={"keyframe_approved": s.bound_keyframe})
                                            if s.index in approved else s for s in plan.shots]})
    return new, approved


def _footage_picture(path: Path, at_s: float) -> Image.Image | None:
    """The user's clip (or still) as the cut first shows it, for its panel; None when it cannot be read."""
    import av

    from shotsmith.errors import ShotsmithError
    from shotsmith.media.probe import open_video

    try:
        with open_video(path) as (container, stream):
            if at_s > 0 and stream.time_base:
                container.seek(int(at_s / stream.time_base), stream=stream)
            for frame in container.decode(stream):
                if frame.time is None or frame.time >= at_s - 1e-3:
                    return frame.to_image().convert("RGB")
    except (ShotsmithError, av.FFmpegError, OSError, ValueError):
        return None  # the sheet still shows the shot, as a labelled box
    return None


def contact_sheet(plan: ShotPlan, root: Path, output: Path, *, columns: int = 3, panel_width: int = 480) -> Path:
    """A storyboard sheet: each panel with its shot number, duration, camera move and prompt beneath."""
    shots = [s for s in plan.shots if s.bound_keyframe or s.source]
    if not shots:
        raise InvalidInputError("no shot has a keyframe yet", hint="make the storyboard first")
    w_ratio, h_ratio = (int(p) for p in plan.aspect_ratio.split(":"))
    panel_height = round(panel_width * h_ratio / w_ratio)
    caption_height, margin = 114, 16
    rows = -(-len(plan.shots) // columns)
    cols = min(columns, len(plan.shots))
    sheet = Image.new("RGB", (margin + cols * (panel_width + margin),
                              margin + rows * (panel_height + caption_height + margin)), "white")
    draw = ImageDraw.Draw(sheet)
    from PIL import ImageFont

    bold = ImageFont.truetype(str(font_path(True)), 18)
    regular = ImageFont.truetype(str(font_path(False)), 14)
    for position, shot in enumerate(plan.shots):
        x = margin + (position % columns) * (panel_width + margin)
        y = margin + (position // columns) * (panel_height + caption_height + margin)
        still = shot.bound_keyframe
        picture = _footage_picture(root / shot.source, shot.in_s) if shot.source else None
        if picture is not None:  # the user's frame, fitted as the render fits it (never stretched)
            sheet.paste(ImageOps.pad(picture, (panel_width, panel_height), color="#dddddd"), (x, y))
        elif still:
            with Image.open(root / still) as image:
                sheet.paste(image.convert("RGB").resize((panel_width, panel_height)), (x, y))
        else:
            draw.rectangle([x, y, x + panel_width, y + panel_height], fill="#dddddd")
            before = plan.continued_from(shot.index)
            label = ("footage" if shot.source else f"continues from the last frame of shot {before}"
                     if before is not None else "no keyframe yet")
            draw.text((x + 12, y + 12), label, fill="black", font=regular)
        draw.rectangle([x, y, x + panel_width - 1, y + panel_height - 1], outline="black", width=2)
        head = f"{shot.index}  ·  {shot.duration_s:g} s  ·  {shot.camera.value.replace('_', ' ')}"
        state = panel_state(shot)
        if state in SHEET_MARKS:
            head += f"  ·  {SHEET_MARKS[state]}"
        draw.text((x, y + panel_height + 6), head, fill="black", font=bold)
        # a sketch panel's words travel beside its drawing (framing, subject, setting): written here
        cells = panel_labels(root / still) if still else None
        if cells:
            words = "  ·  ".join(value if key.startswith("SHOT") else f"{key.lower()}: {value}" for key, value in cells)
            draw.text((x, y + panel_height + 30), textwrap.shorten(words, width=max(20, panel_width // 7),
                                                                  placeholder=" …"), fill="#7a4a10", font=regular)
        text = textwrap.shorten(shot.prompt, width=180, placeholder=" …")
        for i, line in enumerate(textwrap.wrap(text, width=max(20, panel_width // 8))[:3]):
            draw.text((x, y + panel_height + 50 + i * 18), line, fill="#333333", font=regular)
    from shotsmith.atomic import atomic_output

    output = Path(output)
    with atomic_output(output) as tmp:
        sheet.save(tmp, format="PNG" if output.suffix.lower() == ".png" else None)
    return output
