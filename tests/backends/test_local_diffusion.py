"""The ``diffusers`` backend on tiny random-weight pipelines, loaded the way a user's model is.

Each pipeline is built from configs with seeded random weights (diffusers' own
``get_dummy_components`` pattern), saved with ``save_pretrained`` and loaded back
through ``DiffusionPipeline.from_pretrained(folder)``, the same path a real
model folder takes. Nothing comes from a hub: even the CLIP tokenizer is a BPE
vocabulary written here. Two pipeline families cover both progress APIs:
ModelScope's ``TextToVideoSDPipeline`` (legacy ``callback``) and
``AnimateDiffPipeline`` (``callback_on_step_end``, and a frame limit).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import threading
from pathlib import Path

import pytest

# Belt and braces: every load below is from a local folder, and the hub must never be asked.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest.importorskip("diffusers")
torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402
import diffusers  # noqa: E402

from shotsmith.backends import local_diffusion, registry  # noqa: E402
from tests.backends import tiny_pipelines  # noqa: E402
from tests.backends.diffusers_support import (  # noqa: E402, F401 (one_cpu_thread: a fixture)
    decode,
    generate_recorded,
    make_video_backend,
    one_cpu_thread,
)
from shotsmith.backends.base import GenerationMode, GenerationRequest, ProgressEvent  # noqa: E402
from shotsmith.backends.engine import generate_shots  # noqa: E402
from shotsmith.backends.local_diffusion import (  # noqa: E402
    DiffusersBackend,
    pipeline_facts,
    snap_frames,
    snap_to_multiple,
)
from shotsmith.errors import BackendError, CancelledError, InvalidInputError, ShotsmithError  # noqa: E402
from shotsmith.media.probe import probe  # noqa: E402


# -- tiny pipelines (tests/backends/tiny_pipelines.py) ---------------------------------------
def build_modelscope(folder: Path) -> Path:
    try:
        return tiny_pipelines.build_modelscope(folder)
    except tiny_pipelines.PipelineUnavailable as exc:
        pytest.skip(str(exc))


build_animatediff = tiny_pipelines.build_animatediff


@pytest.fixture(scope="module")
def modelscope_dir(tmp_path_factory) -> Path:
    return build_modelscope(tmp_path_factory.mktemp("models") / "tiny-modelscope")


@pytest.fixture(scope="module")
def animatediff_dir(tmp_path_factory) -> Path:
    return build_animatediff(tmp_path_factory.mktemp("models") / "tiny-animatediff")


def request(**kwargs) -> GenerationRequest:
    values = dict(prompt="the cat on the mat", duration_s=1.0, aspect_ratio="1:1", resolution="360p", fps=8, seed=7,
                  shot_index=1)
    values.update(kwargs)
    return GenerationRequest(**values)



# -- registration, configuration ------------------------------------------------------------
def test_registered_and_listable_without_a_model():
    backend = registry.get_backend("diffusers")
    assert isinstance(backend, DiffusersBackend) and backend.model is None
    caps = backend.capabilities()
    assert caps.local and not caps.costs_money and caps.max_concurrency == 1
    assert caps.supports_seed and caps.supports_negative_prompt
    assert caps.modes == [GenerationMode.TEXT_TO_VIDEO]
    cost = backend.estimate_cost(request())
    assert cost.amount == 0 and cost.unit == "USD" and cost.source == "local compute"


async def test_missing_model_is_a_clear_error(tmp_path):
    backend = registry.get_backend("diffusers")
    with pytest.raises(BackendError, match="no model") as info:
        backend.prepare(request())
    assert "[backends.diffusers] model" in info.value.hint
    with pytest.raises(ShotsmithError, match="no model"):
        await backend.generate(request(), tmp_path / "x.mp4", on_progress=lambda e: None, cancel=threading.Event())


def test_model_and_switches_come_from_the_config(modelscope_dir):
    config = Path(os.environ["SHOTSMITH_CONFIG"])
    config.write_text(f'[backends.diffusers]\nmodel = "{modelscope_dir.as_posix()}"\noffload = "sequential"\n'
                      'vae_tiling = false\nsteps = 3\nguidance_scale = 4.5\n', encoding="utf-8")
    backend = registry.get_backend("diffusers")
    assert backend.model == modelscope_dir.as_posix()
    assert (backend.settings.offload, backend.settings.vae_tiling, backend.settings.steps,
            backend.settings.guidance_scale) == ("sequential", False, 3, 4.5)
    assert registry.get_backend("diffusers", model="other/model").model == "other/model"  # a keyword wins


@pytest.mark.parametrize(("options", "message"), [
    ({"offload": "lots"}, "offload"),
    ({"ofload": "model"}, "ofload"),
    ({"steps": 0}, "steps"),
    ({"device": "tpu"}, "device"),
    ({"resolutions": ["999p"]}, "resolutions"),
    ({"min_duration_s": 5.0, "max_duration_s": 1.0}, "min_duration_s"),
])
def test_bad_settings_are_refused_by_name(options, message):
    with pytest.raises(InvalidInputError, match=message):
        make_video_backend(None, **options)


def test_import_without_the_extra_is_skipped_by_the_registry(monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)  # find_spec now reports it missing
    monkeypatch.delitem(sys.modules, "shotsmith.backends.local_diffusion")
    with pytest.raises(ImportError, match="shotsmith\\[diffusers\\]"):
        importlib.import_module("shotsmith.backends.local_diffusion")
    registry.reset()
    names = registry.backend_names()
    assert "animatic" in names and "diffusers" not in names


# -- request checks and snapping ------------------------------------------------------------
def test_prepare_snaps_duration_and_fps_with_warnings(modelscope_dir):
    backend = make_video_backend(modelscope_dir, fps=[8, 16])
    ready, warnings = backend.prepare(request(duration_s=9.0, fps=15))
    assert ready.duration_s == 4.0 and ready.fps == 16
    assert any("duration 9s" in w and "4s" in w for w in warnings)
    assert any("15 fps" in w for w in warnings)
    assert ready.model == str(modelscope_dir)
    with pytest.raises(InvalidInputError, match="image-to-video"):
        backend.prepare(request(mode=GenerationMode.IMAGE_TO_VIDEO, image="/tmp/a.png"))


def test_plan_checks_and_snaps_like_check_inputs(modelscope_dir):
    backend = make_video_backend(modelscope_dir)
    facts = local_diffusion.PipelineFacts(size_multiple=8, frame_step=4, max_frames=33)
    plan = backend.plan(request(aspect_ratio="16:9", duration_s=2.0), facts)
    assert (plan.width, plan.height) == (56, 32)  # 32 * 16/9 = 56.9 -> nearest multiple of 8
    assert plan.num_frames == 17  # 16 wanted -> k*4+1
    assert any("multiple of 8" in w for w in plan.warnings) and any("k*4+1" in w for w in plan.warnings)
    long = backend.plan(request(duration_s=4.0, fps=16), facts)
    assert long.num_frames == 33 and any("at most 33 frames" in w for w in long.warnings)
    with pytest.raises(InvalidInputError, match="seed"):
        backend.plan(request(seed=-1), facts)
    with pytest.raises(InvalidInputError, match="seed"):
        backend.plan(request(seed=2**64), facts)
    with pytest.raises(InvalidInputError, match="text-to-video"):
        backend.plan(request(mode=GenerationMode.VIDEO_TO_VIDEO), facts)
    with pytest.raises(InvalidInputError, match="video-extend needs the clip to extend"):
        backend.plan(request(mode=GenerationMode.VIDEO_EXTEND), facts)
    with pytest.raises(InvalidInputError, match="too large"):
        make_video_backend(modelscope_dir, short_side=4096).plan(request(aspect_ratio="9:16"), facts)
    native = make_video_backend(modelscope_dir, short_side=None).plan(request(aspect_ratio="9:16", resolution="480p"), facts)
    assert (native.width, native.height) == (480, 856)  # 480x853 snapped


def test_snapping_helpers_and_pipeline_facts():
    assert [snap_to_multiple(v, 16) for v in (1, 24, 25, 100)] == [16, 32, 32, 96]
    assert [snap_frames(n, 4) for n in (1, 2, 16, 49)] == [5, 5, 17, 49]
    assert snap_frames(40, 1, max_frames=32) == 32 and snap_frames(60, 4, max_frames=49) == 49

    class Config(dict):
        pass

    class Transformer:
        config = Config(patch_size=(1, 2, 2))

    class WanLike:  # what the Wan/CogVideoX pipelines expose
        vae_scale_factor_spatial, vae_scale_factor_temporal, transformer = 8, 4, Transformer()

        def __call__(self, prompt=None, num_frames=81, num_inference_steps=40):
            return None

    facts = pipeline_facts(WanLike(), make_video_backend(None).settings)
    assert (facts.size_multiple, facts.frame_step, facts.max_frames, facts.default_steps) == (16, 4, None, 40)
    override = pipeline_facts(WanLike(), make_video_backend(None, size_multiple=32, frame_step=8, max_frames=97).settings)
    assert (override.size_multiple, override.frame_step, override.max_frames) == (32, 8, 97)


async def test_bad_model_paths_are_clear(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        await generate_recorded(make_video_backend(tmp_path / "nope"), request(), tmp_path / "a.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="model_index.json"):
        await generate_recorded(make_video_backend(tmp_path / "empty"), request(), tmp_path / "b.mp4")


async def test_a_device_that_is_not_there_is_refused(modelscope_dir, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(InvalidInputError, match="no CUDA"):
        await generate_recorded(make_video_backend(modelscope_dir, device="cuda"), request(), tmp_path / "a.mp4")


# -- generation -------------------------------------------------------------------------------
async def test_generates_an_h264_mp4_of_the_requested_frames_and_size(modelscope_dir, tmp_path):
    dest = tmp_path / "shot.mp4"
    result, events = await generate_recorded(make_video_backend(modelscope_dir), request(duration_s=1.0, negative_prompt="blurry"), dest)
    frames = decode(dest)
    assert frames.shape == (8, 32, 32, 3)  # 1 s at 8 fps, 32 px short side at 1:1
    info = probe(dest)
    assert info.video.codec == "h264" and info.video.fps == pytest.approx(8)
    assert info.duration_s == pytest.approx(1.0, abs=0.13)
    assert (result.width, result.height) == (32, 32) and result.path == str(dest)
    assert result.cost is not None and result.cost.amount == 0
    assert frames.std() > 1.0  # random weights still make a picture, not a flat frame

    percents = [e.percent for e in events]
    assert all(e.state == "running" and e.shot_index == 1 for e in events)
    assert percents == sorted(percents) and percents[0] == 0 and percents[-1] == 100
    assert sum("step" in e.message for e in events) == 2  # one event per denoising step


async def test_landscape_is_snapped_to_the_vae_multiple(modelscope_dir, tmp_path):
    result, _ = await generate_recorded(make_video_backend(modelscope_dir), request(aspect_ratio="16:9", duration_s=0.25), tmp_path / "w.mp4")
    assert decode(tmp_path / "w.mp4").shape == (2, 32, 56, 3)
    assert (result.width, result.height) == (56, 32)
    assert any("multiple of 8" in w for w in result.warnings)


async def test_seeded_runs_are_reproducible(modelscope_dir, tmp_path):
    backend = make_video_backend(modelscope_dir)
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        await generate_recorded(backend, request(seed=seed, duration_s=0.5), tmp_path / f"{name}.mp4")
    a, b, c = (decode(tmp_path / f"{n}.mp4") for n in "abc")
    assert np.array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 1.0


async def test_cancel_stops_between_steps(modelscope_dir, tmp_path):
    cancel = threading.Event()

    def cancel_after_first_step(event: ProgressEvent) -> None:
        if event.message.startswith("step 1/"):
            cancel.set()

    events: list[ProgressEvent] = []
    dest = tmp_path / "cancelled.mp4"
    with pytest.raises(CancelledError, match="shot 1"):
        await generate_recorded(make_video_backend(modelscope_dir, steps=6), request(), dest, cancel,
                  on_event=lambda e: (events.append(e), cancel_after_first_step(e)))
    assert [e.message for e in events if "step" in e.message] == ["step 1/6"]
    assert not dest.exists() or dest.stat().st_size == 0
    # The cached pipeline is fine afterwards.
    await generate_recorded(make_video_backend(modelscope_dir), request(duration_s=0.25), tmp_path / "after.mp4")
    assert decode(tmp_path / "after.mp4").shape[0] == 2


async def test_cancel_before_start_loads_nothing(tmp_path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        await generate_recorded(make_video_backend(tmp_path / "never-read"), request(), tmp_path / "a.mp4", cancel)


async def test_animatediff_uses_step_end_callback_and_caps_frames(animatediff_dir, tmp_path):
    """callback_on_step_end pipelines report every step; the motion modules' 16-frame limit is honoured."""
    dest = tmp_path / "ad.mp4"
    result, events = await generate_recorded(make_video_backend(animatediff_dir, steps=3, guidance_scale=5.0),
                               request(duration_s=3.0, aspect_ratio="4:5"), dest)
    frames = decode(dest)
    assert frames.shape == (16, 40, 32, 3)  # 24 frames wanted, 16 allowed; 32x40 at 4:5
    assert any("at most 16 frames" in w for w in result.warnings)
    assert result.duration_s == pytest.approx(2.0, abs=0.13)
    assert [e.message for e in events if "step" in e.message] == ["step 1/3", "step 2/3", "step 3/3"]
    assert events[-1].percent == 100

    cancel, seen = threading.Event(), []

    def cancel_at_step_2(event: ProgressEvent) -> None:
        seen.append(event.message)
        if event.message == "step 2/3":
            cancel.set()

    with pytest.raises(CancelledError):
        await generate_recorded(make_video_backend(animatediff_dir, steps=3), request(), tmp_path / "ad2.mp4", cancel,
                  on_event=cancel_at_step_2)
    assert "step 2/3" in seen and "step 3/3" not in seen and "encoding" not in seen


async def test_asyncio_cancellation_stops_the_worker(modelscope_dir, tmp_path):
    """Cancelling the awaiting task (not the event) also ends the thread at the next step."""
    started = threading.Event()
    backend = make_video_backend(modelscope_dir, steps=50)
    seen: list[str] = []

    def on_progress(event: ProgressEvent) -> None:
        seen.append(event.message)
        if event.message.startswith("step"):
            started.set()

    task = asyncio.create_task(backend.generate(backend.prepare(request())[0], tmp_path / "t.mp4",
                                                on_progress=on_progress, cancel=threading.Event()))
    await asyncio.to_thread(started.wait, 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with local_diffusion._run_lock:  # the worker has left the pipeline
        pass
    assert len([m for m in seen if m.startswith("step")]) < 50


async def test_through_the_engine(modelscope_dir, store):
    backend = make_video_backend(modelscope_dir)
    outcomes = await generate_shots(store, backend, [request(duration_s=0.5, shot_index=3)])
    assert outcomes[0].ok and not outcomes[0].cached, outcomes[0].error
    assert decode(outcomes[0].clip).shape == (4, 32, 32, 3)
    again = await generate_shots(store, backend, [request(duration_s=0.5, shot_index=3)])
    assert again[0].cached


# -- device, precision and memory switches (the GPU paths, checked without a GPU) ----------------
class FakeTorch:
    """Just the torch surface the device/dtype/offload choices read."""

    float16, bfloat16, float32 = "fp16", "bf16", "fp32"

    def __init__(self, cuda: bool, vram_gib: float = 24, bf16: bool = True, mps: bool = False) -> None:
        class Cuda:
            @staticmethod
            def is_available():
                return cuda

            @staticmethod
            def is_bf16_supported():
                return bf16

            @staticmethod
            def get_device_properties(index):
                return type("Props", (), {"total_memory": vram_gib * 2**30})()

        class Mps:
            @staticmethod
            def is_available():
                return mps

        self.cuda = Cuda()
        self.backends = type("Backends", (), {"mps": Mps()})()


def test_device_and_dtype_follow_the_hardware():
    pick_device, pick_dtype = local_diffusion.pick_device, local_diffusion.pick_dtype
    assert pick_device(FakeTorch(cuda=True)) == "cuda"
    assert pick_device(FakeTorch(cuda=False, mps=True)) == "mps"
    assert pick_device(FakeTorch(cuda=False)) == "cpu"
    assert pick_device(FakeTorch(cuda=True), "cpu") == "cpu"
    with pytest.raises(InvalidInputError, match="MPS"):
        pick_device(FakeTorch(cuda=True), "mps")
    assert pick_dtype(FakeTorch(cuda=True), "cuda") == "bf16"
    assert pick_dtype(FakeTorch(cuda=True, bf16=False), "cuda:1") == "fp16"
    assert pick_dtype(FakeTorch(cuda=False, mps=True), "mps") == "fp16"
    assert pick_dtype(FakeTorch(cuda=False), "cpu") == "fp32"
    assert pick_dtype(FakeTorch(cuda=False), "cpu", "bfloat16") == "bf16"


@pytest.mark.parametrize(("mode", "device", "vram", "expected"), [
    ("auto", "cuda", 8, "model"), ("auto", "cuda", 80, "none"), ("auto", "mps", 0, "none"),
    ("sequential", "cuda", 80, "sequential"), ("model", "cpu", 0, "none"), ("none", "cuda", 8, "none"),
])
def test_offload_mode(mode, device, vram, expected):
    backend = make_video_backend(None, offload=mode)
    assert backend._offload_mode(FakeTorch(cuda=device == "cuda", vram_gib=vram), device) == expected


@pytest.mark.parametrize(("offload", "tiling", "calls"), [
    ("model", True, ["enable_model_cpu_offload(cuda)", "vae.enable_tiling", "vae.enable_slicing"]),
    ("sequential", False, ["enable_sequential_cpu_offload(cuda)", "vae.enable_slicing"]),
    ("none", True, ["to(cuda)", "vae.enable_tiling", "vae.enable_slicing"]),
])
def test_memory_switches_use_diffusers_own_methods(modelscope_dir, monkeypatch, offload, tiling, calls):
    made: list[str] = []

    class FakeVae:
        def enable_tiling(self):
            made.append("vae.enable_tiling")

        def enable_slicing(self):
            made.append("vae.enable_slicing")

    class FakePipe:
        vae = FakeVae()

        def __call__(self, prompt=None, num_frames=16, height=None, width=None, num_inference_steps=50):
            return None

        def set_progress_bar_config(self, **kwargs):
            pass

        def enable_model_cpu_offload(self, device=None):
            made.append(f"enable_model_cpu_offload({device})")

        def enable_sequential_cpu_offload(self, device=None):
            made.append(f"enable_sequential_cpu_offload({device})")

        def to(self, device):
            made.append(f"to({device})")
            return self

    loaded_with: dict = {}

    def fake_from_pretrained(source, **options):
        loaded_with.update(options, source=source)
        return FakePipe()

    monkeypatch.setattr(diffusers.DiffusionPipeline, "from_pretrained", staticmethod(fake_from_pretrained))
    backend = make_video_backend(modelscope_dir, offload=offload, vae_tiling=tiling, variant="fp16")
    pipe, warnings = backend._load(torch, str(modelscope_dir), "cuda", torch.float16, offload)
    assert made == calls and not warnings
    assert loaded_with["source"] == str(modelscope_dir) and loaded_with["variant"] == "fp16"
    assert torch.float16 in loaded_with.values()


def test_a_pipeline_that_does_not_make_shots_is_refused(modelscope_dir, monkeypatch):
    """Video-to-video (a clip to change) and image models are not shot makers; image-to-video is (test_local_i2v)."""
    class AnimateDiffVideoToVideoPipeline:
        def __call__(self, video, prompt=None, num_frames=16, height=512, width=512):
            return None

    class StableDiffusionPipeline:
        def __call__(self, prompt=None, height=512, width=512):
            return None

    for fake in (AnimateDiffVideoToVideoPipeline, StableDiffusionPipeline):
        monkeypatch.setattr(diffusers.DiffusionPipeline, "from_pretrained",
                            staticmethod(lambda source, fake=fake, **options: fake()))
        with pytest.raises(BackendError, match="not a text-to-video or image-to-video pipeline"):
            make_video_backend(modelscope_dir)._load(torch, str(modelscope_dir), "cpu", torch.float32, "none")


def test_settings_that_change_the_frames_change_the_cache_key(tmp_path):
    from shotsmith.backends.base import GenerationRequest
    from shotsmith.backends.engine import cache_key

    request = GenerationRequest(prompt="a red kite", duration_s=1.0, resolution="360p", fps=8)
    base = DiffusersBackend(model=str(tmp_path), steps=2)
    assert cache_key(base, request) == cache_key(DiffusersBackend(model=str(tmp_path), steps=2), request)
    assert cache_key(base, request) != cache_key(DiffusersBackend(model=str(tmp_path), steps=3), request)
    assert cache_key(base, request) != cache_key(DiffusersBackend(model=str(tmp_path), steps=2, guidance_scale=7.5), request)


@pytest.mark.slow
def test_the_real_size_bench_runs_scaled_down_on_the_cpu(tmp_path):
    """bench/bench_diffusers.py --cpu-smoke: the three architectures, the backend and bare calls, the switches."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, str(root / "bench" / "bench_diffusers.py"), "--cpu-smoke"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=240,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("ltx-video", "wan2.1-1.3b", "cogvideox-2b"):
        assert f"### {name}" in done.stdout and f"{name}: backend overhead" in done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith(("| bare |", "| backend |"))]
    assert len(rows) == 6 and all("n/a" not in row for row in rows)  # both calls ran for every model
    assert "| first_block_cache |" in done.stdout and "| vae_tiling_off |" in done.stdout
    assert done.stdout.strip().splitlines()[-1].startswith("backend overhead max")
