"""The ``diffusers`` backend extends a clip (``video-extend``) with an LTX condition pipeline.

The tiny random-weight ``LTXConditionPipeline`` (``tests/backends/tiny_video_pipelines.py``) is saved
like a user's model folder and loaded through ``DiffusionPipeline.from_pretrained``; a recording
subclass shows what reached the model (the video condition: the clip's last frames at frame 0), and
the clip that comes out is decoded: the original frames first (frame-exact within codec noise), then
the new ones, at the new length, with the clip's sound kept. Through the production service a shot
made longer is extended once and bound to the longer clip; a text-only model makes the shot again
and says so.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest.importorskip("diffusers")
torch = pytest.importorskip("torch")

import av  # noqa: E402
import numpy as np  # noqa: E402

from shotsmith.assistant.events import Notice  # noqa: E402
from shotsmith.assistant.production import ProductionService, ServiceOptions  # noqa: E402
from shotsmith.backends import local_diffusion  # noqa: E402
from shotsmith.backends.base import GenerationMode, GenerationRequest  # noqa: E402
from shotsmith.backends.local_diffusion import DiffusersBackend  # noqa: E402
from shotsmith.config import Settings  # noqa: E402
from shotsmith.errors import InvalidInputError  # noqa: E402
from shotsmith.media.ffmpeg import run_ffmpeg  # noqa: E402
from shotsmith.media.probe import probe  # noqa: E402
from shotsmith.plan_edits import edit_shot  # noqa: E402
from tests.backends.diffusers_support import (  # noqa: E402, F401 (fixtures, used by name)
    decode,
    fresh_pipeline,
    make_video_backend,
    models,
    one_cpu_thread,
    tiny_model,
)
from tests.backends import tiny_video_pipelines as tiny  # noqa: E402

#: Mean absolute difference (0-255) a re-encode at CRF 16 may leave on a frame that was copied.
CODEC_NOISE = 4.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A 2 s, 32x32, 8 fps clip with a tone: 16 frames that all differ (testsrc2 moves)."""
    out = tmp_path_factory.mktemp("clip") / "shot.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=32x32:r=8:d=2", "-f", "lavfi", "-i", "sine=f=440:d=2:r=24000",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                str(out)])
    return out


def extend(clip: Path, **kwargs) -> GenerationRequest:
    values = dict(prompt="a red kite over the sea", duration_s=1.0, aspect_ratio="1:1", resolution="360p", fps=8,
                  seed=7, shot_index=1, mode=GenerationMode.VIDEO_EXTEND, extend_from=str(clip))
    values.update(kwargs)
    return GenerationRequest(**values)


def run(backend: DiffusersBackend, request: GenerationRequest, dest: Path):
    ready, warnings = backend.prepare(request)
    result = asyncio.run(backend.generate(ready, dest, on_progress=lambda e: None, cancel=threading.Event()))
    return ready, warnings, result


def test_only_a_pipeline_that_takes_a_video_condition_extends(models, clip):
    condition = make_video_backend(tiny_model(models, "ltx_condition"))
    assert GenerationMode.VIDEO_EXTEND in condition.capabilities().modes
    assert condition.extension_source("", {"clip": str(clip)}) == str(clip)
    assert condition.extension_source("", {"clip": str(clip.with_name("gone.mp4"))}) is None
    for name in ("ltx_t2v", "ltx_i2v"):
        other = make_video_backend(tiny_model(models, name))
        assert GenerationMode.VIDEO_EXTEND not in other.capabilities().modes
        assert other.extension_source("", {"clip": str(clip)}) is None
        with pytest.raises(InvalidInputError, match="does not do video-extend|cannot extend a clip"):
            other.prepare(extend(clip))


def test_the_extension_starts_from_the_clips_last_frames_and_is_the_whole_longer_clip(models, clip, monkeypatch,
                                                                                      tmp_path):
    calls = tiny.recording_pipeline(monkeypatch, "LTXConditionPipeline")
    backend = make_video_backend(tiny_model(models, "ltx_condition"))
    ready, warnings, result = run(backend, extend(clip, duration_s=1.0), tmp_path / "longer.mp4")
    original = decode(clip)
    assert original.shape == (16, 32, 32, 3)
    (call,) = calls
    (condition,) = call["conditions"]
    # The tail the VAE (4x in time) encodes whole: 9 = 2*4+1 frames, at frame 0, at the generation size.
    assert condition.frame_index == 0 and condition.strength == 1.0 and condition.image is None
    tail = np.stack([np.asarray(frame) for frame in condition.video])
    assert tail.shape == (9, 32, 32, 3)
    assert np.abs(tail.astype(int) - original[-9:].astype(int)).max() <= 2  # the very frames of the file
    # 1 s at 8 fps adds 8 frames: 9 of overlap + 8 new, a count of the form k*4+1.
    assert call["num_frames"] == 17 and not warnings
    longer = decode(Path(result.path))
    assert longer.shape == (24, 32, 32, 3)
    for index in range(16):  # the original frames first, copied
        assert np.abs(longer[index].astype(float) - original[index].astype(float)).mean() < CODEC_NOISE, index
    assert not np.array_equal(longer[16:], np.repeat(longer[15:16], 8, axis=0))  # then frames the model made
    info = probe(Path(result.path))
    assert info.duration_s == pytest.approx(3.0, abs=0.1) and result.duration_s == pytest.approx(3.0, abs=0.1)
    assert info.audio and info.audio[0].sample_rate == 24000 and result.has_audio  # the clip's sound is kept


def test_added_seconds_snap_to_what_the_vae_takes_and_say_so(models, clip, monkeypatch, tmp_path):
    calls = tiny.recording_pipeline(monkeypatch, "LTXConditionPipeline")
    backend = make_video_backend(tiny_model(models, "ltx_condition"))
    _, _, result = run(backend, extend(clip, duration_s=0.75), tmp_path / "snapped.mp4")  # 6 frames asked
    assert calls[0]["num_frames"] == 17  # 8 added (4 at a time)
    assert any("adding 8 frames" in w for w in result.warnings)
    assert decode(Path(result.path)).shape[0] == 24


def test_ltx2_condition_extends_with_the_frames_and_keeps_the_clips_sound_first(models, clip, monkeypatch,
                                                                                 tmp_path):
    calls = tiny.recording_pipeline(monkeypatch, "LTX2ConditionPipeline")
    backend = make_video_backend(tiny_model(models, "ltx2_condition"))
    _, _, result = run(backend, extend(clip, duration_s=1.0), tmp_path / "ltx2.mp4")
    (condition,) = calls[0]["conditions"]
    assert condition.index == 0 and isinstance(condition.frames, list)  # a video condition: the clip's tail
    original = decode(clip)
    tail = np.stack([np.asarray(frame) for frame in condition.frames])
    assert np.abs(tail.astype(int) - original[-len(tail):].astype(int)).max() <= 2 and len(tail) > 1
    longer = decode(Path(result.path))
    assert len(longer) == 16 + calls[0]["num_frames"] - len(tail)
    assert np.abs(longer[:16].astype(float) - original.astype(float)).mean() < CODEC_NOISE
    with av.open(str(result.path)) as container:  # the clip's 440 Hz tone first, then the model's sound
        stream = container.streams.audio[0]
        rate = stream.rate
        samples = np.concatenate([f.to_ndarray().reshape(stream.channels, -1)[0] for f in container.decode(audio=0)])
    assert len(samples) / rate == pytest.approx(len(longer) / 8, abs=0.1)
    head = samples[rate // 4: rate]  # skip the encoder's priming
    spectrum = np.abs(np.fft.rfft(head))
    assert abs(np.argmax(spectrum) * rate / len(head) - 440) < 10


def test_the_overlap_is_what_the_vae_encodes_whole_and_never_more_than_the_clip(models, clip):
    backend = make_video_backend(tiny_model(models, "ltx_condition"))
    ltx = local_diffusion.PipelineFacts(size_multiple=32, frame_step=8)  # real LTX: 8x in time
    plan = backend.plan(extend(clip, duration_s=2.0, fps=24), ltx, clip_frames=121)
    assert (plan.overlap, plan.num_frames) == (9, 9 + 48) and (plan.num_frames - 1) % 8 == 0
    short = backend.plan(extend(clip, duration_s=1.0), local_diffusion.PipelineFacts(frame_step=4), clip_frames=6)
    assert (short.overlap, short.num_frames) == (5, 13)  # a 6-frame clip gives its last 5 (4+1)
    capped = backend.plan(extend(clip, duration_s=4.0), local_diffusion.PipelineFacts(frame_step=4, max_frames=21),
                          clip_frames=40)
    assert (capped.overlap, capped.num_frames) == (9, 21) and any("adding 12 frames" in w for w in capped.warnings)
    with pytest.raises(InvalidInputError, match="at most 9 frames"):
        backend.plan(extend(clip), local_diffusion.PipelineFacts(frame_step=4, max_frames=9), clip_frames=40)


def test_a_missing_clip_is_one_clear_line(models, tmp_path):
    backend = make_video_backend(tiny_model(models, "ltx_condition"))
    ready, _ = backend.prepare(extend(tmp_path / "gone.mp4"))
    with pytest.raises(InvalidInputError, match="the clip to extend .*gone.mp4 does not exist"):
        asyncio.run(backend.generate(ready, tmp_path / "out.mp4", on_progress=lambda e: None,
                                     cancel=threading.Event()))


# -- through the production service ------------------------------------------------------------------------
BRIEF = "a 2 second shot of a red kite over the sea"


def planned(model: Path, root: Path, monkeypatch, notices: list[str]) -> ProductionService:
    config = root.parent / "shotsmith.toml"
    config.write_text(f'[backends.diffusers]\nmodel = "{model}"\nshort_side = 32\nfps = [8]\nsteps = 2\n'
                      'device = "cpu"\nmax_duration_s = 4.0\nsize_multiple = 32\n', encoding="utf-8")
    monkeypatch.setenv("SHOTSMITH_CONFIG", str(config))
    service = ProductionService.open(root, ServiceOptions(backend="diffusers", keyframes="off", auto_approve=True,
                                                          resolution="360p", fps=8),
                                     emit=lambda e: isinstance(e, Notice) and notices.append(e.text))
    service.plan_brief(BRIEF, shot_count=1)
    return service


def test_a_longer_shot_extends_its_clip_with_the_local_model(models, tmp_path, monkeypatch):
    calls = tiny.recording_pipeline(monkeypatch, "LTXConditionPipeline")
    notices: list[str] = []
    service = planned(tiny_model(models, "ltx_condition"), tmp_path / "p", monkeypatch, notices)
    assert service.generate().generated == [1]
    short = service.plan.shots[0]
    first = decode(service.store.root / short.clip)
    wanted = round(short.clip_length_s + 0.9, 3)
    service.edit(lambda p: edit_shot(p, 1, duration_s=wanted))
    result = service.generate()
    assert result.generated == [1] and len(calls) == 2
    records = [r for r in service.store.project.generations.values() if r.request.get("mode") == "video-extend"]
    assert len(records) == 1 and records[0].status == "succeeded"
    assert records[0].request["extend_from"] == str(service.store.root / short.clip)
    assert any("extending its" in n for n in notices)
    tail = np.stack([np.asarray(f) for f in calls[1]["conditions"][0].video])
    assert np.abs(tail.astype(int) - first[-len(tail):].astype(int)).max() <= 2
    shot = service.plan.shots[0]
    assert shot.clip == records[0].clip != short.clip and (service.store.root / short.clip).is_file()
    longer = decode(service.store.root / shot.clip)
    assert len(longer) == len(first) + 8  # 0.9 s at 8 fps, snapped to 8 frames
    assert np.abs(longer[: len(first)].astype(float) - first.astype(float)).mean() < CODEC_NOISE
    assert shot.clip_length_s == pytest.approx(len(longer) / 8, abs=0.02) and shot.clip_length_s >= wanted
    rendered = service.render()
    assert probe(Path(rendered.path)).duration_s == pytest.approx(wanted, abs=0.1)
    assert service.generate().generated == [] and len(calls) == 2  # bound: nothing more to make


def test_a_text_only_model_makes_the_longer_shot_again_and_says_so(models, tmp_path, monkeypatch):
    calls = tiny.recording_pipeline(monkeypatch, "LTXPipeline")
    notices: list[str] = []
    service = planned(tiny_model(models, "ltx_t2v"), tmp_path / "p", monkeypatch, notices)
    service.generate()
    short = service.plan.shots[0]
    service.edit(lambda p: edit_shot(p, 1, duration_s=round(short.clip_length_s + 0.9, 3)))
    assert service._extension_for(service.plan.shots[0], service.plan, service.backend()) is None
    assert service.generate().generated == [1]
    said = [n for n in notices if "cannot extend" in n]
    assert said and "shot 1: diffusers cannot extend a clip" in said[0] and "generated again" in said[0]
    assert len(calls) == 2 and all("conditions" not in c for c in calls)
    assert service.plan.shots[0].clip != short.clip
    assert service.plan.shots[0].clip_length_s >= short.clip_length_s + 0.9 - 0.02


# -- the Ray executor: the clip travels to the worker --------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_on_ray_the_clip_to_extend_travels_to_the_worker(models, clip, tmp_path, monkeypatch):
    from shotsmith.backends.executors import executor_scope, ray_pool
    from tests.backends.ray_support import NAMESPACE, ray_instance

    ray_instance()
    model = tiny_model(models, "ltx_condition")
    on_ray = DiffusersBackend(model=str(model), settings=Settings(executor="ray",
                                                                  ray={"namespace": NAMESPACE, "poll_s": 0.05}),
                              short_side=32, fps=[8], steps=2, device="cpu", max_duration_s=4.0)
    source = tmp_path / "shot.mp4"
    source.write_bytes(clip.read_bytes())
    read = ray_pool.request_images

    def read_then_hide(req):
        """The driver reads the clip, then it is gone: a worker can only have it from the bytes sent."""
        found = read(req)
        source.rename(tmp_path / "hidden.mp4")
        return found

    monkeypatch.setattr(ray_pool, "request_images", read_then_hide)

    async def on_the_cluster():
        with executor_scope("ray"):
            ready, _ = on_ray.prepare(extend(source))
            return await on_ray.generate(ready, tmp_path / "ray.mp4", on_progress=lambda e: None,
                                         cancel=threading.Event())

    remote = asyncio.run(on_the_cluster())
    assert not source.exists()
    monkeypatch.setattr(ray_pool, "request_images", read)
    _, _, here = run(make_video_backend(model), extend(tmp_path / "hidden.mp4"), tmp_path / "local.mp4")
    ray_frames, local_frames = decode(Path(remote.path)), decode(Path(here.path))
    assert ray_frames.shape == local_frames.shape == (24, 32, 32, 3)
    assert np.abs(ray_frames.astype(int) - local_frames.astype(int)).max() <= 2  # same clip, same seed
