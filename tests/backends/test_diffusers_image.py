"""The ``diffusers-image`` backend on a tiny random-weight Stable Diffusion pipeline, loaded as a user's model is.

The pipeline (tests/backends/tiny_image_pipelines.py) is built from configs with
seeded random weights and saved with ``save_pretrained``; the backend loads it
through ``AutoPipelineForText2Image.from_pretrained(folder)`` and makes
reference frames with ``AutoPipelineForImage2Image.from_pipe`` on the same
components. The pictures are noise (random weights), but everything around them
is real: sizes, seeds, strength, the PNG, the engine's cache, cancel, and the
CLI from a brief to a contact sheet and an MP4.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

# Every load below is from a local folder; the hub must never be asked.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest.importorskip("diffusers")
torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from shotsmith.backends import diffusers_image, registry  # noqa: E402
from shotsmith.backends.base import GenerationMode, GenerationRequest, MediaKind, ProgressEvent, Reference  # noqa: E402
from shotsmith.backends.diffusers_image import DiffusersImageBackend  # noqa: E402
from shotsmith.backends.download import verify_image  # noqa: E402
from shotsmith.backends.engine import cache_key, generate_shots  # noqa: E402
from shotsmith.config import Settings  # noqa: E402
from shotsmith.errors import BackendError, CancelledError, InvalidInputError  # noqa: E402
from shotsmith.media.probe import probe  # noqa: E402
from shotsmith.testing.conformance import reference_image  # noqa: E402
from tests.backends.diffusers_support import generate_recorded, one_cpu_thread  # noqa: E402, F401 (a fixture)
from tests.backends.tiny_image_pipelines import build_stable_diffusion_3, shared_stable_diffusion  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sd_dir(tmp_path_factory) -> Path:
    return shared_stable_diffusion(tmp_path_factory)


@pytest.fixture(scope="module")
def sd3_dir(tmp_path_factory) -> Path:
    return build_stable_diffusion_3(tmp_path_factory.mktemp("models") / "tiny-sd3")


def make_backend(model: Path | None, **options) -> DiffusersImageBackend:
    defaults = dict(short_side=64, steps=4, device="cpu")
    return DiffusersImageBackend(model=str(model) if model else None, settings=Settings(), **{**defaults, **options})


def still(**kwargs) -> GenerationRequest:
    values = dict(prompt="the cat on the mat", mode=GenerationMode.TEXT_TO_IMAGE, duration_s=3.0,
                  aspect_ratio="16:9", resolution="360p", seed=7, shot_index=1)
    values.update(kwargs)
    return GenerationRequest(**values)


def run(backend: DiffusersImageBackend, request: GenerationRequest, dest: Path, cancel: threading.Event | None = None,
        on_event=None):
    return asyncio.run(generate_recorded(backend, request, dest, cancel, on_event))


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(np.int16)


def steps_run(events: list[ProgressEvent]) -> int:
    """The denoising steps the pipeline reported ("step k/N" -> N)."""
    totals = {int(e.message.split("/")[1]) for e in events if e.message.startswith("step ")}
    assert len(totals) == 1, [e.message for e in events]
    return totals.pop()


# -- registration, configuration ------------------------------------------------------------
def test_registered_listable_without_a_model_and_asks_before_using_the_gpu(monkeypatch):
    monkeypatch.setenv("SHOTSMITH_CONFIG", "/nonexistent/config.toml")
    backend = registry.get_backend("diffusers-image")
    assert isinstance(backend, DiffusersImageBackend) and backend.model is None
    caps = backend.capabilities()
    assert caps.modes == [GenerationMode.TEXT_TO_IMAGE, GenerationMode.REFERENCE_TO_IMAGE]
    assert caps.kinds == {MediaKind.IMAGE} and caps.max_references == 1 and caps.max_concurrency == 1
    assert caps.supports_seed and caps.supports_negative_prompt
    assert caps.local and not caps.costs_money and caps.long_running and caps.needs_approval  # fails closed
    cost = backend.estimate_cost(still())
    assert cost.amount == 0 and cost.unit == "USD" and cost.source == "local compute"
    assert "640x360" in cost.detail  # 16:9 at 360p, on the default multiple of 8


def test_missing_model_is_a_clear_error():
    backend = make_backend(None)
    for call in (backend.check_ready, lambda: backend.prepare(still())):
        with pytest.raises(BackendError, match="diffusers-image backend has no model") as info:
            call()
        assert "[backends.diffusers-image] model" in info.value.hint


def test_model_and_settings_come_from_the_config_table(sd_dir):
    settings = Settings(backends={"diffusers-image": {"model": str(sd_dir), "steps": 3, "strength": 0.4}})
    backend = DiffusersImageBackend(settings=settings)
    assert backend.model == str(sd_dir) and backend.settings.steps == 3 and backend.settings.strength == 0.4
    assert DiffusersImageBackend(model="elsewhere", settings=settings).model == "elsewhere"  # a keyword wins


@pytest.mark.parametrize("options, message", [({"fps": [8]}, "fps is a video setting"),
                                              ({"max_duration_s": 2.0}, "max_duration_s is a video setting"),
                                              ({"strength": 1.5}, "strength"), ({"dtype": "float64"}, "dtype"),
                                              ({"step": 3}, "step")])
def test_bad_or_video_only_settings_are_refused_by_name(options, message):
    with pytest.raises(InvalidInputError, match=message) as info:
        make_backend(None, **options)
    assert info.value.message.startswith("[backends.diffusers-image]")
    assert "strength" in info.value.hint and "fps" not in info.value.hint  # the keys of this table


def test_bad_model_folders_are_one_clear_line(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "video").mkdir()
    (tmp_path / "video" / "model_index.json").write_text(json.dumps({"_class_name": "TextToVideoSDPipeline",
                                                                     "_diffusers_version": "0.42.1"}))
    cases = [(tmp_path / "nowhere", InvalidInputError, "does not exist"),
             (tmp_path / "empty", InvalidInputError, "no model_index.json"),
             (tmp_path / "video", BackendError, "as a text-to-image pipeline")]
    for folder, error, message in cases:
        backend = make_backend(folder)
        with pytest.raises(error, match=message) as info:
            run(backend, still(), tmp_path / "x.png")
        assert "\n" not in info.value.message and not (tmp_path / "x.png").exists()
        if error is InvalidInputError:
            with pytest.raises(error, match=message):
                backend.check_ready()  # before anyone is asked to approve


# -- text-to-image ------------------------------------------------------------------------
def test_text_to_image_through_the_engine_writes_a_png_of_the_snapped_size_and_caches_it(sd_dir, store):
    backend = make_backend(sd_dir, short_side=60)
    request = still()
    first = asyncio.run(generate_shots(store, backend, [request]))[0]
    assert first.ok, first.error
    assert first.kind is MediaKind.IMAGE and first.clip.suffix == ".png"
    checked = verify_image(first.clip)
    assert (checked.width, checked.height) == (104, 64)  # 107x60 snapped to the VAE's multiple of 8
    assert any("107x60 is not a multiple of 8; generating 104x64" in w for w in first.warnings)
    again = asyncio.run(generate_shots(store, backend, [request]))[0]
    assert again.cached and again.clip == first.clip
    stronger = make_backend(sd_dir, short_side=60, strength=0.3)
    assert cache_key(stronger, request) != cache_key(backend, request)  # settings that change pixels change the key


def test_size_follows_the_requests_aspect_and_resolution(sd_dir, tmp_path):
    backend = make_backend(sd_dir, short_side=None, steps=1)
    result, events = run(backend, still(aspect_ratio="4:5", resolution="360p"), tmp_path / "tall.png")
    assert (result.width, result.height) == (360, 448)  # 360x450, the height snapped to 448
    assert verify_image(tmp_path / "tall.png").height == 448 and result.kind is MediaKind.IMAGE
    assert any("360x450" in w for w in result.warnings)
    percents = [e.percent for e in events if e.percent is not None]
    assert percents == sorted(percents) and percents[-1] == 100


def test_plan_refuses_what_the_pipeline_would_refuse_with_the_shot_named(tmp_path):
    backend = make_backend(tmp_path)
    for request, message in [(still(prompt="   "), "prompt is empty"), (still(seed=2**64), "seed .* out of range"),
                             (still(mode=GenerationMode.TEXT_TO_VIDEO), "makes stills, not text-to-video")]:
        with pytest.raises(InvalidInputError, match=f"shot 1: .*{message}"):
            backend.plan_image(request)
    with pytest.raises(InvalidInputError, match="too large"):
        make_backend(tmp_path, short_side=4096).plan_image(still())
    plan = make_backend(tmp_path, short_side=None, steps=9, guidance_scale=0.0).plan_image(still(), 16, 50)
    assert (plan.width, plan.height, plan.steps, plan.guidance_scale) == (640, 352, 9, 0.0)  # 360 lies halfway: round() takes the even 22 x 16
    assert plan.reference is None and plan.strength is None


def test_same_seed_same_image_and_another_seed_another(sd_dir, tmp_path):
    backend = make_backend(sd_dir)
    run(backend, still(seed=11), tmp_path / "a.png")
    run(backend, still(seed=11), tmp_path / "b.png")
    run(backend, still(seed=12), tmp_path / "c.png")
    assert np.array_equal(pixels(tmp_path / "a.png"), pixels(tmp_path / "b.png"))
    assert not np.array_equal(pixels(tmp_path / "a.png"), pixels(tmp_path / "c.png"))


def test_the_negative_prompt_reaches_the_pipeline(sd_dir, tmp_path):
    backend = make_backend(sd_dir)
    run(backend, still(), tmp_path / "plain.png")
    result, _ = run(backend, still(negative_prompt="blurry, text"), tmp_path / "negative.png")
    assert not any("negative" in w for w in result.warnings)
    assert not np.array_equal(pixels(tmp_path / "plain.png"), pixels(tmp_path / "negative.png"))


def test_a_prompt_longer_than_the_text_encoder_reads_says_so(sd_dir, tmp_path):
    result, _ = run(make_backend(sd_dir, steps=1), still(prompt="a baker at dawn " * 12), tmp_path / "long.png")
    assert any("reads the first 77" in w and "not used" in w for w in result.warnings), result.warnings


def test_another_family_through_the_same_door_sd3_snaps_to_its_patch_multiple(sd_dir, sd3_dir, tmp_path):
    """SD3 (an MMDiT with 2x2 patches over a scale-8 VAE) loads through the same AutoPipeline and needs sides
    that are multiples of 16, where SD 1.5 needs 8; its img2img takes a size and gets the frame's, not its default."""
    square = still(aspect_ratio="1:1")
    sd, _ = run(make_backend(sd_dir, short_side=72, steps=2), square, tmp_path / "sd.png")
    assert (sd.width, sd.height) == (72, 72) and not sd.warnings
    backend = make_backend(sd3_dir, short_side=72, steps=2)
    made, _ = run(backend, square, tmp_path / "sd3.png")
    assert type(backend.pipeline(str(sd3_dir))[0]).__name__ == "StableDiffusion3Pipeline"
    checked = verify_image(tmp_path / "sd3.png")
    assert (made.width, made.height) == (checked.width, checked.height) == (64, 64)
    assert any("not a multiple of 16; generating 64x64" in w for w in made.warnings), made.warnings
    face = reference_image(tmp_path, "mara")
    guided, _ = run(backend, still(aspect_ratio="4:5", references=[Reference(path=str(face), tag="Mara")]),
                    tmp_path / "sd3-guided.png")
    assert (guided.width, guided.height) == (64, 96)  # 72x90 snapped; SD3's img2img would default to 128x128
    assert type(diffusers_image._img2img[backend.pipeline(str(sd3_dir))[0]]).__name__ == \
        "StableDiffusion3Img2ImgPipeline"


def test_packed_latent_pipelines_snap_to_twice_the_vae_factor():
    """FLUX-like pipelines pack 2x2 latents into tokens: their sides must be multiples of 2 x the VAE factor."""
    class Flux:
        vae_scale_factor = 8

        def _pack_latents(self):  # what FLUX and its kin have
            ...

        def __call__(self, prompt, num_inference_steps: int = 28):
            ...

    class Sd:
        vae_scale_factor = 8

        def __call__(self, prompt, num_inference_steps: int = 50):
            ...

    settings = make_backend(None).settings
    assert diffusers_image.size_multiple(Flux(), settings) == 16
    assert diffusers_image.size_multiple(Sd(), settings) == 8
    assert diffusers_image.size_multiple(Flux(), settings.model_copy(update={"size_multiple": 32})) == 32


# -- reference-to-image --------------------------------------------------------------------
def test_a_reference_runs_img2img_on_the_same_components_with_the_strength_asked(sd_dir, tmp_path):
    backend = make_backend(sd_dir, strength=0.5)
    face = reference_image(tmp_path, "mara")
    text, _ = run(backend, still(), tmp_path / "text.png")
    request = still(references=[Reference(path=str(face), tag="Mara")])
    ready, warnings = backend.prepare(request)
    assert ready.mode is GenerationMode.REFERENCE_TO_IMAGE and not warnings
    guided, events = run(backend, request, tmp_path / "guided.png")
    assert (guided.width, guided.height) == (text.width, text.height) == (112, 64)
    pipe, _ = backend.pipeline(str(sd_dir))
    img2img = diffusers_image._img2img[pipe]
    assert type(pipe).__name__ == "StableDiffusionPipeline"
    assert type(img2img).__name__ == "StableDiffusionImg2ImgPipeline"
    assert img2img.unet is pipe.unet and img2img.vae is pipe.vae  # loaded once, shared
    assert steps_run(events) == 2  # 4 steps at strength 0.5
    assert not np.array_equal(pixels(tmp_path / "text.png"), pixels(tmp_path / "guided.png"))
    # the reference's weight sets the strength (weight 0.75 -> strength 0.25 -> one of four steps)
    light = still(references=[Reference(path=str(face), tag="Mara", weight=0.75)])
    _, events = run(backend, light, tmp_path / "light.png")
    assert steps_run(events) == 1
    # and the picture is read: another reference, another image (same seed, same prompt)
    other = reference_image(tmp_path, "other", colour=(20, 160, 220))
    run(backend, still(references=[Reference(path=str(other), tag="Mara")]), tmp_path / "other.png")
    assert not np.array_equal(pixels(tmp_path / "guided.png"), pixels(tmp_path / "other.png"))


def test_too_few_steps_for_the_strength_are_raised_with_a_warning(sd_dir, tmp_path):
    face = reference_image(tmp_path, "mara")
    backend = make_backend(sd_dir, steps=2, strength=0.2)
    result, events = run(backend, still(references=[Reference(path=str(face), tag="Mara")]), tmp_path / "r.png")
    assert any("running 5 steps" in w for w in result.warnings), result.warnings
    assert steps_run(events) == 1


def test_references_beyond_one_are_dropped_with_a_warning_and_a_missing_one_is_refused(sd_dir, tmp_path):
    backend = make_backend(sd_dir)
    refs = [Reference(path=str(reference_image(tmp_path, name)), tag=name) for name in ("Mara", "Cafe")]
    ready, warnings = backend.prepare(still(references=refs))
    assert [r.tag for r in ready.references] == ["Mara"] and any("Cafe" in w for w in warnings)
    with pytest.raises(InvalidInputError, match="does not exist"):
        backend.prepare(still(references=[Reference(path=str(tmp_path / "gone.png"), tag="Ghost")]))
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(InvalidInputError, match="not an image"):
        backend.prepare(still(references=[Reference(path=str(tmp_path / "notes.png"), tag="Notes")]))


def test_with_the_ray_executor_stills_still_run_here_and_say_so(sd_dir, tmp_path):
    backend = DiffusersImageBackend(model=str(sd_dir), settings=Settings(executor="ray"), short_side=64, steps=1,
                                    device="cpu")
    assert backend.executor() == "ray" and backend.capabilities().max_concurrency == 1
    result, _ = run(backend, still(), tmp_path / "here.png")
    assert verify_image(tmp_path / "here.png").width == 112
    assert any("Ray executor is for video" in w for w in result.warnings)


# -- cancel ---------------------------------------------------------------------------------
def test_cancel_before_start_loads_nothing(tmp_path):
    cancel = threading.Event()
    cancel.set()
    backend = make_backend(tmp_path / "not-even-there")
    with pytest.raises(CancelledError):
        asyncio.run(backend.generate(still(), tmp_path / "x.png", on_progress=lambda e: None, cancel=cancel))


def test_cancel_stops_between_steps_and_writes_nothing(sd_dir, tmp_path):
    backend = make_backend(sd_dir, steps=6)
    cancel = threading.Event()

    def on_event(event: ProgressEvent) -> None:
        if event.message.startswith("step 1/"):
            cancel.set()

    with pytest.raises(CancelledError):
        run(backend, still(), tmp_path / "x.png", cancel=cancel, on_event=on_event)
    assert not (tmp_path / "x.png").exists()


# -- the CLI, from a brief to the contact sheet and the MP4 --------------------------------------
def _cli(args: list[str], config: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SHOTSMITH_CONFIG": str(config), "OMP_NUM_THREADS": "1",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "SHOTSMITH_LOAD_PLUGINS": ""}
    return subprocess.run([sys.executable, "-m", "shotsmith", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300, stdin=subprocess.DEVNULL)


def test_storyboard_and_run_with_keyframes_from_the_model_folder(sd_dir, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[backends.diffusers-image]\nmodel = "{sd_dir}"\nshort_side = 64\nsteps = 2\n'
                      'device = "cpu"\n')
    brief = "a 4 second ad for a bakery: fresh bread at dawn, a baker smiling, 2 shots"
    refused = _cli(["storyboard", brief, "-p", "sb", "-o", "board.png", "--image-backend", "diffusers-image",
                    "-r", "360p"], config, tmp_path)
    assert refused.returncode == 3 and "needs approval" in refused.stderr and "long GPU time" in refused.stderr
    made = _cli(["storyboard", "-p", "sb", "-o", "board.png", "--image-backend", "diffusers-image", "-r", "360p",
                 "--yes"], config, tmp_path)
    assert made.returncode == 0, made.stderr
    stills = sorted((tmp_path / "sb" / "clips").glob("diffusers-image-shot*.png"))
    assert len(stills) == 2 and all(verify_image(s).width == 112 for s in stills)
    # a cast member's picture guides her shots: reference-to-image, through img2img, from the storyboard command
    reference_image(tmp_path, "mara")
    added = _cli(["cast", "add", "Mara", "mara.png", "-d", "a woman with short red hair", "-p", "sb"], config, tmp_path)
    assert added.returncode == 0, added.stderr
    cast = _cli(["storyboard", "a 4 second ad where @mara pours coffee in a small cafe, 2 shots", "-p", "sb", "-o",
                 "cast.png", "--image-backend", "diffusers-image", "-r", "360p", "--yes"], config, tmp_path)
    assert cast.returncode == 0, cast.stderr
    records = json.loads((tmp_path / "sb" / "project.json").read_text())["generations"].values()
    guided = [r for r in records if r["request"]["mode"] == "reference-to-image"]
    assert guided and all([ref["tag"] for ref in r["request"]["references"]] == ["Mara"] for r in guided)
    assert all(verify_image(tmp_path / "sb" / r["clip"]).width == 112 for r in guided)
    with Image.open(tmp_path / "board.png") as sheet:
        assert sheet.width > 400
        # the panels are the model's pictures (noise from random weights), not grey "no keyframe" boxes
        panel = np.asarray(sheet.convert("RGB").crop((20, 20, 200, 120))).astype(np.int16)
        assert panel.std() > 10
    video = _cli(["run", brief, "-o", "out/ad.mp4", "--backend", "animatic", "--image-backend", "diffusers-image",
                  "--keyframes", "auto", "-r", "360p", "--yes"], config, tmp_path)
    assert video.returncode == 0, video.stderr
    info = probe(tmp_path / "out" / "ad.mp4")
    assert info.video is not None and (info.video.width, info.video.height) == (640, 360)
    assert abs(info.duration_s - 4.0) < 0.3
    assert list((tmp_path / "out" / "ad.shotsmith" / "clips").glob("diffusers-image-shot*.png"))
    # a model folder that is not there: one line, usage exit code, no traceback
    config.write_text(f'[backends.diffusers-image]\nmodel = "{tmp_path / "missing"}"\n')
    broken = _cli(["storyboard", brief, "-p", "sb2", "-o", "b2.png", "--image-backend", "diffusers-image", "--yes"],
                  config, tmp_path)
    assert broken.returncode == 2, broken.stderr
    assert "does not exist" in broken.stderr and "Traceback" not in broken.stderr
