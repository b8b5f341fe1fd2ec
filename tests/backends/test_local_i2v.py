"""The ``diffusers`` backend's image-to-video and audio, on tiny random-weight pipelines loaded like a user's model.

Each family is built from configs (``tests/backends/tiny_video_pipelines.py``), saved with
``save_pretrained`` and loaded through ``DiffusionPipeline.from_pretrained(folder)``. Random weights
cannot reproduce a keyframe, so the proof that the keyframe reached the model is a *spy*: the
pipeline class diffusers resolves from ``model_index.json`` is replaced by a subclass that records
its call's arguments and then runs the real pipeline (so the real ``from_pretrained`` path builds
it), and the clip that comes out is decoded and measured (frame count, size, the audio stream).
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest.importorskip("diffusers")
torch = pytest.importorskip("torch")

import av  # noqa: E402
import diffusers  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from shotsmith.backends import local_diffusion  # noqa: E402
from shotsmith.backends.base import GenerationMode, GenerationRequest, ProgressEvent  # noqa: E402
from shotsmith.backends.engine import generate_shots  # noqa: E402
from shotsmith.backends.local_diffusion import DiffusersBackend  # noqa: E402
from shotsmith.config import Settings  # noqa: E402
from shotsmith.errors import InvalidInputError  # noqa: E402
from tests.backends.diffusers_support import (  # noqa: E402, F401 (fixtures, used by name)
    fresh_pipeline,
    make_video_backend,
    models,
    one_cpu_thread,
    tiny_model,
)

RED, BLUE = (220, 20, 20), (20, 20, 220)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, str]:
    """A 3:2 keyframe, red on its left half and blue on its right (a square crop keeps both, centred),
    and a plain blue end frame."""
    folder = tmp_path_factory.mktemp("keyframes")
    key = Image.new("RGB", (96, 64), RED)
    key.paste(Image.new("RGB", (48, 64), BLUE), (48, 0))
    key.save(folder / "key.png")
    Image.new("RGB", (64, 64), BLUE).save(folder / "end.png")
    return {"key": str(folder / "key.png"), "end": str(folder / "end.png")}


def request(**kwargs) -> GenerationRequest:
    values = dict(prompt="a red kite over the sea", duration_s=1.0, aspect_ratio="1:1", resolution="360p", fps=8,
                  seed=7, shot_index=2)
    values.update(kwargs)
    return GenerationRequest(**values)


def spy(monkeypatch, name: str) -> list[dict]:
    """Make diffusers resolve ``name`` to a subclass that records each call's keywords, then runs the real one."""
    base = getattr(diffusers, name)
    calls: list[dict] = []

    class Spy(base):
        @functools.wraps(base.__call__)
        def __call__(self, *args, **kwargs):
            calls.append(kwargs)
            return base.__call__(self, *args, **kwargs)

    Spy.__name__ = Spy.__qualname__ = name  # what model_index.json names, and what the backend reads
    monkeypatch.setattr(diffusers, name, Spy)
    return calls


async def generate(backend: DiffusersBackend, req: GenerationRequest, dest: Path):
    ready, warnings = backend.prepare(req)
    events: list[ProgressEvent] = []
    result = await backend.generate(ready, dest, on_progress=events.append, cancel=threading.Event())
    return ready, warnings, result


def decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def audio_of(path: Path) -> tuple[av.audio.stream.AudioStream | None, np.ndarray | None]:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None, None
        stream = container.streams.audio[0]
        codec, rate, channels = stream.codec_context.name, stream.rate, stream.channels
        samples = np.concatenate([f.to_ndarray().reshape(channels, -1) if f.format.is_planar
                                  else f.to_ndarray().reshape(-1, channels).T for f in container.decode(audio=0)],
                                 axis=1)
    return (codec, rate, channels), samples


def is_colour(pixel, colour) -> bool:
    return all(abs(int(a) - b) < 40 for a, b in zip(pixel, colour))


# -- what each model folder offers, read before loading ------------------------------------------
@pytest.mark.parametrize("name, modes, end, audio, negative", [
    ("ltx_t2v", [GenerationMode.TEXT_TO_VIDEO], False, False, True),
    ("ltx_i2v", [GenerationMode.IMAGE_TO_VIDEO], False, False, True),
    ("ltx_condition", [GenerationMode.TEXT_TO_VIDEO, GenerationMode.IMAGE_TO_VIDEO,
                       GenerationMode.VIDEO_EXTEND], True, False, True),  # extends a clip
    ("svd", [GenerationMode.IMAGE_TO_VIDEO], False, False, False),
    ("ltx2_i2v", [GenerationMode.IMAGE_TO_VIDEO], False, True, True),
    ("ltx2_condition", [GenerationMode.TEXT_TO_VIDEO, GenerationMode.IMAGE_TO_VIDEO,
                       GenerationMode.VIDEO_EXTEND], True, True, True),  # extends a clip
    ("wan_i2v", [GenerationMode.IMAGE_TO_VIDEO], False, False, True),
    ("wan_flf2v", [GenerationMode.IMAGE_TO_VIDEO], True, False, True),  # same class, told apart by its config
    ("cogvideox_i2v", [GenerationMode.IMAGE_TO_VIDEO], False, False, True),
])
def test_capabilities_are_the_model_folders_own(models, name, modes, end, audio, negative):
    caps = make_video_backend(tiny_model(models, name)).capabilities()
    assert local_diffusion._cached is None  # read from model_index.json: nothing was loaded
    assert caps.modes == modes and caps.supports_end_image is end and caps.generates_audio is audio
    assert caps.supports_negative_prompt is negative  # SVD takes no prompt at all
    assert caps.local and not caps.costs_money and caps.long_running


def test_a_folder_that_holds_no_video_pipeline_is_reported_before_anything_runs(tmp_path):
    folder = tmp_path / "sd"
    folder.mkdir()
    (folder / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}', encoding="utf-8")
    backend = make_video_backend(folder)
    assert backend.capabilities().modes == [GenerationMode.TEXT_TO_VIDEO]  # listing it still works
    with pytest.raises(local_diffusion.BackendError, match="StableDiffusionPipeline is not a text-to-video or "
                                                           "image-to-video pipeline"):
        backend.check_ready()


def test_an_image_to_video_shot_is_priced_before_its_keyframe_exists(models):
    """``backends info`` and the estimate before the storyboard price the shot as it will be made."""
    backend = make_video_backend(tiny_model(models, "ltx_i2v"))
    cost = backend.estimate_cost(request(mode=GenerationMode.IMAGE_TO_VIDEO))
    assert cost.amount == 0 and cost.source == "local compute" and "32x32" in cost.detail


def test_the_end_frame_setting_overrides_the_reading(models):
    model = tiny_model(models, "ltx_condition")
    assert not make_video_backend(model, end_image=False).capabilities().supports_end_image
    assert not make_video_backend(tiny_model(models, "ltx_i2v"), end_image=True).capabilities().supports_end_image  # no way in


# -- the keyframe reaches the pipeline -------------------------------------------------------------
async def test_ltx_image_to_video_gets_the_keyframe_cropped_to_the_generation_size(models, images, monkeypatch,
                                                                                   tmp_path):
    calls = spy(monkeypatch, "LTXImageToVideoPipeline")
    backend = make_video_backend(tiny_model(models, "ltx_i2v"))
    ready, warnings, result = await generate(backend, request(image=images["key"]), tmp_path / "clip.mp4")
    assert ready.mode is GenerationMode.IMAGE_TO_VIDEO  # a text-to-video shot with a keyframe goes image-to-video
    assert len(calls) == 1
    image = calls[0]["image"]
    assert image.size == (32, 32) and image.mode == "RGB"
    # Cropped, not squashed: the centred square of a 96x64 half-red, half-blue frame is still half and half.
    assert is_colour(image.getpixel((4, 16)), RED) and is_colour(image.getpixel((27, 16)), BLUE)
    assert calls[0]["prompt"] == "a red kite over the sea" and calls[0]["frame_rate"] == 8
    frames = decode(Path(result.path))
    assert frames.shape == (9, 32, 32, 3)  # 1 s at 8 fps, snapped to LTX's 4k+1
    assert result.has_audio is False


async def test_ltx_condition_takes_the_first_and_the_last_frame(models, images, monkeypatch, tmp_path):
    calls = spy(monkeypatch, "LTXConditionPipeline")
    backend = make_video_backend(tiny_model(models, "ltx_condition"))
    _, warnings, result = await generate(backend, request(image=images["key"], end_image=images["end"]),
                                         tmp_path / "clip.mp4")
    assert not [w for w in warnings if "end" in w]  # the end frame was kept
    conditions = calls[0]["conditions"]
    assert [c.frame_index for c in conditions] == [0, 8]  # first and last of the 9 frames
    assert is_colour(conditions[0].image.getpixel((4, 16)), RED)
    assert is_colour(conditions[1].image.getpixel((4, 16)), BLUE) and conditions[1].image.size == (32, 32)
    assert "image" not in calls[0]
    assert decode(Path(result.path)).shape == (9, 32, 32, 3)


async def test_a_model_that_does_both_still_makes_text_to_video(models, monkeypatch, tmp_path):
    calls = spy(monkeypatch, "LTXConditionPipeline")
    _, _, result = await generate(make_video_backend(tiny_model(models, "ltx_condition")), request(), tmp_path / "t2v.mp4")
    assert "conditions" not in calls[0] and "image" not in calls[0]
    assert decode(Path(result.path)).shape == (9, 32, 32, 3)


async def test_a_different_keyframe_makes_a_different_clip(models, images, tmp_path):
    """The conditioning latent is decoded into the first frame: the image changes the pixels, not just the call."""
    backend = make_video_backend(tiny_model(models, "ltx_i2v"))
    blue = str(tmp_path / "blue.png")
    Image.new("RGB", (64, 64), BLUE).save(blue)
    _, _, a = await generate(backend, request(image=images["key"]), tmp_path / "a.mp4")
    _, _, b = await generate(backend, request(image=blue), tmp_path / "b.mp4")
    _, _, c = await generate(backend, request(image=images["key"]), tmp_path / "c.mp4")
    first_a, first_b, first_c = decode(Path(a.path))[0], decode(Path(b.path))[0], decode(Path(c.path))[0]
    assert np.abs(first_a.astype(int) - first_b.astype(int)).mean() > 1.0
    assert np.array_equal(first_a, first_c)  # same keyframe and seed: the same clip


async def test_stable_video_diffusion_animates_the_image_without_a_prompt(models, images, monkeypatch, tmp_path):
    calls = spy(monkeypatch, "StableVideoDiffusionPipeline")
    backend = make_video_backend(tiny_model(models, "svd"))
    _, warnings, result = await generate(backend, request(image=images["key"], negative_prompt="blur"),
                                         tmp_path / "svd.mp4")
    assert any("animates the start image alone; the prompt is not used" in w for w in warnings)
    assert any("negative prompt" in w for w in warnings)  # said, not silently dropped
    assert "prompt" not in calls[0] and "negative_prompt" not in calls[0]
    assert calls[0]["image"].size == (32, 32) and calls[0]["fps"] == 8
    assert decode(Path(result.path)).shape == (8, 32, 32, 3)  # SVD takes any frame count


@pytest.mark.parametrize("name, pipeline, last", [
    ("wan_i2v", "WanImageToVideoPipeline", False),
    ("wan_flf2v", "WanImageToVideoPipeline", True),
    ("cogvideox_i2v", "CogVideoXImageToVideoPipeline", False),
])
async def test_wan_and_cogvideox_get_the_keyframe_and_flf2v_the_last_frame(models, images, monkeypatch, tmp_path,
                                                                            name, pipeline, last):
    if name.startswith("wan"):
        pytest.importorskip("ftfy")  # diffusers' Wan I2V cleans prompts with it (the diffusers extra installs it)
    calls = spy(monkeypatch, pipeline)
    backend = make_video_backend(tiny_model(models, name))
    _, warnings, result = await generate(backend, request(image=images["key"], end_image=images["end"]),
                                         tmp_path / f"{name}.mp4")
    image = calls[0]["image"]
    assert image.size == (32, 32) and is_colour(image.getpixel((4, 16)), RED)
    if last:
        assert is_colour(calls[0]["last_image"].getpixel((4, 16)), BLUE)
        assert not [w for w in warnings if "end" in w]
    else:  # a first-frame-only checkpoint: the end frame is not sent, and the user is told
        assert "last_image" not in calls[0]
        assert [w for w in warnings if "end image" in w] == [
            f"shot 2: {pipeline} takes no last frame; the end image is not used (LTX condition and Wan "
            "first-last-frame models do)"]
    assert decode(Path(result.path)).shape == (9, 32, 32, 3)


async def test_a_package_the_pipeline_needs_is_named(models, images, monkeypatch, tmp_path):
    """diffusers' Wan I2V calls ftfy whenever the prompt is cleaned, without checking it is installed."""
    import importlib.util

    from diffusers.pipelines.wan import pipeline_wan_i2v

    monkeypatch.delattr(pipeline_wan_i2v, "ftfy", raising=False)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ftfy" else real(name, *a))
    backend = make_video_backend(tiny_model(models, "wan_i2v"))
    ready, _ = backend.prepare(request(image=images["key"]))
    with pytest.raises(local_diffusion.BackendError, match="WanImageToVideoPipeline needs the ftfy package") as info:
        await backend.generate(ready, tmp_path / "x.mp4", on_progress=lambda e: None, cancel=threading.Event())
    assert info.value.hint == "pip install ftfy"


# -- refusals: one clear line, nothing dropped silently -------------------------------------------
def test_a_text_to_video_model_refuses_a_keyframe(models, images):
    backend = make_video_backend(tiny_model(models, "ltx_t2v"))
    with pytest.raises(InvalidInputError) as info:
        backend.prepare(request(image=images["key"], mode=GenerationMode.IMAGE_TO_VIDEO))
    message = info.value.message
    assert message.startswith("shot 2: ") and "LTXPipeline" in message and "key.png" in message
    assert "\n" not in message and "--keyframes off" in info.value.hint
    with pytest.raises(InvalidInputError, match="text-to-video model"):  # a keyframe on a text-to-video request too
        backend.prepare(request(image=images["key"]))


async def test_an_image_to_video_model_refuses_to_make_a_shot_without_a_keyframe(models, tmp_path):
    """Planned before its keyframe exists, the shot is checked as the image-to-video it will be, and says so;
    made without one it is refused, before the model is loaded."""
    backend = make_video_backend(tiny_model(models, "svd"))
    ready, warnings = backend.prepare(request(duration_s=9.0))
    assert ready.image is None and ready.duration_s == 4.0  # the usual checks ran (duration snapped)
    assert any("makes a shot only from a start image" in w and "--keyframes off" in w for w in warnings)
    with pytest.raises(InvalidInputError, match="animates a start image and has none") as info:
        await backend.generate(ready, tmp_path / "x.mp4", on_progress=lambda e: None, cancel=threading.Event())
    assert "--keyframes auto" in info.value.hint
    assert local_diffusion._cached is None  # refused before loading anything


async def test_an_unreadable_keyframe_is_named(models, tmp_path):
    bad = tmp_path / "key.png"
    bad.write_text("not an image")
    backend = make_video_backend(tiny_model(models, "ltx_i2v"))
    ready, _ = backend.prepare(request(image=str(bad)))
    with pytest.raises(InvalidInputError, match="start image .*key.png is not an image"):
        await backend.generate(ready, tmp_path / "x.mp4", on_progress=lambda e: None, cancel=threading.Event())


# -- audio ------------------------------------------------------------------------------------------
async def test_ltx2_audio_is_muxed_into_the_clip(models, images, tmp_path):
    backend = make_video_backend(tiny_model(models, "ltx2_i2v"))
    _, _, result = await generate(backend, request(image=images["key"]), tmp_path / "ltx2.mp4")
    assert result.has_audio is True
    frames = decode(Path(result.path))
    assert frames.shape == (9, 32, 32, 3)  # LTX-2's tiny VAE: 2k+1 frames
    (codec, rate, channels), samples = audio_of(Path(result.path))
    assert codec == "aac" and channels == 2
    assert rate == 16000  # the vocoder's output_sampling_rate, not a guess
    seconds = samples.shape[1] / rate
    assert abs(seconds - 9 / 8) < 0.1  # as long as the picture (AAC frames round up a little)
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 1e-3  # not silence


async def test_ltx2_condition_keeps_both_frames_and_the_audio(models, images, monkeypatch, tmp_path):
    calls = spy(monkeypatch, "LTX2ConditionPipeline")
    backend = make_video_backend(tiny_model(models, "ltx2_condition"))
    _, warnings, result = await generate(backend, request(image=images["key"], end_image=images["end"]),
                                         tmp_path / "ltx2c.mp4")
    conditions = calls[0]["conditions"]
    assert [c.index for c in conditions] == [0, -1]  # LTX-2 counts latent frames: -1 is the last one
    assert is_colour(conditions[0].frames.getpixel((4, 16)), RED) and is_colour(conditions[1].frames.getpixel((4, 16)), BLUE)
    assert result.has_audio and audio_of(Path(result.path))[0][0] == "aac"


async def test_a_silent_request_drops_the_models_audio(models, images, tmp_path):
    backend = make_video_backend(tiny_model(models, "ltx2_i2v"))
    _, _, result = await generate(backend, request(image=images["key"], audio=False), tmp_path / "quiet.mp4")
    assert result.has_audio is False and audio_of(Path(result.path))[0] is None


# -- through the engine (the production path's job runner) -----------------------------------------
async def test_through_the_engine_the_keyframe_is_part_of_the_shot(models, images, store, monkeypatch):
    calls = spy(monkeypatch, "LTXImageToVideoPipeline")
    backend = make_video_backend(tiny_model(models, "ltx_i2v"))
    shot = request(image=images["key"], mode=GenerationMode.IMAGE_TO_VIDEO, shot_index=4)
    outcomes = await generate_shots(store, backend, [shot])
    assert outcomes[0].ok, outcomes[0].error
    assert calls and calls[0]["image"].size == (32, 32)
    assert decode(outcomes[0].clip).shape == (9, 32, 32, 3)
    again = await generate_shots(store, backend, [shot])
    assert again[0].cached and len(calls) == 1


# -- the production path, from the command line ------------------------------------------------
def test_run_animates_each_shots_storyboard_keyframes(models, tmp_path):
    """``shotsmith run`` with an LTX condition model: sketch keyframes (first and last, since the model takes a
    last frame) are made first, then each shot is generated image-to-video from its own."""
    import json
    import subprocess
    import sys

    model = tiny_model(models, "ltx_condition")
    config = tmp_path / "config.toml"
    config.write_text(f'[backends.diffusers]\nmodel = "{model}"\nshort_side = 32\nfps = [8]\nsteps = 2\n'
                      'device = "cpu"\nmax_duration_s = 3.0\nsize_multiple = 32\n')
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "SHOTSMITH_CONFIG": str(config), "OMP_NUM_THREADS": "1",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "SHOTSMITH_LOAD_PLUGINS": ""}
    done = subprocess.run([sys.executable, "-m", "shotsmith", "run", "a 4 second ad for a kite shop: a red kite "
                           "over the sea at dusk", "-o", "kite.mp4", "--backend", "diffusers", "--yes"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    project = json.loads((tmp_path / "kite.shotsmith" / "project.json").read_text(encoding="utf-8"))
    records = list(project["generations"].values())
    stills = [r for r in records if r["backend"] == "sketch"]
    shots = [r for r in records if r["backend"] == "diffusers" and r["request"]["mode"] != "video-extend"]
    assert shots and len(stills) == 2 * len(shots)  # a first and a last keyframe per shot
    # A shot longer than the model's 3 s is extended from its own clip (no keyframe of its own).
    assert all(r["request"]["mode"] == "video-extend" for r in records if r["backend"] == "diffusers"
               and r not in shots)
    for record in shots:
        req = record["request"]
        assert req["mode"] == "image-to-video" and Path(req["image"]).is_file() and Path(req["end_image"]).is_file()
        assert f"shot{req['shot_index']:02d}" in Path(req["image"]).name  # the shot's own keyframe
        assert record["status"] == "succeeded"
    assert decode(tmp_path / "kite.mp4").shape[0] > 0


# -- the Ray executor: the keyframe travels to the actor --------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_on_ray_the_keyframe_travels_to_the_worker(models, images, tmp_path, monkeypatch):
    from shotsmith.backends.executors import executor_scope, ray_pool
    from tests.backends.ray_support import NAMESPACE, ray_instance

    ray_instance()
    model = tiny_model(models, "ltx_i2v")
    local = make_video_backend(model)
    on_ray = DiffusersBackend(model=str(model), settings=Settings(executor="ray",
                                                                  ray={"namespace": NAMESPACE, "poll_s": 0.05}),
                              short_side=32, fps=[8], steps=2, device="cpu", max_duration_s=4.0)
    key = tmp_path / "keyframe.png"
    key.write_bytes(Path(images["key"]).read_bytes())
    read = ray_pool.request_images

    def read_then_hide(req):
        """The driver reads the keyframe, then it is gone: a worker can only have it from the bytes sent."""
        found = read(req)
        key.rename(tmp_path / "hidden.png")
        return found

    monkeypatch.setattr(ray_pool, "request_images", read_then_hide)

    async def on_the_cluster():
        with executor_scope("ray"):
            return (await generate(on_ray, request(image=str(key)), tmp_path / "ray.mp4"))[2]

    remote = asyncio.run(on_the_cluster())
    assert not key.exists()
    monkeypatch.setattr(ray_pool, "request_images", read)
    _, _, here = asyncio.run(generate(local, request(image=str(tmp_path / "hidden.png")), tmp_path / "local.mp4"))
    # The worker made the same clip as this process from the same keyframe and seed: it had the image.
    assert np.abs(decode(Path(remote.path)).astype(int) - decode(Path(here.path)).astype(int)).max() <= 2
    with executor_scope("ray"), pytest.raises(InvalidInputError, match="start image .*keyframe.png cannot be read"):
        asyncio.run(generate(on_ray, request(image=str(key), prompt="another shot"), tmp_path / "gone.mp4"))
