"""A contact sheet: one thumbnail per scene, labelled with its timecode, in one PNG.

It is how a person (or the agent, looking at an image) sees a whole video at a
glance before choosing what to keep. Thumbnails are the middle frame of each
scene, which avoids the blend frames right after a cut; the label gives the
scene number and its start and end, which is what the user types back into
``trim``. Text uses the bundled DejaVu font so the sheet looks the same on
every machine.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel, Field

from shotsmith.atomic import atomic_output
from shotsmith.errors import InvalidInputError
from shotsmith.fonts import font_path
from shotsmith.media.probe import probe
from shotsmith.tools.scenes import DetectionOptions, SceneList, detect_scenes, iter_frames, load_scene_list
from shotsmith.tools.spec import ToolContext, edit_tool
from shotsmith.tools.trim import resolve_output, resolve_source

#: Largest sheet we agree to draw (pixels); beyond this, ask for fewer columns or smaller thumbs.
MAX_SHEET_PIXELS = 60_000_000

BACKGROUND = (24, 24, 24)
LABEL = (235, 235, 235)


class ContactSheetArgs(DetectionOptions):
    """Draw one thumbnail per scene of ``source`` into a PNG."""

    source: str = Field(min_length=1, description="Video to summarise.")
    output: str = Field(min_length=1, description="PNG file to write.")
    scenes_json: str | None = Field(default=None, description="Use this scene list instead of detecting.")
    columns: int = Field(default=4, ge=1, le=16)
    thumb_width: int = Field(default=320, ge=64, le=1920)


class ContactSheetResult(BaseModel):
    output: str
    scenes: int
    width: int
    height: int
    thumb_frames: list[int] = Field(description="The frame index shown for each scene.")
    boxes: list[tuple[int, int, int, int]] = Field(description="x, y, width, height of each thumbnail on the sheet.")


def _label_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(bold=False)), size)


def render_sheet(source: Path, found: SceneList, *, columns: int, thumb_width: int) -> tuple[Image.Image, list[int], list[tuple[int, int, int, int]]]:
    """Decode once, keep the middle frame of each scene, lay them out in a grid."""
    info = probe(source, need_video=True)
    video = info.video
    assert video is not None
    w, h = video.display_size
    thumb_h = max(2, round(thumb_width * h / w))
    wanted = {(s.start_frame + s.end_frame - 1) // 2: i for i, s in enumerate(found.scenes)}
    thumbs: dict[int, Image.Image] = {}
    last = max(wanted) if wanted else -1
    for index, _seconds, frame in iter_frames(source, prefetch=8):
        if index in wanted:
            image = frame.to_image()
            if video.rotation:
                image = image.rotate(-video.rotation, expand=True)
            thumbs[wanted[index]] = image.resize((thumb_width, thumb_h), Image.Resampling.BILINEAR)
        if index >= last:
            break
    font_size = max(11, thumb_width // 20)
    font = _label_font(font_size)
    label_h = font_size * 2 + 8
    pad = max(4, thumb_width // 40)
    columns = min(columns, max(1, len(found.scenes)))
    rows = math.ceil(len(found.scenes) / columns)
    sheet_w = pad + columns * (thumb_width + pad)
    sheet_h = pad + rows * (thumb_h + label_h + pad)
    if sheet_w * sheet_h > MAX_SHEET_PIXELS:
        raise InvalidInputError(f"the sheet would be {sheet_w}x{sheet_h} pixels; use smaller thumbnails or fewer scenes")
    sheet = Image.new("RGB", (sheet_w, sheet_h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    boxes = []
    for i, scene in enumerate(found.scenes):
        x = pad + (i % columns) * (thumb_width + pad)
        y = pad + (i // columns) * (thumb_h + label_h + pad)
        boxes.append((x, y, thumb_width, thumb_h))
        if i in thumbs:
            sheet.paste(thumbs[i], (x, y))
        text = f"#{scene.index}  {scene.start_timecode}\n{scene.length_s:.2f}s  frames {scene.start_frame}-{scene.end_frame - 1}"
        draw.multiline_text((x + 2, y + thumb_h + 3), text, fill=LABEL, font=font, spacing=2)
    return sheet, sorted(wanted, key=wanted.get), boxes


@edit_tool("contact_sheet", "Make a PNG contact sheet: one thumbnail per scene with its timecode.", ContactSheetArgs)
def contact_sheet(ctx: ToolContext, args: ContactSheetArgs) -> ContactSheetResult:
    source = resolve_source(ctx, args.source)
    output = resolve_output(ctx, args.output, source)
    if output.suffix.lower() != ".png":
        raise InvalidInputError(f"contact sheet {args.output} must be a .png file")
    if args.scenes_json:
        found = load_scene_list(resolve_source(ctx, args.scenes_json))
    else:
        found = detect_scenes(source, args, on_progress=ctx.on_progress, cancel=ctx.cancel)
    sheet, shown, boxes = render_sheet(source, found, columns=args.columns, thumb_width=args.thumb_width)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=False)
    with atomic_output(output) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return ContactSheetResult(output=str(output), scenes=len(found.scenes), width=sheet.width, height=sheet.height,
                              thumb_frames=shown, boxes=boxes)
