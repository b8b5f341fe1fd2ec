"""The backend conformance suite: what every backend must do, checked against yours.

Use it by subclassing :class:`BackendConformance` in your tests and giving it
one fixture, ``backend``, that returns an instance of your backend::

    import pytest
    from shotsmith.testing import BackendConformance
    from my_plugin import MyBackend

    class TestMyBackend(BackendConformance):
        @pytest.fixture
        def backend(self):
            return MyBackend()

Or call the ``backend_conformance`` fixture (from the pytest plugin this
package installs) with a backend to run every check in one test.

The checks that apply depend on what the backend makes (its modes' kinds):

* **video**: a clip that decodes end to end, at the requested size and length (a backend that declares
  ``size_multiple`` may snap the size to a multiple of it, within one multiple, when a warning says so:
  a diffusion model's VAE needs such a multiple);
* **image**: a PNG, JPEG or WebP whose pixels decode, at the requested aspect
  ratio (within rounding); with ``max_references``, requests carrying
  references keep them and a missing reference file is an error, not ignored;
* **voice**: speech that decodes, of a plausible length for its words; with
  ``word_timings``, one timing per word, in order, inside the audio.

Checks of a kind the backend does not make are skipped. Each check is also a
plain function here, so the suite can be composed differently. The checks run
``generate`` for real: keep the backend's shortest duration and smallest
resolution cheap, or point a cloud backend at a mock server in the fixture.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
import time
from pathlib import Path

import pytest

from shotsmith.backends.base import (Backend, GenerationMode, GenerationRequest, GenerationResult, MediaKind,
                                     ProgressEvent, Reference)
from shotsmith.backends.download import DEFAULT_SUFFIXES, verify_audio, verify_clip, verify_image
from shotsmith.errors import CancelledError, InvalidInputError, ShotsmithError
from shotsmith.formats import ASPECT_RATIOS, RESOLUTIONS, frame_size

#: Progress states in the order a shot may pass through them.
STATE_RANK = {"queued": 0, "submitted": 1, "running": 2, "downloading": 3, "done": 4, "cached": 4, "failed": 4,
              "cancelled": 4}


#: What a voice backend is asked to say (nine words: long enough to judge its length, short to synthesise).
SPEECH_TEXT = "The quick brown fox jumps over the lazy dog."
#: Plausible speech: between these many seconds per word (fast to very slow), plus this much padding.
SECONDS_PER_WORD = (0.12, 1.0)
SPEECH_PADDING_S = 2.0
#: Orientation order for the image shape check: a non-square ratio catches swapped width and height.
PREFERRED_IMAGE_RATIOS = ("16:9", "9:16", "4:5", "1:1")
DEFAULT_MODE = {MediaKind.VIDEO: GenerationMode.TEXT_TO_VIDEO, MediaKind.IMAGE: GenerationMode.TEXT_TO_IMAGE,
                MediaKind.VOICE: GenerationMode.TEXT_TO_SPEECH}


def kinds_of(backend: Backend) -> list[MediaKind]:
    """The kinds a backend makes, in a fixed order (video, image, voice)."""
    made = backend.capabilities().kinds
    return [kind for kind in MediaKind if kind in made]


def smallest_request(backend: Backend, kind: MediaKind | None = None, **overrides) -> GenerationRequest:
    """A cheap valid request of ``kind`` (default: the backend's first kind).

    Video: the shortest allowed duration (at least 1 s), smallest resolution.
    Image: text-to-image at the smallest resolution, a non-square ratio where offered.
    Voice: :data:`SPEECH_TEXT` in the default voice.
    """
    caps = backend.capabilities()
    kind = kind or kinds_of(backend)[0]
    resolution = min(caps.resolutions, key=lambda r: RESOLUTIONS.get(r, 10_000))
    mode = DEFAULT_MODE[kind]
    if mode not in caps.modes:
        mode = next(m for m in caps.modes if m.kind is kind)
    values = dict(prompt="conformance check: a slow sunrise over hills", duration_s=1.0, mode=mode,
                  aspect_ratio=caps.aspect_ratios[0], resolution=resolution, fps=caps.fps[0],
                  seed=1 if caps.supports_seed else None, shot_index=1)
    if kind is MediaKind.VIDEO:
        durations = caps.durations_s or [max(caps.min_duration_s, min(1.0, caps.max_duration_s))]
        values["duration_s"] = min(durations, key=lambda d: (d < 1.0, d))
    elif kind is MediaKind.IMAGE:
        values["aspect_ratio"] = next((r for r in PREFERRED_IMAGE_RATIOS if r in caps.aspect_ratios),
                                      caps.aspect_ratios[0])
    else:
        values.update(prompt=SPEECH_TEXT, duration_s=4.0, voice=caps.voices[0] if caps.voices else None)
    values.update(overrides)
    return GenerationRequest(**values)


def reference_image(folder: Path, name: str = "ref", colour: tuple[int, int, int] = (200, 60, 40)) -> Path:
    """A small real PNG to use as a reference image."""
    from PIL import Image, ImageDraw

    path = Path(folder) / f"{name}.png"
    image = Image.new("RGB", (96, 96), colour)
    ImageDraw.Draw(image).ellipse((24, 12, 72, 60), fill=(240, 200, 170))
    image.save(path)
    return path


def run_generate(backend: Backend, request: GenerationRequest, dest: Path, *,
                 cancel: threading.Event | None = None) -> tuple[object, list[ProgressEvent]]:
    events: list[ProgressEvent] = []
    result = asyncio.run(backend.generate(request, dest, on_progress=events.append, cancel=cancel or threading.Event()))
    return result, events


def check_identity(backend: Backend) -> None:
    assert isinstance(backend, Backend), "backend must subclass shotsmith.backends.base.Backend"
    assert getattr(type(backend), "name", None), "set a class attribute `name`"
    assert backend.name == backend.name.strip().lower() and " " not in backend.name, "names are lower-case, no spaces"
    assert backend.description, "set `description`: `shotsmith backends list` shows it"


def check_capabilities(backend: Backend) -> None:
    caps = backend.capabilities()
    type(caps).model_validate(caps.model_dump())  # re-validating catches mutated, inconsistent objects
    assert set(caps.aspect_ratios) <= set(ASPECT_RATIOS), f"unknown aspect ratios {set(caps.aspect_ratios) - set(ASPECT_RATIOS)}"
    assert set(caps.resolutions) <= set(RESOLUTIONS), f"unknown resolutions {set(caps.resolutions) - set(RESOLUTIONS)}"
    if caps.durations_s:
        assert all(caps.min_duration_s <= d <= caps.max_duration_s for d in caps.durations_s), \
            "durations_s must lie within min_duration_s..max_duration_s"
    assert all(f > 0 for f in caps.fps) and caps.max_prompt_chars > 0 and caps.max_concurrency >= 1
    assert len(set(caps.voices)) == len(caps.voices), "voices must be listed once each"
    if caps.voices or caps.word_timings:
        assert MediaKind.VOICE in caps.kinds, "voices and word_timings are for backends that make speech"
    assert backend.capabilities() == caps, "capabilities() must be stable between calls"


def check_cost_estimate(backend: Backend) -> None:
    for kind in kinds_of(backend):
        request, _ = backend.prepare(smallest_request(backend, kind))
        estimate = backend.estimate_cost(request)
        assert estimate.amount >= 0 and estimate.source, "estimate_cost must name its pricing source"
        if backend.capabilities().costs_money:
            assert estimate.amount > 0, f"a backend that costs money must not estimate zero ({kind.value})"


def check_validation(backend: Backend, folder: Path | None = None) -> None:
    """What capabilities exclude is refused; what can be adjusted is adjusted with a warning, never silently."""
    caps = backend.capabilities()
    kinds = kinds_of(backend)
    for kind in kinds:
        with pytest.raises(InvalidInputError):
            backend.prepare(smallest_request(backend, kind, prompt="x" * (caps.max_prompt_chars + 1)))
    missing_ratio = [r for r in ASPECT_RATIOS if r not in caps.aspect_ratios]
    pictures = [k for k in kinds if k is not MediaKind.VOICE]
    if missing_ratio and pictures:
        with pytest.raises(InvalidInputError):
            backend.prepare(smallest_request(backend, pictures[0], aspect_ratio=missing_ratio[0]))
    # Modes a request can fall back from are not refused: image-to-video needs a start image to
    # be asked for, and reference-to-image falls back to text-to-image (dropping the references, with a warning).
    fallback = {GenerationMode.IMAGE_TO_VIDEO}
    if GenerationMode.TEXT_TO_IMAGE in caps.modes:
        fallback.add(GenerationMode.REFERENCE_TO_IMAGE)
    missing_mode = [m for m in GenerationMode if m not in caps.modes and m not in fallback]
    if missing_mode:
        with pytest.raises(InvalidInputError):
            backend.prepare(smallest_request(backend, kinds[0], mode=missing_mode[0]))
    if MediaKind.VIDEO in kinds:
        outside = caps.max_duration_s + 3.7
        ready, warnings = backend.prepare(smallest_request(backend, MediaKind.VIDEO, duration_s=outside))
        assert ready.duration_s <= caps.max_duration_s, "an unsupported duration must be snapped"
        assert warnings, "snapping a duration must say so in a warning, never silently"
    if MediaKind.IMAGE in kinds:
        ready, warnings = backend.prepare(smallest_request(backend, MediaKind.IMAGE, duration_s=977.0))
        assert not any("duration" in w for w in warnings), "an image has no duration: do not snap or warn about it"
        with _folder(folder) as where:
            refs = [Reference(path=str(reference_image(where, f"r{n}")), tag=f"ref{n}")
                    for n in range(caps.max_references + 1)]
            ready, warnings = backend.prepare(smallest_request(backend, MediaKind.IMAGE, references=refs))
        assert len(ready.references) <= caps.max_references, "references beyond max_references must be dropped"
        assert any("reference" in w for w in warnings), "dropping reference images must say so in a warning"
    if MediaKind.VOICE in kinds and caps.voices:
        ready, warnings = backend.prepare(smallest_request(backend, MediaKind.VOICE, voice="no-such-voice-xyz"))
        assert ready.voice in caps.voices, "a voice the backend lacks must fall back to one of its voices"
        assert warnings, "falling back to another voice must say so in a warning"


def check_generate(backend: Backend, folder: Path, *, duration_tolerance_s: float = 0.25, size_tolerance_px: int = 2,
                   aspect_tolerance: float = 0.03, size_multiple: int | None = None) -> None:
    """Every kind the backend makes comes out right (see the module docstring)."""
    for kind in kinds_of(backend):
        if kind is MediaKind.VIDEO:
            check_generate_video(backend, folder, duration_tolerance_s=duration_tolerance_s,
                                 size_tolerance_px=size_tolerance_px, size_multiple=size_multiple)
        elif kind is MediaKind.IMAGE:
            check_generate_image(backend, folder, aspect_tolerance=aspect_tolerance)
        else:
            check_generate_voice(backend, folder, duration_tolerance_s=duration_tolerance_s)


def check_generate_video(backend: Backend, folder: Path, *, duration_tolerance_s: float = 0.25,
                         size_tolerance_px: int = 2, size_multiple: int | None = None) -> None:
    """The clip decodes, at the requested size (or, with ``size_multiple``, snapped to it with a warning) and length."""
    request, prepared = backend.prepare(smallest_request(backend, MediaKind.VIDEO))
    dest = folder / "conformance.mp4"
    result, events = run_generate(backend, request, dest)
    width, height = frame_size(request.aspect_ratio, request.resolution)
    if result.kind is MediaKind.IMAGE and backend.capabilities().still_clips:
        # a still clip (the animatic's card): an image of the frame's shape (the render scales it)
        still = verify_image(dest)
        assert abs(still.width / still.height - width / height) <= 0.03 * width / height, \
            f"still is {still.width}x{still.height}; the {width}x{height} frame has another shape"
        assert (result.width, result.height) == (still.width, still.height), "GenerationResult size is wrong"
        check_progress(events, request)
        return
    info = verify_clip(dest)
    video = info.video
    assert video is not None
    if size_multiple and (video.width, video.height) != (width, height) and \
            all(side % size_multiple == 0 and abs(side - asked) < size_multiple
                for side, asked in ((video.width, width), (video.height, height))):
        said = f"{video.width}x{video.height}"
        assert any(said in w for w in [*prepared, *result.warnings]), \
            f"the frame was snapped from {width}x{height} to {said} without a warning that says so"
        width, height = video.width, video.height
    assert abs(video.width - width) <= size_tolerance_px and abs(video.height - height) <= size_tolerance_px, \
        f"clip is {video.width}x{video.height}; {request.aspect_ratio} at {request.resolution} is {width}x{height}"
    assert abs(info.duration_s - request.duration_s) <= duration_tolerance_s, \
        f"clip lasts {info.duration_s:.2f}s; {request.duration_s:g}s was requested"
    assert abs(result.duration_s - info.duration_s) <= duration_tolerance_s, "GenerationResult.duration_s is wrong"
    assert (result.width, result.height) == (video.width, video.height), "GenerationResult size is wrong"
    check_progress(events, request)


def check_generate_image(backend: Backend, folder: Path, *, aspect_tolerance: float = 0.03) -> None:
    request, _ = backend.prepare(smallest_request(backend, MediaKind.IMAGE))
    dest = folder / "conformance.png"
    result, events = run_generate(backend, request, dest)
    checked = verify_image(dest)
    w_ratio, h_ratio = (int(p) for p in request.aspect_ratio.split(":"))
    asked = w_ratio / h_ratio
    made = checked.width / checked.height
    assert abs(made - asked) / asked <= aspect_tolerance, \
        f"image is {checked.width}x{checked.height} ({made:.3f}); {request.aspect_ratio} ({asked:.3f}) was requested"
    assert (result.width, result.height) == (checked.width, checked.height), "GenerationResult size is wrong"
    assert result.kind is MediaKind.IMAGE, "an image result must say kind=MediaKind.IMAGE"
    check_progress(events, request)


def check_references(backend: Backend, folder: Path) -> None:
    """A backend that declares ``max_references`` keeps them, makes an image with them, and reads them.

    Reading is what matters: a backend that ignored its references would not
    notice a missing file, so a request naming one must fail with a
    ShotsmithError (in ``prepare`` or in ``generate``), never succeed.
    """
    caps = backend.capabilities()
    if not caps.max_references or MediaKind.IMAGE not in caps.kinds:
        pytest.skip("the backend takes no reference images")
    ref = Reference(path=str(reference_image(folder, "mara")), tag="Mara")
    request, warnings = backend.prepare(smallest_request(backend, MediaKind.IMAGE, references=[ref],
                                                         prompt="conformance check: @Mara at a window"))
    assert request.references == [ref], "a reference within max_references must be kept"
    assert not any("reference" in w for w in warnings), f"a kept reference must not warn: {warnings}"
    if GenerationMode.REFERENCE_TO_IMAGE in caps.modes:
        assert request.mode is GenerationMode.REFERENCE_TO_IMAGE, "text-to-image with references goes reference-to-image"
    result, _ = run_generate(backend, request, folder / "with-reference.png")
    verify_image(Path(folder / "with-reference.png"))
    assert result.kind is MediaKind.IMAGE
    missing = Reference(path=str(Path(folder) / "no-such-reference.png"), tag="Ghost")
    with pytest.raises(ShotsmithError):
        ready, _ = backend.prepare(smallest_request(backend, MediaKind.IMAGE, references=[missing]))
        run_generate(backend, ready, folder / "missing-reference.png")


def check_generate_voice(backend: Backend, folder: Path, *, duration_tolerance_s: float = 0.25) -> None:
    caps = backend.capabilities()
    request, _ = backend.prepare(smallest_request(backend, MediaKind.VOICE))
    dest = folder / "conformance.wav"
    result, events = run_generate(backend, request, dest)
    checked = verify_audio(dest)
    words = request.prompt.split()
    low, high = len(words) * SECONDS_PER_WORD[0], len(words) * SECONDS_PER_WORD[1] + SPEECH_PADDING_S
    assert low <= checked.duration_s <= high, \
        f"{len(words)} words took {checked.duration_s:.2f}s; plausible speech is {low:.1f}-{high:.1f}s"
    assert abs(result.duration_s - checked.duration_s) <= duration_tolerance_s, "GenerationResult.duration_s is wrong"
    assert result.kind is MediaKind.VOICE, "a voice result must say kind=MediaKind.VOICE"
    if caps.word_timings:
        check_word_timings(result, words, checked.duration_s)
    check_progress(events, request)


def check_word_timings(result: GenerationResult, words: list[str], duration_s: float, *, slack_s: float = 0.05) -> None:
    timings = result.word_timings
    assert timings, "the backend declares word_timings: results must carry them"
    assert len(timings) == len(words), f"{len(timings)} timings for {len(words)} words"
    starts = [t.start_s for t in timings]
    assert starts == sorted(starts), "word timings must be in spoken order"
    for timing in timings:
        assert timing.start_s <= timing.end_s <= duration_s + slack_s, \
            f"{timing.word!r} at {timing.start_s:.2f}-{timing.end_s:.2f}s lies outside the {duration_s:.2f}s of audio"


def check_progress(events: list[ProgressEvent], request: GenerationRequest) -> None:
    assert all(e.shot_index == request.shot_index for e in events), "progress events must carry the shot index"
    ranks = [STATE_RANK[e.state] for e in events]
    assert ranks == sorted(ranks), f"progress states went backwards: {[e.state for e in events]}"
    percents = [e.percent for e in events if e.state == "running" and e.percent is not None]
    assert percents == sorted(percents), "running percentages must not go down"
    assert all(0 <= p <= 100 for p in percents)


def check_cancellation(backend: Backend, folder: Path, *, within_s: float = 30.0) -> None:
    for kind in kinds_of(backend):
        request, _ = backend.prepare(smallest_request(backend, kind))
        cancel = threading.Event()
        cancel.set()
        started = time.monotonic()
        with pytest.raises(CancelledError):
            run_generate(backend, request, folder / f"cancelled{DEFAULT_SUFFIXES[kind]}", cancel=cancel)
        assert time.monotonic() - started < within_s, "cancellation took too long"


def check_engine(backend: Backend, folder: Path) -> None:
    """Each kind runs through shotsmith's job engine, lands in clips/ and is cached (word timings included)."""
    from shotsmith.backends.engine import generate_shots
    from shotsmith.store import ProjectStore

    store = ProjectStore.create(Path(tempfile.mkdtemp(prefix=f"engine-{backend.name}-", dir=folder)) / "project")
    suffixes = {MediaKind.VIDEO: {".mp4"}, MediaKind.IMAGE: {".png", ".jpg", ".webp"},
                MediaKind.VOICE: {".wav", ".mp3", ".flac", ".ogg", ".m4a"}}
    for kind in kinds_of(backend):
        request = smallest_request(backend, kind)
        first = asyncio.run(generate_shots(store, backend, [request]))
        assert first[0].ok, first[0].error
        made = first[0].kind
        if kind is MediaKind.VIDEO and made is MediaKind.IMAGE and backend.capabilities().still_clips:
            kind = made  # a still clip (the animatic's card) is kept as the image it is
        assert made is kind and first[0].clip.suffix in suffixes[kind], first[0].clip
        again = asyncio.run(generate_shots(store, backend, [request]))
        assert again[0].cached, "an unchanged shot must come from the cache"
        assert again[0].word_timings == first[0].word_timings, "a cached voice clip must keep its word timings"


@contextlib.contextmanager
def _folder(folder: Path | None):
    if folder is not None:
        yield Path(folder)
        return
    with tempfile.TemporaryDirectory(prefix="shotsmith-conformance-") as tmp:
        yield Path(tmp)


def check_all(backend: Backend, folder: Path | None = None, *, size_multiple: int | None = None) -> None:
    with _folder(folder) as base:
        check_identity(backend)
        check_capabilities(backend)
        check_cost_estimate(backend)
        check_validation(backend, base)
        check_generate(backend, base, size_multiple=size_multiple)
        caps = backend.capabilities()
        if caps.max_references and MediaKind.IMAGE in caps.kinds:
            check_references(backend, base)
        check_cancellation(backend, base)
        check_engine(backend, base)


class BackendConformance:
    """Base class of a conformance test class; supply a ``backend`` fixture.

    Tests of a kind your backend does not make are skipped (and say so).
    """

    #: Loosen for backends whose clip length is quantised (e.g. by a codec's frame rate).
    duration_tolerance_s = 0.25
    size_tolerance_px = 2
    #: Declare for backends that snap the frame to a multiple (a diffusion model's VAE): see check_generate_video.
    size_multiple: int | None = None
    #: How far an image's width/height ratio may be from the requested one (providers round sizes).
    aspect_tolerance = 0.03

    @pytest.fixture
    def backend(self) -> Backend:
        pytest.fail("define a `backend` fixture in your BackendConformance subclass returning your backend")

    @staticmethod
    def _needs(backend: Backend, kind: MediaKind) -> None:
        if kind not in backend.capabilities().kinds:
            pytest.skip(f"{backend.name} makes no {kind.value}")

    def test_identity(self, backend):
        check_identity(backend)

    def test_capabilities_are_consistent(self, backend):
        check_capabilities(backend)

    def test_cost_estimate_names_its_source(self, backend):
        check_cost_estimate(backend)

    def test_validation_rejects_what_capabilities_exclude(self, backend, tmp_path):
        check_validation(backend, tmp_path)

    def test_generate_makes_a_decodable_clip_of_the_requested_shape(self, backend, tmp_path):
        self._needs(backend, MediaKind.VIDEO)
        check_generate_video(backend, tmp_path, duration_tolerance_s=self.duration_tolerance_s,
                             size_tolerance_px=self.size_tolerance_px, size_multiple=self.size_multiple)

    def test_generate_makes_an_image_of_the_requested_aspect_ratio(self, backend, tmp_path):
        self._needs(backend, MediaKind.IMAGE)
        check_generate_image(backend, tmp_path, aspect_tolerance=self.aspect_tolerance)

    def test_references_are_kept_used_and_read(self, backend, tmp_path):
        self._needs(backend, MediaKind.IMAGE)
        check_references(backend, tmp_path)

    def test_generate_makes_plausible_speech_with_timings_inside_it(self, backend, tmp_path):
        self._needs(backend, MediaKind.VOICE)
        check_generate_voice(backend, tmp_path, duration_tolerance_s=self.duration_tolerance_s)

    def test_cancellation(self, backend, tmp_path):
        check_cancellation(backend, tmp_path)

    def test_runs_through_the_engine_with_caching(self, backend, tmp_path):
        check_engine(backend, tmp_path)
