"""The finish-phase tools: titles, music and voice-over, captions, overlays, export settings, interchange.

These are the editing catalogue's own functions (:data:`shotsmith.tools.spec.TOOLS`),
offered through tight schemas of their own: the catalogue's argument models
carry every knob the CLI has, which is more than a model should read on each
call. Catalogue tools that duplicate a plan edit (``add_clip``, ``arrange``,
``set_clip``, ``set_speed``, ``set_transition``, ``reframe``, ``render``,
``mute_clip_audio``) are never offered: in a planned project those edits
belong to the plan (``edit_shot``, ``arrange_shots``, ``set_format``,
``render``), where they survive every render.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from shotsmith.assistant.agent.schemas import AgentTool, StrictArgs
from shotsmith.assistant.agent.tools import guarded_tool
from shotsmith.errors import InvalidInputError
from shotsmith.timeline import OverlayPosition, TitlePosition

if TYPE_CHECKING:
    from shotsmith.assistant.production import ProductionService

#: Catalogue tools that edit what the plan owns; offering them would give the model two tools for one job.
#: (The catalogue's ``render`` is replaced by the service's, which renders the cut derived from the plan.)
PLAN_DUPLICATES = frozenset({"add_clip", "arrange", "set_clip", "set_speed", "set_transition", "reframe",
                             "mute_clip_audio", "add_still", "probe", "import_footage", "render_final",
                             "render_preview", "set_aspect_ratio", "reorder_shots"})
#: The catalogue modules the finish tools call into.
_MODULES = ("titles", "audio", "subtitles", "composite", "presets", "interchange", "editplan")
Preset = Literal["web", "social", "hevc", "webm", "prores", "gif", "webp", "preview"]
ExportKind = Literal["otio", "edl", "fcpxml", "edit_plan", "srt"]
_DEFAULT_EXPORT = {"otio": "renders/cut.otio", "edl": "renders/cut.edl", "fcpxml": "renders/cut.xml",
                   "edit_plan": "renders/edit.yaml", "srt": "renders/captions.srt"}


class TitleArgs(StrictArgs):
    text: str = Field(min_length=1, max_length=500, description="The words.")
    start_s: float = Field(0.0, ge=0, description="Appears at (s).")
    end_s: float | None = Field(description="Ends at (s); null: the end.")
    position: TitlePosition = Field("center", description="Where.")


class AudioArgs(StrictArgs):
    file: str = Field(min_length=1, description="User's audio file; music: or folder, or off.")
    role: Literal["music", "voiceover"] = Field("music", description="Music or voice-over.")
    start_s: float = Field(0.0, ge=0, description="Starts at (s).")
    volume: float = Field(1.0, ge=0, le=4, description="Gain (1 = as is).")
    loop: bool = Field(False, description="Repeat to the end.")
    bed: bool = Field(False, description="Music as the project's bed: chosen by mood, faded, ducked.")
    mood: str | None = Field(description="Bed: mood tags, e.g. calm,warm.")
    beat_sync: bool = Field(False, description="Bed: move the cuts onto its beats.")


class CueArgs(StrictArgs):
    start_s: float = Field(ge=0, description="From (s).")
    end_s: float = Field(gt=0, description="To (s).")
    text: str = Field(min_length=1, max_length=1000, description="Text.")


class CaptionArgs(StrictArgs):
    cues: list[CueArgs] = Field(default_factory=list, description="Cues (may be empty with srt_file).")
    srt_file: str | None = Field(description="User's .srt file.")
    burn: bool = Field(True, description="Burn into the picture.")


class OverlayArgs(StrictArgs):
    file: str = Field(min_length=1, description="User's image or video.")
    position: OverlayPosition = Field("bottom_right", description="Where.")
    scale: float = Field(0.3, gt=0, le=1, description="Width as a fraction of the frame.")
    start_s: float = Field(0.0, ge=0, description="Appears at (s).")
    end_s: float | None = Field(description="Ends at (s); null: the end.")


class RemoveArgs(StrictArgs):
    kind: Literal["title", "audio", "caption", "overlay"] = Field(description="Layer kind.")
    number: int = Field(ge=1, description="Its number (1 = first).")


class OutputArgs(StrictArgs):
    preset: Preset = Field(description="Export preset.")


class ExportArgs(StrictArgs):
    kind: ExportKind = Field(description="Format.")
    output: str | None = Field(description="File; null: renders/.")


class FinishTools:
    """Wraps the catalogue's finishing functions for one project."""

    def __init__(self, service: "ProductionService") -> None:
        self.service = service
        for module in _MODULES:
            importlib.import_module(f"shotsmith.tools.{module}")

    def _call(self, name: str, args: dict[str, Any]) -> Any:
        from shotsmith.assistant.events import RenderProgress
        from shotsmith.tools.spec import TOOLS, ToolContext

        store = self.service.store
        total = store.project.timeline.duration_s
        ctx = ToolContext(store=store, cancel=self.service.cancel,
                          on_progress=lambda s: self.service.emit(RenderProgress(s, total)))
        result = TOOLS[name](ctx, args)
        return result.model_dump(mode="json") if isinstance(result, BaseModel) else result

    def _media(self, name: str) -> str:
        """A file name the user said ("music.mp3") as the project path the catalogue reads."""
        return self.service.store.relative(self.service.find_media(name))

    def add_title(self, args: TitleArgs) -> Any:
        return self._call("add_title", args.model_dump())

    def add_audio(self, args: AudioArgs) -> Any:
        data = args.model_dump()
        bed, mood, beat_sync = data.pop("bed"), data.pop("mood"), data.pop("beat_sync")
        if args.role == "music" and (bed or mood or beat_sync or args.file.strip().lower() == "off"):
            # The production bed (assistant/production/music.py): the same settings as run --music.
            source = None if args.file.strip().lower() == "off" else str(self.service.store.resolve(args.file))
            said = self.service.set_music(source or "off", moods=mood, beat_sync=beat_sync or None)
            return {"music": said}
        return self._call("add_audio", {**data, "source": self._media(data.pop("file"))})

    def add_captions(self, args: CaptionArgs) -> Any:
        srt = self._media(args.srt_file) if args.srt_file else None
        return self._call("add_captions", {"cues": [c.model_dump() for c in args.cues], "srt": srt,
                                           "burn": args.burn})

    def add_overlay(self, args: OverlayArgs) -> Any:
        data = args.model_dump()
        return self._call("add_overlay", {**data, "source": self._media(data.pop("file"))})

    def remove_layer(self, args: RemoveArgs) -> Any:
        if args.kind == "title":
            return self._call("remove_title", {"number": args.number})
        if args.kind == "audio":
            return self._call("remove_audio", {"number": args.number})
        from shotsmith.tools.editing import commit

        store = self.service.store
        timeline = store.project.timeline.model_copy(deep=True)
        layers = timeline.captions if args.kind == "caption" else timeline.overlays
        if not 1 <= args.number <= len(layers):
            raise InvalidInputError(f"there is no {args.kind} {args.number}; there are {len(layers)}")
        layers.pop(args.number - 1)
        return commit(store, timeline, f"removed {args.kind} {args.number}").model_dump(mode="json")

    def set_output(self, args: OutputArgs) -> Any:
        return self._call("set_output", {"preset": args.preset})

    def export(self, args: ExportArgs) -> Any:
        output = args.output or _DEFAULT_EXPORT[args.kind]
        self.service.store.project.sync_cut()
        if args.kind == "edit_plan":
            return self._call("export_edit_plan", {"output": output})
        if args.kind == "srt":
            return self._call("export_srt", {"output": output})
        return self._call("export_otio", {"output": output, "format": args.kind})

    def tools(self) -> list[AgentTool]:
        service = self.service
        return [
            guarded_tool(service, "add_title", "Add a text title over the picture.", TitleArgs, self.add_title),
            guarded_tool(service, "add_audio", "Lay music or a voice-over under the picture.", AudioArgs,
                         self.add_audio),
            guarded_tool(service, "add_captions", "Add captions (cues or an .srt file).", CaptionArgs,
                         self.add_captions),
            guarded_tool(service, "add_overlay", "Lay a logo or picture-in-picture over the video.", OverlayArgs,
                         self.add_overlay),
            guarded_tool(service, "remove_layer", "Remove a title, audio track, caption or overlay.", RemoveArgs,
                         self.remove_layer),
            guarded_tool(service, "set_output", "Choose the export preset (codec, size limits, quality).",
                         OutputArgs, self.set_output),
            guarded_tool(service, "export", "Export the cut for an editor, as an edit plan, or captions as SRT.",
                         ExportArgs, self.export),
        ]
