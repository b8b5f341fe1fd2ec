"""``ProductionService``: what every entry point does to a project, in one place.

Plan (offline planner or a model's shot list), edit (through
:mod:`shotsmith.plan_edits`, the one edit model), estimate and approve
(:mod:`.spending`), generate (the job engine, with the spend guard at the
side effect), bind each clip to its shot, and render the cut derived from the
plan. Each step saves the project, so a crash loses no finished work.

Unchanged shots are never regenerated: a shot keeps its bound clip while its
picture-defining fields are unchanged, and otherwise a clip is found by its
request's cache key or reused from any finished generation of the same prompt,
look and shape that is long enough. Reordering, re-timing, speed, trims and
transitions therefore cost nothing.
"""

from __future__ import annotations

import asyncio
import filecmp
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from shotsmith.assistant.events import (AgentEvent, GenerationProgress, Notice, OutputWritten, PlanUpdated,
                                        RenderProgress)
from shotsmith.assistant.planner import OFFLINE_PLANNER, parse_shot_count, plan_brief
from shotsmith.assistant.production.drafting import ShotDraft, check_against_brief, mentioned_media, plan_from_drafts
from shotsmith.assistant.production import music, storyboard, voiceover
from shotsmith.assistant.production import continuity, extending
from shotsmith.assistant.production.casting import assign_cast, unknown_tags_notice
from shotsmith.assistant.production.outputs import publish, resolve_output
from shotsmith.assistant.production.spending import (Estimate, Resume, ShotCost, SpendingPolicy,
                                                      SpendingRefusedError, usd)
from shotsmith.backends.base import Backend, GenerationMode, GenerationRequest, ProgressEvent
from shotsmith.backends.executors import check_executor, executor_scope
from shotsmith.backends.engine import (ShotOutcome, cache_key, collapse_warnings, failed_shots_error, find_record,
                                       finished_clip, generate_shots, key_payload, resumable_task, same_request)
from shotsmith.backends.registry import get_backend
from shotsmith.brief import Brief, Shot, ShotPlan
from shotsmith.errors import InvalidInputError, PathSafetyError, ShotsmithError
from shotsmith.formats import RESOLUTIONS
from shotsmith.plan_edits import use_footage, validated_plan
from shotsmith.scrub import scrub
from shotsmith.project import GenerationRecord, RenderRecord
from shotsmith.store import ProjectStore
from shotsmith.timeline import OutputSettings, Timeline
from shotsmith.tools.encoding import preview_settings
from shotsmith.tools.proxies import ProxyMaker
from shotsmith.tools.render import LoudnessReached

log = logging.getLogger(__name__)

Emit = Callable[[AgentEvent], None]
#: How long a still image may be shown (it has no length of its own).
STILL_LENGTH_S = 3600.0
#: Generation rounds at most in one generate (continued shots after their predecessors, extensions again).
MAX_WAVES = 12


@dataclass
class ServiceOptions:
    """What a run or session asks of the service; None keeps the project's setting."""

    backend: str | None = None
    resolution: str | None = None
    fps: int | None = None
    seed: int | None = None
    max_cost_usd: float | None = None
    auto_approve: bool = False
    resubmit: bool = False
    #: "auto": a storyboard keyframe per shot first, animated image-to-video where the backend can; "off".
    keyframes: str | None = None
    image_backend: str | None = None
    #: "auto" (narrate when the brief asks), "off", or a .txt/.md file with the user's own narration.
    voiceover: str | None = None
    voice: str | None = None
    captions: str | None = None
    #: Music: a file or a folder to choose from ("off": none), mood tags for the folder, cut to its beat.
    music: str | None = None
    music_mood: str | None = None
    beat_sync: bool | None = None
    #: Where local models' shots run: "local" or "ray" (docs/ray.md); None keeps the config's ``executor``.
    executor: str | None = None
    #: Output files outside the project that the user named on the command line (-o).
    outputs: tuple[Path, ...] = ()


@dataclass
class GenerateResult:
    backend: str
    generated: list[int] = field(default_factory=list)
    cached: list[int] = field(default_factory=list)
    footage: list[int] = field(default_factory=list)
    usd: float = 0.0
    warnings: list[str] = field(default_factory=list)
    #: Shots whose storyboard keyframes were made in this call.
    keyframes: list[int] = field(default_factory=list)
    #: The next step needs a yes first (the shots, once their keyframes exist): nothing of it was sent.
    awaiting: Estimate | None = None
    #: Shots held because their storyboard stills wait for the user's approval: no video of them was sent.
    review: list[int] = field(default_factory=list)

    def summary(self) -> dict:
        out = {"backend": self.backend, "generated": self.generated, "cached": self.cached, "footage": self.footage,
               "keyframes": self.keyframes, "spent_usd": round(self.usd, 4)}
        if self.awaiting is not None:
            out["needs_approval_next"] = self.awaiting.text
        if self.review:
            out["storyboard_to_approve"] = self.review
        return out


@dataclass
class Rendered:
    path: str
    duration_s: float
    size_bytes: int
    width: int
    height: int
    preview: bool = False
    version: int | None = None
    #: with a loudness target: what the mix reached ("limited" when the true-peak ceiling held it under)
    loudness: LoudnessReached | None = None

    def summary(self) -> dict:
        return {"path": self.path, "duration_s": round(self.duration_s, 3), "size_bytes": self.size_bytes,
                "width": self.width, "height": self.height, "preview": self.preview, "version": self.version,
                **({"loudness": self.loudness.describe()} if self.loudness else {})}


@dataclass
class Activity:
    """What this service did in this process: the run report's raw material."""

    estimates: list[dict] = field(default_factory=list)
    generated: list[int] = field(default_factory=list)
    cached: list[int] = field(default_factory=list)
    outputs: list[Rendered] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)

    def time(self, key: str, seconds: float) -> None:
        self.timings_s[key] = round(self.timings_s.get(key, 0.0) + seconds, 3)


def _refuse_outputs_onto(outputs: set[Path], sources) -> None:
    """An output (`-o`) that is a file the run reads (music, a voice-over script, an input) is refused up front."""
    for source in sources:
        if Path(source).expanduser().resolve() in outputs:
            raise PathSafetyError(f"refusing to overwrite {str(source)!r}: it is a source file of this run",
                                  hint="choose another output file name")


class ProductionService:
    """Plans, generates, assembles and renders one project; every front end drives one of these."""

    def __init__(self, store: ProjectStore, options: ServiceOptions | None = None, *, emit: Emit | None = None,
                 cancel: threading.Event | None = None) -> None:
        options = options or ServiceOptions()
        self.store = store
        self.emit: Emit = emit or (lambda event: None)
        self.cancel = cancel or threading.Event()
        self._apply_settings(options)
        self.spending = SpendingPolicy(store, max_cost_usd=options.max_cost_usd, auto_approve=options.auto_approve)
        self.resubmit = options.resubmit
        self.executor = check_executor(options.executor) if options.executor else None
        self.allowed_outputs = tuple(Path(p).expanduser().resolve() for p in options.outputs)
        self.activity = Activity()
        self.proxies = ProxyMaker(store.root / ".shotsmith" / "proxies")
        # A model may ask for two generations in one reply and the tool node runs them in parallel:
        # one at a time keeps the spending checks and the project's records consistent.
        self._work = threading.RLock()

    @classmethod
    def open(cls, project_dir: Path | str, options: ServiceOptions | None = None, *, inputs: tuple[Path, ...] = (),
             emit: Emit | None = None, cancel: threading.Event | None = None) -> "ProductionService":
        """Open (or create) the project folder; an unknown backend or resolution fails before anything is created."""
        options = options or ServiceOptions()
        if options.backend:
            get_backend(options.backend)
        if options.image_backend:  # a video or voice backend is refused before a folder exists or it is kept
            storyboard.check_makes_images(get_backend(options.image_backend))
        if options.keyframes not in (None, "auto", "off"):
            raise InvalidInputError(f"--keyframes {options.keyframes!r} is not auto or off")
        if options.keyframes == "off" and options.image_backend:  # one of the two would go unused, unsaid
            raise InvalidInputError(f"--image-backend {options.image_backend} draws storyboard stills and "
                                    "--keyframes off makes none", hint="give one of them")
        if options.captions not in (None, "burn", "srt", "track", "off"):
            raise InvalidInputError(f"--captions {options.captions!r} is not burn, srt, track or off")
        if options.voiceover not in (None, "auto", "off"):
            voiceover.read_script_file(options.voiceover)  # not there, not text, or empty: before a folder exists
        if options.voice:
            from shotsmith.backends.voice import resolve_voice

            resolve_voice(options.voice)  # an unknown voice fails before a project folder exists
        music.check_options(options.music, options.music_mood, options.beat_sync)  # before a folder exists too
        outputs = {Path(p).expanduser().resolve() for p in options.outputs}
        given = [Path(p) for p in (options.music, options.voiceover, *inputs)
                 if p and str(p) not in ("auto", "off") and Path(p).expanduser().is_file()]
        _refuse_outputs_onto(outputs, given)  # said before any shot is made (or paid for), not at the render
        if options.resolution and options.resolution not in RESOLUTIONS:
            raise InvalidInputError(f"unknown resolution {options.resolution!r}",
                                    hint=f"choose one of {', '.join(RESOLUTIONS)}")
        for path in inputs:
            if not Path(path).expanduser().is_file():
                raise InvalidInputError(f"input file {path} does not exist")
        store = ProjectStore.open_or_create(Path(project_dir).expanduser())
        _refuse_outputs_onto(outputs, store.source_paths())  # a project's own music bed, footage or inputs
        for path in inputs:
            store.add_input(Path(path))
        return cls(store, options, emit=emit, cancel=cancel)

    def _apply_settings(self, options: ServiceOptions) -> None:
        production = self.store.project.production
        updates = {k: v for k, v in {"backend": options.backend, "resolution": options.resolution, "fps": options.fps,
                                     "seed": options.seed, "keyframes": options.keyframes,
                                     "image_backend": options.image_backend}.items() if v is not None}
        if updates.get("backend"):
            get_backend(updates["backend"])
        if updates.get("image_backend"):
            storyboard.check_makes_images(get_backend(updates["image_backend"]))
        if updates.get("keyframes") not in (None, "auto", "off"):
            raise InvalidInputError(f"--keyframes {updates['keyframes']!r} is not auto or off")
        if options.voiceover in ("auto", "off"):
            updates["voiceover"] = options.voiceover
        if options.voice:
            updates["voice"] = options.voice
        if options.captions:
            updates["captions"] = options.captions
        updates.update(music.settings_updates(self.store, options.music, options.music_mood, options.beat_sync))
        self._voiceover_file = options.voiceover if options.voiceover not in (None, "auto", "off") else None
        # Said at planning when there turns out to be no voice-over for them to apply to (never dropped silently).
        self._asked_for_speech = [f"--{name} {value}" for name, value in (("voice", options.voice),
                                                                         ("captions", options.captions))
                                  if value and value != "off"]
        if updates.get("resolution") and updates["resolution"] != production.resolution:
            updates["output_size"] = None  # a new resolution asked for replaces an explicit size
        if updates:
            self.store.project.production = production.model_validate({**production.model_dump(), **updates})
        self.store.save()

    # -- settings ------------------------------------------------------------------------
    @property
    def backend_name(self) -> str:
        return self.store.project.production.backend

    def backend(self, name: str | None = None) -> Backend:
        return get_backend(name or self.backend_name)

    @property
    def resolution(self) -> str:
        return self.store.project.production.resolution

    @property
    def fps(self) -> int:
        return self.store.project.production.fps

    # -- the plan ------------------------------------------------------------------------
    @property
    def plan(self) -> ShotPlan:
        if self.store.project.plan is None:
            raise InvalidInputError("there is no shot plan yet", hint="plan the shots from the brief first")
        return self.store.project.plan

    @property
    def has_plan(self) -> bool:
        return self.store.project.plan is not None

    def set_plan(self, plan: ShotPlan, brief: Brief | None = None) -> ShotPlan:
        """Accept a whole new plan (or an edited one); bound clips of unchanged shots stay valid."""
        with self._work:
            for shot in plan.shots:
                if shot.source:
                    self.store.resolve(shot.source)  # footage must stay inside the project or be an input
            plan = validated_plan(self._carry_bindings(plan))
            plan = self._check_continuity(plan)
            if brief is not None:
                self.store.project.brief = brief
            self.store.project.plan = plan
            self.store.save()
            self.emit(PlanUpdated(plan))
            self._warm_proxies()  # footage the edit brought into the cut
            return plan

    def plan_brief(self, text: str, *, duration_s: float | None = None, aspect_ratio: str | None = None,
                   shot_count: int | None = None, title: str | None = None, drafts: list[ShotDraft] | None = None,
                   planner: str = OFFLINE_PLANNER) -> tuple[ShotPlan, list[str]]:
        """Plan from the brief: the model's own shot list (checked against the brief) or the offline planner's.

        Returns the plan and the notices the user should see (assumptions, caps,
        backend snapping). Files of the user's that the brief names become shots.
        """
        t0 = time.perf_counter()
        read = plan_brief(text, duration_s=duration_s, aspect_ratio=aspect_ratio, shot_count=shot_count, fps=self.fps)
        fixed_count = shot_count is not None or parse_shot_count(text) is not None
        brief = read.brief.model_copy(update={"shot_count": read.brief.shot_count if fixed_count else None})
        media = mentioned_media(text, self.media_files())
        if drafts:
            for draft in drafts:
                if draft.source:
                    draft.source = self.store.relative(self.find_media(draft.source))
            plan = plan_from_drafts(drafts, aspect_ratio=brief.aspect_ratio, planner=planner, fps=self.fps, title=title)
            problems = check_against_brief(plan, brief)
            used = {s.source for s in plan.shots if s.source}
            problems += [f"the brief names the user's file {m}; use it as a shot (set that shot's source)"
                         for m in media if m not in used]
            if problems:
                raise InvalidInputError("the plan does not fit the brief: " + "; ".join(problems),
                                        hint="fix the shot list and plan again")
            plan = ShotPlan.model_validate({**plan.model_dump(), "shots": [
                {**s.model_dump(), **self._footage_fields(s.source)} if s.source else s.model_dump()
                for s in plan.shots]})
        else:
            drafted_by = read.plan.planner if planner == read.plan.planner else f"{planner} (draft by the {read.plan.planner})"
            plan = read.plan.model_copy(update={"title": title, "planner": drafted_by})
            for i, name in enumerate(media[:len(plan.shots)]):
                path = self.find_media(name)
                length, image = self._media_length(path)
                plan = use_footage(plan, self.store.relative(path), length_s=length, index=i + 1, image=image)
        notices = list(read.notices[1:])
        plan = assign_cast(plan, text, self.store.project.cast)  # @mara in the brief puts Mara in her shots
        notices += unknown_tags_notice(text, self.store.project.cast)
        self.activity.time("plan", time.perf_counter() - t0)
        plan = self.set_plan(plan, Brief(text=brief.text, duration_s=brief.duration_s, aspect_ratio=brief.aspect_ratio,
                                         shot_count=brief.shot_count, notices=notices))
        notices += music.prepare(self, text)  # the bed, and cuts on its beats before the narration is fitted
        plan = self.plan
        production = self.store.project.production
        mode = self._voiceover_file or production.voiceover
        spoken = voiceover.voice_language(*self.voice_backend()) if mode != "off" else None
        script = voiceover.script_for(plan, text, mode, voice_language=spoken)
        self.store.project.narration = script
        self.store.save()
        said = voiceover.language_notice(script, mode if mode in ("auto", "off") else "file",
                                         production.voice or "espeak", spoken, by_model=drafts is not None)
        if said:
            notices.append(said)
        if script is not None:
            notices.append(f"narration: {sum(1 for line in script.lines if line.text)} line(s) for the voice-over "
                           f"({production.voice or 'espeak, a scratch voice'})")
        elif self._asked_for_speech and not self.store.project.timeline.captions:
            notices.append(f"no voice-over: the brief does not ask for one (or it is off), so "
                           f"{' and '.join(self._asked_for_speech)} have nothing to speak or caption; ask for one in "
                           "the brief ('with a voice-over'), give --voiceover FILE, or say 'add a voice-over' in chat")
        return plan, notices + self.backend_notes()

    def backend_notes(self, backend: str | None = None) -> list[str]:
        """What the backend will change about the plan (durations snapped, seeds ignored…), said up front."""
        be = self.backend(backend)
        plan = self.plan
        notes: list[str] = []
        for shot in plan.shots:
            if not shot.source:
                notes += be.prepare(self.request_for(shot, plan, be))[1]
        return collapse_warnings(notes)

    def _media_length(self, path: Path) -> tuple[float, bool]:
        from shotsmith.media.probe import probe
        from shotsmith.tools.editing import is_image

        info = probe(path, need_video=True)
        image = is_image(path, info)
        return (STILL_LENGTH_S if image else info.duration_s), image

    def _footage_fields(self, source: str) -> dict:
        length, image = self._media_length(self.store.resolve(source))
        return {"source_length_s": length, **({"motion": "zoom_in"} if image else {})}

    def set_format(self, *, aspect_ratio: str | None = None, method: str = "regenerate",
                   resolution: str | None = None) -> str:
        """Change the frame (see :func:`shotsmith.plan_edits.set_format`); returns what was done."""
        from shotsmith.plan_edits import set_format

        with self._work:
            said = set_format(self.store.project, aspect_ratio=aspect_ratio, method=method,  # type: ignore[arg-type]
                              resolution=resolution)
            self.store.save()
            self.emit(PlanUpdated(self.plan))
            return said

    def set_music(self, source: str | None, *, moods: str | list[str] | None = None,
                  beat_sync: bool | None = None) -> str:
        """Set the music bed (a file, a folder to choose from, or "off") and cut to its beat; says what was done."""
        with self._work:
            said = music.configure(self, source, moods=moods, beat_sync=beat_sync)
            if self.has_plan:
                self.emit(PlanUpdated(self.plan))
            return said

    def add_footage(self, name: str, *, position: str = "replace", index: int = 1, duration_s: float | None = None,
                    in_s: float = 0.0) -> ShotPlan:
        """Use one of the user's files as a shot (replace shot ``index``, or insert before it)."""
        path = self.find_media(name)
        length, image = self._media_length(path)
        return self.edit(lambda plan: use_footage(plan, self.store.relative(path), length_s=length, position=position,
                                                  index=index, duration_s=duration_s, in_s=in_s, image=image))

    def edit(self, change: Callable[[ShotPlan], ShotPlan]) -> ShotPlan:
        """Apply one :mod:`shotsmith.plan_edits` function to the plan and keep the result.

        A shot whose new prompt names a cast member (``@theo``, or the name) gets the member, as a brief's does.
        """
        return self.set_plan(assign_cast(change(self.plan), "", self.store.project.cast))

    def _carry_bindings(self, plan: ShotPlan) -> ShotPlan:
        """A re-plan keeps the clips of shots it did not change (matched by what they show)."""
        if self.store.project.plan is None:
            return plan
        bound = {s.generation_signature(): s for s in self.store.project.plan.shots if s.bound_clip}
        shots = []
        for shot in plan.shots:
            old = bound.get(shot.generation_signature())
            if shot.bound_clip is None and not shot.source and old is not None:
                shot = shot.model_copy(update={"clip": old.clip, "clip_signature": old.clip_signature,
                                               "clip_length_s": old.clip_length_s})
            shots.append(shot)
        return plan.model_copy(update={"shots": shots})

    # -- requests and clips ----------------------------------------------------------------
    def request_for(self, shot: Shot, plan: ShotPlan | None = None, backend: Backend | None = None) -> GenerationRequest:
        """One request per shot: its media span (time on screen plus handle, at its speed, after its trim).

        With keyframes on, a shot whose storyboard still exists is animated from it (image-to-video, and
        its last frame where the backend takes one); cast members bring their descriptions and images.
        """
        plan = plan or self.plan
        backend = backend or self.backend()
        project = self.store.project
        last = shot.index == plan.shots[-1].index
        seed = project.production.seed
        caps = backend.capabilities()
        request = GenerationRequest(prompt=storyboard.full_prompt(shot, project.cast, project.look),
                                    duration_s=round(shot.in_s + shot.media_span_s(last=last), 3),
                                    aspect_ratio=plan.aspect_ratio, resolution=self.resolution, fps=self.fps,
                                    camera=shot.camera, style=shot.style, shot_index=shot.index,
                                    seed=shot.seed_from(seed), take=shot.take or None)
        updates: dict = {}
        if caps.max_references:
            updates["references"] = storyboard.references(shot, project.cast, self.store.resolve)
        keyframe = shot.bound_keyframe
        if keyframe and storyboard.wants_keyframes(project.production.keyframes, backend):
            updates.update(mode=GenerationMode.IMAGE_TO_VIDEO, image=str(self.store.root / keyframe))
            if shot.end_keyframe and caps.supports_end_image:
                updates["end_image"] = str(self.store.root / shot.end_keyframe)
        if shot.continues_from and keyframe:  # continued: from the previous clip's last frame, whatever the setting
            updates.update(mode=GenerationMode.IMAGE_TO_VIDEO, image=str(self.store.root / keyframe), end_image=None)
        return request.model_copy(update=updates) if updates else request

    # -- keyframes -----------------------------------------------------------------------
    def keyframes_on(self, backend: str | None = None) -> bool:
        return storyboard.wants_keyframes(self.store.project.production.keyframes, self.backend(backend))

    def image_backend(self, backend: str | None = None) -> Backend:
        return storyboard.image_backend_for(self.backend(backend), self.store.project.production.image_backend)

    def _keyframe_requests(self, shot: Shot, plan: ShotPlan, video: Backend,
                           image: Backend) -> list[tuple[bool, GenerationRequest]]:
        project = self.store.project
        previous = self._redo_stills(shot) if image.capabilities().max_references else (None, None)
        make = lambda end: storyboard.keyframe_request(  # noqa: E731
            shot, plan, cast=project.cast, look=project.look, resolution=self.resolution, fps=self.fps,
            seed=project.production.seed, resolve=self.store.resolve, end=end, previous=previous[end])
        wanted = [(False, make(False))]
        if video.capabilities().supports_end_image:
            wanted.append((True, make(True)))
        return wanted

    def _needs_keyframe(self, shot: Shot, video: Backend) -> bool:
        """A shot still to be generated whose storyboard still is missing (footage and made clips need none)."""
        if shot.source or shot.continues_from or self._usable_bound(shot):
            return False  # a continued shot's first frame is its predecessor's last (continuity.py)
        if not shot.bound_keyframe or not (self.store.root / shot.bound_keyframe).is_file():
            return True
        return video.capabilities().supports_end_image and not (
            shot.end_keyframe and (self.store.root / shot.end_keyframe).is_file())

    def estimate_keyframes(self, shots: list[int] | None = None, backend: str | None = None,
                           image_backend: str | None = None) -> Estimate:
        """What the storyboard stills would cost on the image backend (cached ones are free)."""
        video = self.backend(backend)
        image = get_backend(image_backend) if image_backend else self.image_backend(video.name)
        plan = self.plan
        estimate = Estimate(backend=image.name, needs_approval=image.capabilities().needs_approval)
        for shot in self._select(shots):
            if shot.source:
                estimate.footage.append(shot.index)
                continue
            if shot.continues_from:  # its first frame comes from the previous clip, not the image backend
                continue
            if not self._needs_keyframe(shot, video):
                estimate.cached.append(shot.index)
                continue
            for _, request in self._keyframe_requests(shot, plan, video, image):
                ready, _ = image.prepare(request)
                key = cache_key(image, ready)
                record = find_record(self.store, image, ready, key)
                if finished_clip(self.store, record) is not None:
                    continue
                if (task := resumable_task(image, record)) is not None:  # the engine polls it: nothing more
                    estimate.resuming.append(Resume(shot_index=shot.index, cache_key=key, task_id=task,
                                                    backend=image.name))
                    continue
                cost = image.estimate_cost(ready)
                estimate.unit, estimate.source = cost.unit, cost.source
                estimate.to_generate.append(ShotCost(shot_index=shot.index, cache_key=key, amount=cost.amount,
                                                     unit=cost.unit, usd=usd(cost.amount, cost.unit),
                                                     backend=image.name, kind="image"))
        return estimate

    def generate_keyframes(self, shots: list[int] | None = None, backend: str | None = None,
                           image_backend: str | None = None) -> GenerateResult:
        """Make the storyboard stills (under an approval when the image backend needs one) and bind them."""
        with self._work:
            video = self.backend(backend)
            image = get_backend(image_backend) if image_backend else self.image_backend(video.name)
            estimate = self.estimate_keyframes(shots, video.name, image.name)
            return self._run_keyframes(estimate, image, video, shots)

    # -- storyboard review (approval panel by panel) -------------------------------------
    #: Set by conversations (chat, TUI; ``SessionBase.send``): shots whose video needs a yes (money or long GPU
    #: time) wait until their stills are approved. A scripted run leaves it off: the command is the approval.
    review_storyboard: bool = False

    def storyboard_panels(self) -> list[storyboard.Panel]:
        return storyboard.panels(self.plan)

    def approve_keyframes(self, shots: list[int] | None = None) -> list[int]:
        """Approve the stills of ``shots`` (None: all); returns the shots newly approved."""
        with self._work:
            plan, approved = storyboard.approve(self.plan, shots)
            if approved:
                self.store.project.plan = plan
                self.store.save()
                self.emit(PlanUpdated(plan))
            return approved

    def keyframes_to_review(self, shots: list[int] | None = None, backend: str | None = None) -> list[int]:
        """Shots about to be animated from a still the user has not approved, where that costs a yes.

        Empty unless :attr:`review_storyboard` is on, keyframes are on, and the video backend needs
        approval (a free, instant backend like the animatic just goes on). Shots with a clip already
        (bound or cached) and footage are never held.
        """
        be = self.backend(backend)
        if not self.review_storyboard or not self.keyframes_on(be.name) or not be.capabilities().needs_approval:
            return []
        plan = self.plan
        return [s.index for s in self._select(shots) if not s.source and s.keyframe_state == "pending"
                and not s.continues_from  # its first frame is the previous clip's last, not a panel
                and not self._usable_bound(s) and self._reusable_clip(be, s, plan) is None]

    def redo_keyframe(self, index: int, *, prompt: str | None = None, camera=None, note: str | None = None) -> Estimate:
        """Change shot ``index`` through the plan edit model for a new still ("redo 3 with a lower angle"), and
        return what that still alone costs; :meth:`generate_keyframes` with ``[index]`` then makes it.

        The rule for keeping the rest of the picture: a ``note`` (added to the prompt) or a ``camera`` move
        is a change to the same shot, so its previous still (first and last frame) goes to the image backend
        as the first reference image, where the backend takes references (``diffusers-image`` starts its
        img2img from it; Runway, Luma, Kontext and Gemini get it beside the cast's). A new ``prompt`` is a
        rewrite and is redrawn from scratch, as is a shot with no still shown for it (none made, or only
        one of an earlier, since-edited version). The reference holds only while the shot is as the redo
        left it (``Shot.redo_of``): any other edit first makes it a plain redraw. It is part of the still's
        request, so the estimate returned here, its approval and the request sent are the same one.
        """
        from shotsmith.plan_edits import edit_shot, find_shot

        with self._work:
            shot = find_shot(self.plan, index)
            if shot.source:
                raise InvalidInputError(f"shot {index} is the user's footage; it has no storyboard still")
            if shot.continues_from:  # its first frame is the previous clip's last: there is no still to redraw
                raise InvalidInputError(f"shot {index} continues from shot {index - 1}'s last frame; it has no still "
                                        "to redo", hint=f"redo shot {index - 1}, or change the shot: "
                                                        f"'shot {index}: <new prompt>'")
            fields: dict = {}
            if prompt:
                fields["prompt"] = prompt
            elif note and note.lower() not in shot.prompt.lower():
                fields["prompt"] = f"{shot.prompt.rstrip(' .;,')}, {note.strip()}"
            if camera is not None and camera != shot.camera:
                fields["camera"] = camera
            if not fields:
                raise InvalidInputError(f"say what to change in shot {index}'s still",
                                        hint=f"e.g. 'redo {index} with a lower angle' or 'redo {index} push in'")
            shown = shot.bound_keyframe or (shot.keyframe and shot.redo_of == shot.generation_signature())
            same_shot = not prompt and bool(shown)

            def redo(plan: ShotPlan) -> ShotPlan:
                plan = edit_shot(plan, index, **fields)
                return plan.model_copy(update={"shots": [
                    s.model_copy(update={"redo_of": s.generation_signature() if same_shot else None})
                    if s.index == index else s for s in plan.shots]})

            self.edit(redo)
            return self.estimate_keyframes([index])

    def _redo_stills(self, shot: Shot) -> tuple[str | None, str | None]:
        """The previous first and last still of a shot a redo changed (see :meth:`redo_keyframe`), absolute;
        (None, None) once the new still is made, after any other edit, or when the files are gone."""
        if not shot.redo_of or shot.redo_of != shot.generation_signature() or shot.bound_keyframe:
            return None, None
        found = [self.store.root / still if still and (self.store.root / still).is_file() else None
                 for still in (shot.keyframe, shot.end_keyframe)]
        return tuple(str(p) if p else None for p in found)  # type: ignore[return-value]

    def _run_keyframes(self, estimate: Estimate, image: Backend, video: Backend, shots: list[int] | None
                       ) -> GenerateResult:
        result = GenerateResult(backend=image.name, footage=list(estimate.footage))
        plan = self.plan
        outcomes: list[ShotOutcome] = []
        wanted = [(shot, end, request) for shot in self._select(shots) if self._needs_keyframe(shot, video)
                  for end, request in self._keyframe_requests(shot, plan, video, image)]
        if estimate.to_generate or estimate.resuming:  # a still whose task runs is resumed (approved for nothing)
            image.check_ready()
            self.spending.check_budget(estimate)
            approvals = self.spending.approval_for(estimate)
            t0 = time.perf_counter()
            outcomes = asyncio.run(self._run_engine(image, [r for _, _, r in wanted],
                                                    partial(self._forward, kind="still"),
                                                    self.spending.guard(approvals)))
            self.activity.time("keyframes", time.perf_counter() - t0)
        # What the image backend changed or dropped (size snapped, prompt cut short…), said like the video's.
        for warning in collapse_warnings(outcomes):
            text = scrub(f"storyboard stills ({image.name}): {warning}")
            result.warnings.append(text)
            self.emit(Notice(text, level="warning"))
        error = failed_shots_error(outcomes)
        if error is not None:
            raise error
        updates: dict[int, dict] = {}
        for shot, end, request in wanted:
            ready, _ = image.prepare(request)
            record = find_record(self.store, image, ready)
            if not (record and record.status == "succeeded" and record.clip):
                continue
            fields = updates.setdefault(shot.index, {"keyframe_signature": shot.generation_signature()})
            fields["end_keyframe" if end else "keyframe"] = record.clip
        if updates:
            new = plan.model_copy(update={"shots": [s.model_copy(update=updates.get(s.index, {})) for s in plan.shots]})
            self.store.project.plan = new
            self.store.save()
            self.emit(PlanUpdated(new))
        result.keyframes = sorted(updates)
        result.usd = round(sum(usd(image.estimate_cost(o.request).amount, image.estimate_cost(o.request).unit)
                               for o in outcomes if o.ok and not o.cached and not o.resumed), 6)  # paid when created
        return result

    def _forward(self, event: ProgressEvent, *, kind: str = "shot") -> None:  # a provider's error text may quote a key
        self.emit(GenerationProgress(event.shot_index, event.state, event.percent, scrub(event.message), kind=kind))

    def _needed_s(self, shot: Shot) -> float:
        """The least clip length that can show the shot (its transition may shrink, the shot may not)."""
        return shot.in_s + shot.duration_s * shot.speed

    def _usable_bound(self, shot: Shot) -> bool:
        clip = shot.bound_clip
        return bool(clip and shot.clip_length_s and shot.clip_length_s + 0.02 >= self._needed_s(shot)
                    and (self.store.root / clip).is_file())

    def _reusable_clip(self, backend: Backend, shot: Shot, plan: ShotPlan) -> Path | None:
        """A finished clip for this shot's request, or one of the same picture generated at another length."""
        ready, _ = backend.prepare(self.request_for(shot, plan, backend))
        clip = finished_clip(self.store, find_record(self.store, backend, ready))
        if clip is not None:
            return clip
        generations = self.store.project.generations
        floor = min(self._needed_s(shot), ready.duration_s)
        candidates: list[tuple[float, Path]] = []
        for record in generations.values():
            if record.status != "succeeded" or not record.clip or record.backend != backend.name:
                continue
            length = float(record.request.get("duration_s", 0.0))
            # Files by content: the project may have moved since the record was made.
            if length + 1e-6 >= floor and same_request(record, ready, exclude=("shot_index", "duration_s", "seed")) \
                    and (self.store.root / record.clip).is_file():
                candidates.append((length, self.store.root / record.clip))
        if not candidates:
            return None
        long_enough = [c for c in candidates if c[0] + 1e-6 >= ready.duration_s]
        return (min(long_enough) if long_enough else max(candidates))[1]

    def _select(self, shots: list[int] | None) -> list[Shot]:
        plan = self.plan
        if not shots:
            return list(plan.shots)
        known = {s.index: s for s in plan.shots}
        missing = sorted({i for i in shots if i not in known})
        if missing:
            raise InvalidInputError(f"no shot {', '.join(map(str, missing))}; the plan has shots 1-{len(plan.shots)}")
        return [known[i] for i in sorted(set(shots))]

    # -- estimate ------------------------------------------------------------------------
    def estimate(self, shots: list[int] | None = None, backend: str | None = None) -> Estimate:
        """What the next generation step would send and cost; raises when it cannot be computed.

        With keyframes on and storyboard stills missing, the next step is the stills (on the image
        backend); the shots are estimated once their stills exist, because each still is part of its
        shot's request (and so of what an approval is bound to).
        """
        be = self.backend(backend)
        if self.keyframes_on(be.name) and any(self._needs_keyframe(s, be) for s in self._select(shots)):
            estimate = self.estimate_keyframes(shots, be.name)
            if estimate.to_generate or estimate.resuming:  # the stills come first (a running one is resumed)
                self.activity.estimates.append(estimate.summary())
                return estimate
            # Every still exists in the cache: binding them is free; the shots come next.
            self._run_keyframes(estimate, self.image_backend(be.name), be, shots)
        estimate = self._estimate_shots(shots, be)
        if not estimate.to_generate and not estimate.resuming and not shots:
            spoken = self._estimate_voice()
            if spoken is not None and spoken.to_generate:
                return spoken
        return estimate

    # -- voice-over ----------------------------------------------------------------------
    def voice_backend(self) -> tuple[Backend, str | None]:
        from shotsmith.backends.voice import resolve_voice

        return resolve_voice(self.store.project.production.voice)

    def edit_narration(self, change: str, *, shot: int | None = None, text: str | None = None) -> str | None:
        """One chat edit of the voice-over (see :func:`.voiceover.edited_script`), kept as a history snapshot.

        Only a changed line is spoken again (speech is cached per line); the next render lays it. Returns
        the fit check's message when a line now runs longer than its shot, else None.
        """
        with self._work:
            project = self.store.project
            brief = project.brief.text if project.brief else (self.plan.title or "")
            script = voiceover.edited_script(project.narration, self.plan, brief, change=change, shot=shot, text=text)
            project.narration = script
            if change in ("on", "off"):
                project.production = project.production.model_copy(update={"voiceover": "auto" if change == "on"
                                                                           else "off"})
            if script is None:
                project.timeline = voiceover.without_voiceover(project.timeline)
            self.store.save()
            return voiceover.fit_note(self.plan, script, self._spoken_timings())

    def _spoken_timings(self) -> dict[int, list]:
        """Word timings of the lines already spoken as they are now (the rest are estimated from the rate)."""
        from shotsmith.backends.base import WordTiming

        timings = {}
        for ready, _, record in self._voice_records():
            if record and record.status == "succeeded" and record.word_timings:
                timings[ready.shot_index] = [WordTiming.model_validate(w) for w in record.word_timings]
        return timings

    def _voice_requests(self) -> list[tuple[GenerationRequest, str]]:
        """(request as the voice backend will send it, cache key) for each narrated line."""
        script = self.store.project.narration
        if script is None:
            return []
        voice, name = self.voice_backend()
        out = []
        for request in voiceover.speech_requests(script, voice, name):
            ready, _ = voice.prepare(request)
            out.append((ready, cache_key(voice, ready)))
        return out

    def _voice_records(self) -> list[tuple[GenerationRequest, str, GenerationRecord | None]]:
        """(request, cache key, its generation record or None) for each narrated line (engine.find_record)."""
        requests = self._voice_requests()
        if not requests:
            return []
        voice, _ = self.voice_backend()
        return [(ready, key, find_record(self.store, voice, ready, key)) for ready, key in requests]

    def _voice_warnings(self) -> list[str]:
        """What the voice backend said while preparing the lines (a voice it lacks, options it ignores).

        The engine is sent the prepared requests, so it never sees these: they are said here or not at all.
        """
        script = self.store.project.narration
        if script is None:
            return []
        voice, name = self.voice_backend()
        return [w for request in voiceover.speech_requests(script, voice, name) for w in voice.prepare(request)[1]]

    def _estimate_voice(self) -> Estimate | None:
        if self.store.project.narration is None:
            return None
        voice, _ = self.voice_backend()
        estimate = Estimate(backend=voice.name, needs_approval=voice.capabilities().needs_approval)
        for ready, key, record in self._voice_records():
            if finished_clip(self.store, record) is not None:
                estimate.cached.append(ready.shot_index or 0)
                continue
            cost = voice.estimate_cost(ready)
            estimate.unit, estimate.source = cost.unit, cost.source
            estimate.to_generate.append(ShotCost(shot_index=ready.shot_index or 0, cache_key=key, amount=cost.amount,
                                                 unit=cost.unit, usd=usd(cost.amount, cost.unit), backend=voice.name,
                                                 kind="voice"))
        return estimate

    def _generate_voice(self, result: GenerateResult) -> None:
        """Speak the narration (after the shots: a yes for a paid voice is asked on its own)."""
        estimate = self._estimate_voice()
        if estimate is None or not estimate.to_generate:
            return
        if self.spending.decide(estimate) == "ask" and not self.spending.auto_approve:
            self.activity.estimates.append(estimate.summary())
            result.awaiting = estimate
            return
        voice, _ = self.voice_backend()
        voice.check_ready()
        self.spending.check_budget(estimate)
        approvals = self.spending.approval_for(estimate)
        outcomes = asyncio.run(self._run_engine(voice, [r for r, _ in self._voice_requests()],
                                                partial(self._forward, kind="voice"),
                                                self.spending.guard(approvals)))
        said = [w for o in outcomes for w in o.warnings] + self._voice_warnings()
        for warning in collapse_warnings(said):  # e.g. espeak's fallback from a voice it lacks
            result.warnings.append(warning)
            self.emit(Notice(warning, level="warning"))
        error = failed_shots_error(outcomes)
        if error is not None:
            raise error
        result.usd = round(result.usd + sum(c.usd for c in estimate.to_generate), 6)

    def _narration_media(self) -> tuple[dict[int, str], dict[int, list]]:
        """Each narrated shot's voice clip and word timings, from the generation records."""
        from shotsmith.backends.base import WordTiming

        clips, timings = {}, {}
        for ready, _, record in self._voice_records():
            if not (record and record.status == "succeeded" and record.clip):
                raise InvalidInputError("the voice-over has not been spoken yet", hint="generate first")
            clips[ready.shot_index] = record.clip
            timings[ready.shot_index] = [WordTiming.model_validate(w) for w in (record.word_timings or [])]
        return clips, timings

    def _estimate_shots(self, shots: list[int] | None, be: Backend) -> Estimate:
        plan = self.plan
        caps = be.capabilities()
        estimate = Estimate(backend=be.name, needs_approval=caps.needs_approval)
        for shot in self._select(shots):
            if shot.source:
                estimate.footage.append(shot.index)
                continue
            if continuity.pending(shot):  # its first frame does not exist yet: priced as the i2v it will be
                estimate.to_generate.append(self._continued_cost(shot, plan, be))
                continue
            if self._usable_bound(shot) or self._free_clip(be, shot, plan) is not None:
                estimate.cached.append(shot.index)
                continue
            ready, _ = be.prepare(self._extension_for(shot, plan, be) or self.request_for(shot, plan, be))
            key = cache_key(be, ready)
            task = resumable_task(be, find_record(self.store, be, ready, key))
            if task is not None:  # the engine polls the running task: nothing more to pay (engine.resumable_task)
                estimate.resuming.append(Resume(shot_index=shot.index, cache_key=key, task_id=task, backend=be.name))
                continue
            cost = be.estimate_cost(ready)
            estimate.unit, estimate.source = cost.unit, cost.source
            estimate.to_generate.append(ShotCost(shot_index=shot.index, cache_key=key,
                                                 amount=cost.amount, unit=cost.unit, usd=usd(cost.amount, cost.unit),
                                                 backend=be.name, kind="video"))
        self.activity.estimates.append(estimate.summary())
        return estimate

    # -- generate ------------------------------------------------------------------------
    def generate(self, shots: list[int] | None = None, backend: str | None = None) -> GenerateResult:
        """Generate the selected shots that have no clip yet, under an approval that covers them."""
        with self._work:
            return self._generate(shots, backend)

    def _generate(self, shots: list[int] | None, backend: str | None) -> GenerateResult:
        be = self.backend(backend)
        self._prepare_continuity(be, shots)
        if any(not s.source and not self._usable_bound(s) for s in self._select(shots)):
            be.check_ready()  # a video backend that cannot run: say so before even the free stills are drawn
        if not shots and (spoken := self._estimate_voice()) is not None and spoken.to_generate:
            self.voice_backend()[0].check_ready()  # the voice too: not after the shots were made (and paid)
        keyframes: GenerateResult | None = None
        if self.keyframes_on(be.name) and any(self._needs_keyframe(s, be) for s in self._select(shots)):
            keyframes = self._run_keyframes(self.estimate_keyframes(shots, be.name), self.image_backend(be.name), be,
                                            shots)
            held = self._held_for_review(shots, be, keyframes)
            if held is not None:
                return held
            # The shots' own estimate (now bound to their stills) may need a yes of its own: ask before sending.
            upcoming = self._estimate_shots(shots, be)
            if upcoming.to_generate and self.spending.decide(upcoming) == "ask" and not self.spending.auto_approve:
                self.activity.estimates.append(upcoming.summary())
                return GenerateResult(backend=be.name, keyframes=keyframes.keyframes, usd=keyframes.usd,
                                      footage=keyframes.footage, awaiting=upcoming, warnings=keyframes.warnings)
        held = self._held_for_review(shots, be, keyframes)
        if held is not None:
            return held
        result = self._generate_shots(shots, be)
        if keyframes is not None:
            result.keyframes, result.usd = keyframes.keyframes, round(result.usd + keyframes.usd, 6)
            result.warnings[:0] = keyframes.warnings
        if not shots:
            self._generate_voice(result)
        return result

    def _held_for_review(self, shots: list[int] | None, be: Backend, keyframes: GenerateResult | None
                         ) -> GenerateResult | None:
        """The result to stop at when stills wait for the user's approval (nothing of the video is sent)."""
        waiting = self.keyframes_to_review(shots, be.name)
        if not waiting:
            return None
        held = GenerateResult(backend=be.name, review=waiting)
        if keyframes is not None:
            held.keyframes, held.usd, held.footage = keyframes.keyframes, keyframes.usd, keyframes.footage
            held.warnings = keyframes.warnings
        return held

    def _generate_shots(self, shots: list[int] | None, be: Backend) -> GenerateResult:
        """Generate in waves: every shot that can go now runs concurrently in the engine; a continued shot
        goes in a later wave, once its predecessor's clip exists and its last frame is taken."""
        result = self._generate_wave(shots, be)
        progress = bool(result.generated)
        for _ in range(MAX_WAVES):
            took = self._prepare_continuity(be, shots)
            if not (took or progress):
                break
            upcoming = self._estimate_shots(shots, be)  # continued shots now ready; clips to extend again
            if not upcoming.to_generate:
                break
            self._carry_continue_approvals(upcoming, be)
            if upcoming.to_generate and self.spending.decide(upcoming) == "ask" and not self.spending.auto_approve:
                result.awaiting = upcoming
                break
            wave = self._generate_wave(shots, be, announce_cached=False)
            progress = bool(wave.generated)
            result.generated += wave.generated
            result.cached = sorted((set(result.cached) | set(wave.cached)) - set(result.generated))
            result.warnings += [w for w in wave.warnings if w not in result.warnings]
            result.usd = round(result.usd + wave.usd, 6)
        if result.awaiting is None:
            self._check_nothing_left_pending(shots)
        return result

    def _check_nothing_left_pending(self, shots: list[int] | None) -> None:
        """A continued shot that could not go (its predecessor's clip stays too short) is said, not skipped."""
        plan = self.plan
        for shot in self._select(shots):
            if continuity.pending(shot):
                before = plan.continued_from(shot.index)
                raise InvalidInputError(f"shot {shot.index} continues from shot {before}, whose clip is shorter than "
                                        f"shot {before} needs, so it has no last frame to start from",
                                        hint=f"shorten shot {before}, or use a cut between shots {before} and "
                                             f"{shot.index}")

    def _generate_wave(self, shots: list[int] | None, be: Backend, *, announce_cached: bool = True) -> GenerateResult:
        try:
            estimate = self._estimate_shots(shots, be)
        except ShotsmithError:
            raise
        except Exception as exc:  # deciding what it costs failed: refuse, never go
            raise SpendingRefusedError(f"could not estimate what generating costs ({type(exc).__name__}: {exc}); "
                                       "nothing was sent") from exc
        result = GenerateResult(backend=be.name, footage=list(estimate.footage))
        outcomes: list[ShotOutcome] = []
        # Nothing to make (all cached or bound; an extended shot's own request is not): send nothing. Pending
        # continued shots wait for a later wave.
        if estimate.sent and any(not continuity.pending(s) for s in self._select(estimate.sent)):
            be.check_ready()  # a missing key or model: say so before anything is sent
            self.spending.check_budget(estimate)
            approvals = self.spending.approval_for(estimate)
            plan = self.plan
            chosen = [s for s in self._select(estimate.sent) if not continuity.pending(s)]
            requests = [self._extension_for(s, plan, be) or self.request_for(s, plan, be) for s in chosen]
            self._say_extensions(chosen, requests, be)
            t0 = time.perf_counter()
            outcomes = asyncio.run(self._run_engine(be, requests, self._forward, self.spending.guard(approvals)))
            self.activity.time("generate", time.perf_counter() - t0)
        for warning in collapse_warnings(outcomes):  # one line per warning, naming every shot it applies to
            result.warnings.append(warning)
            self.emit(Notice(warning, level="warning"))
        done = [o for o in outcomes if o.ok and not o.cached]
        result.generated = [o.shot_index for o in done if o.shot_index is not None]
        result.usd = round(sum(usd(be.estimate_cost(o.request).amount, be.estimate_cost(o.request).unit)
                               for o in done if not o.resumed), 6)  # a resumed task was paid for when created
        self._bind_clips(be, shots)
        result.cached = sorted(set(estimate.cached) | {o.shot_index for o in outcomes if o.cached and o.shot_index})
        for index in estimate.cached if announce_cached else ():
            self.emit(GenerationProgress(index, "cached", 100.0))
        self.activity.generated += result.generated
        self.activity.cached += result.cached
        error = failed_shots_error(outcomes)  # each shot keeps its own cause and hint
        if error is not None:
            raise error
        return result

    async def _run_engine(self, be: Backend, requests: list[GenerationRequest], forward, guard) -> list[ShotOutcome]:
        with executor_scope(self.executor):  # read by backends that run a local model (diffusers)
            return await generate_shots(self.store, be, requests, on_progress=forward, cancel=self.cancel,
                                        spend_guard=guard, resubmit=self.resubmit)

    def _bind_clips(self, be: Backend, shots: list[int] | None) -> None:
        """Bind each selected shot to its finished clip (so the cut can show it) and save; a still (an
        animatic card) is as long as any shot needs, like a still used as footage."""
        plan = self.plan
        updated = []
        for shot in plan.shots:
            if shot.source or (shots and shot.index not in shots) or self._usable_bound(shot) or \
                    continuity.pending(shot) or continuity.needs_frame(shot, self.store.root):
                updated.append(shot)
                continue
            path = self._free_clip(be, shot, plan) or self._extended_clip(be, shot, plan)
            if path is None:
                updated.append(shot)
                continue
            updated.append(shot.model_copy(update={"clip": self.store.relative(path),
                                                   "clip_signature": shot.generation_signature(),
                                                   "clip_length_s": round(self._media_length(path)[0], 6)}))
        new = plan.model_copy(update={"shots": updated})
        self.store.project.plan = new
        self.store.save()
        self.emit(PlanUpdated(new))
        self._warm_proxies()  # the clips that just arrived

    # -- extending a clip that is too short (extending.py) ----------------------------------
    def _extension_for(self, shot: Shot, plan: ShotPlan, be: Backend) -> GenerationRequest | None:
        """The ``video-extend`` request that makes the shot's clip long enough, where the backend can."""
        if shot.source or not extending.too_short(shot, self.store.root, self._needed_s(shot)):
            return None
        return extending.extension_request(shot, self.request_for(shot, plan, be), be,
                                           self.store.project.generations, self.store.root)

    def _free_clip(self, be: Backend, shot: Shot, plan: ShotPlan) -> Path | None:
        """A clip already made for the shot (see _reusable_clip); one shorter than the shot needs only
        when the bound clip cannot be extended instead."""
        path = self._reusable_clip(be, shot, plan)
        if path is None or self._extension_for(shot, plan, be) is None:
            return path
        return path if self._media_length(path)[0] + extending.SLACK_S >= self._needed_s(shot) else None

    def _extended_clip(self, be: Backend, shot: Shot, plan: ShotPlan) -> Path | None:
        """The finished extension of the shot's clip (it replaces the clip; the old one stays cached)."""
        request = self._extension_for(shot, plan, be)
        if request is None:
            return None
        path = finished_clip(self.store, find_record(self.store, be, be.prepare(request)[0]))
        if path is None:
            return None
        if self._media_length(path)[0] <= (shot.clip_length_s or 0) + extending.SLACK_S:
            # The contract is the whole, longer clip; a bare continuation (or a shorter file) is not bound.
            text = (f"shot {shot.index}: {be.name} returned a clip no longer than the one it extended; it is not "
                    "used (the shot keeps its clip)")
            self.emit(Notice(text, level="warning"))
            self.activity.notices.append(text)
            return None
        return path

    def _say_extensions(self, shots: list[Shot], requests: list[GenerationRequest], be: Backend) -> None:
        """Tell the user which too-short clips are extended and which are made again (and why)."""
        for shot, request in zip(shots, requests):
            if request.mode is GenerationMode.VIDEO_EXTEND:
                added = be.prepare(request)[0].duration_s
                text = (f"shot {shot.index}: extending its {shot.clip_length_s or 0:.1f} s clip by {added:g} s on "
                        f"{be.name} (it needs {request.duration_s:g} s more) instead of generating it again")
            elif extending.too_short(shot, self.store.root, self._needed_s(shot)):
                text = extending.regenerate_notice(shot, be, self._needed_s(shot))
            else:
                continue
            self.emit(Notice(text))
            self.activity.notices.append(text)

    # -- continuity (continue transitions) -----------------------------------------------
    def _check_continuity(self, plan: ShotPlan) -> ShotPlan:
        """A plan that newly asks for ``continue`` is refused when the backend cannot make it; then each
        continued shot is bound to its predecessor's clip (see :mod:`.continuity`)."""
        old = self.store.project.plan
        before = {s.index for s in old.shots if s.transition_to_next.continues} if old is not None else set()
        if {s.index for s in plan.shots if s.transition_to_next.continues} - before:
            continuity.check_backend(plan, self.backend(), continuity.probe_image(self.store.root / ".shotsmith"))
        return continuity.sync(plan, self._clip_digest)

    def _clip_digest(self, shot: Shot) -> str | None:
        return continuity.clip_digest(self.store.root / shot.clip) if self._usable_bound(shot) and shot.clip else None

    def _prepare_continuity(self, be: Backend, shots: list[int] | None) -> bool:
        """Bind continued shots to their predecessors' clips and take each missing first frame; True when
        a frame was taken (a continued shot became ready to generate)."""
        plan = self.plan
        continuity.check_backend(plan, be, continuity.probe_image(self.store.root / ".shotsmith"))
        plan = continuity.sync(plan, self._clip_digest)
        selected = {s.index for s in self._select(shots)}
        for shot in plan.shots:
            before = plan.continued_from(shot.index)
            if shot.index in selected and continuity.pending(shot) and before not in selected and \
                    not self._usable_bound(next(s for s in plan.shots if s.index == before)):
                raise InvalidInputError(f"shot {shot.index} continues from shot {before}, which has no clip yet",
                                        hint=f"generate shot {before} first (or every shot)")
        updates: dict[int, dict] = {}
        for shot in plan.shots:
            if shot.index not in selected or not continuity.needs_frame(shot, self.store.root):
                continue
            before = next(s for s in plan.shots if s.index == plan.continued_from(shot.index))
            frame = continuity.take_frame(self.store.root / (before.bound_clip or ""), self.store.clips_dir,
                                          shot.continues_from or "", before.camera)
            updates[shot.index] = {"keyframe": self.store.relative(frame), "end_keyframe": None,
                                   "keyframe_signature": shot.generation_signature()}
        if updates or plan is not self.plan:
            plan = plan.model_copy(update={"shots": [s.model_copy(update=updates.get(s.index, {}))
                                                     for s in plan.shots]})
            self.store.project.plan = plan
            self.store.save()
            self.emit(PlanUpdated(plan))
        return bool(updates)

    def _continued_payload(self, shot: Shot, plan: ShotPlan, be: Backend) -> GenerationRequest:
        """A continued shot's request as the backend takes it, without the frame it does not have yet."""
        request = self.request_for(shot, plan, be).model_copy(
            update={"image": None, "end_image": None, "mode": GenerationMode.TEXT_TO_VIDEO})
        return be.prepare(request)[0]

    def _shot_key(self, shot: Shot, plan: ShotPlan, be: Backend) -> str:
        """The key a shot's request is bound to: its cache key, or a continued shot's placeholder."""
        if shot.continues_from:  # derived from the chain's first shot, so it is the same before and after
            before = next(s for s in plan.shots if s.index == plan.continued_from(shot.index))
            payload = key_payload(self._continued_payload(shot, plan, be))
            return continuity.placeholder_key(be, payload, self._shot_key(before, plan, be))
        return cache_key(be, be.prepare(self.request_for(shot, plan, be))[0])

    def _continued_cost(self, shot: Shot, plan: ShotPlan, be: Backend) -> ShotCost:
        """A continued shot priced as the image-to-video request it will be."""
        probe = continuity.probe_image(self.store.root / ".shotsmith")  # the frame to come, for pricing
        ready, _ = be.prepare(self._continued_payload(shot, plan, be).model_copy(
            update={"mode": GenerationMode.IMAGE_TO_VIDEO, "image": str(probe)}))
        cost = be.estimate_cost(ready)
        return ShotCost(shot_index=shot.index, cache_key=self._shot_key(shot, plan, be), amount=cost.amount,
                        unit=cost.unit, usd=usd(cost.amount, cost.unit), backend=be.name, kind="video")

    def _carry_continue_approvals(self, estimate: Estimate, be: Backend) -> None:
        """A yes given for continued shots before their frames existed covers their requests once they do.

        Carried only when every request of ``estimate`` is a continued shot whose placeholder (see
        :mod:`.continuity`) an approval on this backend lists; anything new still needs its own yes.
        """
        if not estimate.to_generate or not estimate.needs_approval_on(be.name) or \
                self.spending.covering(estimate) is not None:
            return
        plan = self.plan
        approvals = [a for a in self.spending.ledger.approvals if a.approved and a.backend == be.name]
        by = None
        for cost in estimate.to_generate:
            shot = next(s for s in plan.shots if s.index == cost.shot_index)
            if not shot.continues_from:
                return
            placeholder = self._shot_key(shot, plan, be)
            approval = next((a for a in approvals if placeholder in a.cache_keys), None)
            if approval is None:
                return
            by = approval.by
        self.spending.record(estimate, approved=True, by=by or "user")

    # -- render --------------------------------------------------------------------------
    def render(self, output: str | Path | None = None, *, preview: bool = False, full: bool = False,
               settings: OutputSettings | None = None) -> Rendered:
        """Render the cut. A final render re-encodes only the segments that changed since an earlier one
        (``full=True`` renders from scratch); a preview is small and fast, incremental in its own cache, and
        reads the sources' proxies where they are ready. ``settings`` (an export preset, another size) replace
        the project's output settings for this render only; the output file's suffix picks the format."""
        with self._work:
            return self._render(output, preview=preview, full=full, settings=settings)

    def cut_to_render(self, *, save: bool = True) -> Timeline:
        """The timeline a render of the project renders: the narration and the music bed laid in, the cut
        derived from the plan and checked complete (and kept, unless ``save`` is off: ``render
        --print-command`` prints this one and writes nothing)."""
        with self._work:
            return self._cut_to_render(save=save)

    def _cut_to_render(self, *, save: bool = True) -> Timeline:
        project = self.store.project
        if project.narration is not None and project.plan is not None:
            clips, timings = self._narration_media()
            project.timeline, too_long = voiceover.lay_voiceover(project.timeline, project.plan, project.narration,
                                                                 clips, timings,
                                                                 caption_style=project.production.captions)
            if too_long:
                self.emit(Notice(f"the narration runs long: {too_long}", level="warning"))
                self.activity.notices.append(too_long)
        if project.plan is not None:
            project.timeline = music.lay_bed(self, project.timeline, project.plan.total_duration_s)
        cut = self.store.project.sync_cut()
        if cut is not None:
            cut.require_complete()
            for warning in cut.warnings:
                self.emit(Notice(warning, level="warning"))
                self.activity.notices.append(warning)
        timeline = self.store.project.timeline
        if not timeline.clips:
            raise InvalidInputError("the cut has no clips yet", hint="plan and generate the shots first")
        if save:
            self.store.save()
        return timeline

    def _render(self, output: str | Path | None, *, preview: bool, full: bool = False,
                settings: OutputSettings | None = None) -> Rendered:
        from shotsmith.tools.incremental import render as render_cut

        target = resolve_output(self.store, output, preview=preview, allowed=self.allowed_outputs)
        timeline = self._cut_to_render()
        total = timeline.duration_s
        t0 = time.perf_counter()
        # A final render is kept as renders/vNNN (never overwritten); the output asked for gets a copy.
        version = max((r.version for r in self.store.project.renders), default=0) + 1
        kept = target if preview else self.store.renders_dir / f"v{version:03d}{target.suffix}"
        rendered = render_cut(timeline, kept, cache=self.store.root / ".shotsmith" / "segments", full=full,
                              resolve=self.store.resolve, protected=self.store.source_paths(), settings=settings,
                              on_progress=lambda s: self.emit(RenderProgress(s, total)), cancel=self.cancel,
                              preview=preview, preview_cache=self.store.root / ".shotsmith" / "previews",
                              proxies=self.proxies.folder)
        if not preview:
            publish(kept, target)
            self.store.project.renders.append(RenderRecord(
                version=version, path=self.store.relative(kept), history_entry=self.store.history.index.head or None,
                output=None if target.parent == self.store.renders_dir else str(target),
                duration_s=rendered.duration_s, width=rendered.width, height=rendered.height))
            self.store.save()
        self.activity.time("render_preview" if preview else "render", time.perf_counter() - t0)
        self._warm_proxies()  # a source this render read from itself: the next preview will not
        result = Rendered(path=str(target), duration_s=rendered.duration_s, size_bytes=rendered.size_bytes,
                          width=rendered.width, height=rendered.height, preview=preview, version=None if preview else version,
                          loudness=rendered.loudness)
        self.activity.outputs.append(result)
        self.emit(OutputWritten(rendered.path, rendered.duration_s, rendered.size_bytes))
        return result

    def _warm_proxies(self) -> None:
        """Queue proxies of the cut's large video sources, made in the background (:mod:`shotsmith.tools.proxies`):
        a preview then reads small pictures instead of decoding every source at full size. Never fails the
        work that called it: without a proxy a preview reads the source."""
        project = self.store.project
        refs = {clip.source for clip in project.timeline.clips}
        if project.plan is not None:
            refs |= {ref for s in project.plan.shots for ref in (s.bound_clip, s.source) if ref}
        paths = []
        for ref in sorted(refs):
            try:
                paths.append(self.store.resolve(ref))
            except (ShotsmithError, OSError, ValueError):
                continue
        try:
            self.proxies.request(paths, preview_settings(project.timeline.output))
        except (ShotsmithError, OSError) as exc:
            log.warning("no preview proxies: %s", exc)

    def produce(self, output: str | Path | None = None, *, preview: bool = False) -> tuple[GenerateResult, Rendered]:
        """Generate what is missing, then render: the end of every brief-to-video path."""
        generated = self.generate()
        if generated.awaiting is not None:
            from shotsmith.assistant.production.spending import ApprovalRequiredError

            raise ApprovalRequiredError(f"the storyboard is ready; generating the shots needs approval: "
                                        f"{generated.awaiting.text}; nothing more was spent",
                                        hint="answer yes when asked, or pass --yes")
        if self.cancel.is_set():
            from shotsmith.errors import CancelledError

            raise CancelledError("cancelled; finished shots are kept")
        return generated, self.render(output, preview=preview)

    # -- the user's media ----------------------------------------------------------------
    def media_files(self) -> list[str]:
        """Files the assistant may use: the project's assets/ and the user's registered inputs."""
        found = [self.store.relative(p) for p in sorted(self.store.assets_dir.rglob("*")) if p.is_file()]
        return found + [p for p in self.store.project.inputs if p not in found]

    def find_media(self, name: str) -> Path:
        """Resolve a name the user said ("beach.mp4") to an allowed file, refusing anything else."""
        try:
            path = self.store.resolve(name)
            if path.is_file():
                return path
        except PathSafetyError:
            if "/" in name or "\\" in name or name.startswith(".."):
                raise
        matches = [m for m in self.media_files() if Path(m).name == Path(name).name]
        if len(matches) == 1:
            return self.store.resolve(matches[0])
        if not matches:
            shown = self.media_files()
            raise InvalidInputError(f"no media file named {name!r} in the project",
                                    hint=f"available: {', '.join(shown[:20]) or 'none'}"
                                         f"{' …' if len(shown) > 20 else ''}; copy the file into the project's "
                                         "assets/ or pass it with -i/--input (shotsmith chat -i FILE)")
        paths = [self.store.resolve(m) for m in matches]
        if all(filecmp.cmp(paths[0], other, shallow=False) for other in paths[1:]):
            return paths[0]  # copies of one file (an input and its copy in the cast) are one picture
        raise InvalidInputError(f"{name!r} is ambiguous: {', '.join(matches)}")
