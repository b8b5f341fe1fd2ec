"""Split a video into one clip per scene.

Each scene goes through the same exact cut as :mod:`trim`: stream copy when
its cut points are keyframes (lossless and fast, as with footage cut at
keyframes), otherwise an accurate re-encode of just that scene. The decision
is made per scene, so a file whose camera put keyframes on most cuts is
mostly copied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from shotsmith.errors import InvalidInputError, PathSafetyError
from shotsmith.media.probe import probe
from shotsmith.tools.scenes import DetectionOptions, Scene, SceneList, detect_scenes, load_scene_list
from shotsmith.tools.spec import ToolContext, edit_tool
from shotsmith.tools.trim import _PRESETS, TrimResult, cut_range, read_frame_table, resolve_output, resolve_source

#: More clips than this is almost certainly a threshold mistake, not an edit.
MAX_CLIPS = 2000


class SplitArgs(DetectionOptions):
    """Write one clip per detected scene into ``output_dir``."""

    source: str = Field(min_length=1, description="Video to split (never modified).")
    output_dir: str = Field(min_length=1, description="Folder for the clips (created if missing).")
    scenes_json: str | None = Field(default=None, description="Use this scene list (from `scenes --json`) instead of detecting.")
    mode: Literal["auto", "copy", "reencode"] = Field(default="auto", description="auto: copy each scene whose cuts are keyframes.")
    crf: int = Field(default=18, ge=0, le=51)
    preset: Literal[_PRESETS] = "veryfast"  # type: ignore[valid-type]
    name: str = Field(default="{stem}-scene-{index:03d}{suffix}", description="Clip file name pattern.")


class SplitClip(BaseModel):
    scene: Scene
    clip: TrimResult


class SplitResult(BaseModel):
    source: str
    output_dir: str
    clips: list[SplitClip]

    @property
    def copied(self) -> int:
        return sum(c.clip.method == "copy" for c in self.clips)


def _clip_name(pattern: str, source: Path, index: int) -> str:
    try:
        name = pattern.format(stem=source.stem, index=index, suffix=source.suffix or ".mp4")
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidInputError(f"clip name pattern {pattern!r} is invalid ({exc}); use {{stem}}, {{index}}, {{suffix}}") from exc
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        raise InvalidInputError(f"clip name pattern {pattern!r} must give a plain file name, got {name!r}")
    return name


@edit_tool("split", "Split a video into one clip per scene (stream copy when cuts are keyframes, else exact re-encode).", SplitArgs)
def split(ctx: ToolContext, args: SplitArgs) -> SplitResult:
    source = resolve_source(ctx, args.source)
    raw_dir = Path(args.output_dir)
    if ctx.store is not None:
        folder = ctx.store.resolve(raw_dir, allow_inputs=False)
    else:
        folder = raw_dir.expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"output folder {args.output_dir} is a file")
    info = probe(source, need_video=True)
    if args.scenes_json:
        found: SceneList = load_scene_list(resolve_source(ctx, args.scenes_json))
    else:
        found = detect_scenes(source, args, info=info, cancel=ctx.cancel)
    table = read_frame_table(source)
    if found.frames != len(table):
        raise InvalidInputError(f"the scene list has {found.frames} frames but {source.name} has {len(table)}: it was made for another file")
    if len(found.scenes) > MAX_CLIPS:
        raise InvalidInputError(f"{len(found.scenes)} scenes is more than {MAX_CLIPS}; raise the threshold or min scene length")
    names = [_clip_name(args.name, source, s.index) for s in found.scenes]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"clip name pattern {args.name!r} gives the same name to several scenes; include {{index}}")
    clips = []
    for scene, name in zip(found.scenes, names):
        out = resolve_output(ctx, str(folder / name), source)
        if out == source.resolve():
            raise PathSafetyError(f"clip {name} would overwrite the source")
        result = cut_range(ctx, source, out, info, table, scene.start_frame, scene.end_frame, mode=args.mode,
                           crf=args.crf, preset=args.preset)
        clips.append(SplitClip(scene=scene, clip=result))
    return SplitResult(source=str(source), output_dir=str(folder), clips=clips)
