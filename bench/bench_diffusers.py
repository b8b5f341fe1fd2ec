"""Real-size video diffusion on this machine's accelerator: the diffusers backend against a bare pipeline call.

For LTX-Video (0.9), Wan2.1-T2V-1.3B and CogVideoX-2B it builds the *published
architecture* (the config.json values of each model repository's transformer,
VAE and text encoder, written below) with random weights, so nothing is
downloaded and the compute is the real model's. It then times a fixed number
of denoising steps at the model's documented resolution and frame count:

* ``bare``: ``pipe(prompt=..., num_frames, height, width, num_inference_steps)``
  with the same arguments the backend computes for the shot;
* ``backend``: ``DiffusersBackend.run_blocking`` (plan and snap the request,
  step callback for progress and cancel, frames to uint8, H.264 encode, probe);
  the overhead is ``backend - bare - encode``, and the encode is shown apart;
* the memory switches, each through the backend's own settings or diffusers'
  own API: model and sequential CPU offload, VAE tiling off, ``torch.compile``
  of the denoiser (compile time shown apart), FirstBlockCache and FasterCache
  (where diffusers has them for that model).

Each row gives seconds per step, the wall time, peak accelerator memory and
the time against ``bare``. A switch a model or a device cannot do says why.

``--cpu-smoke`` runs the same code on scaled-down configs (1-2 layers, 64x64,
9 frames, 2 steps) on the CPU, so CI runs it (tests/backends/test_local_diffusion.py).

    .venv/bin/python bench/bench_diffusers.py                 # every model, on CUDA
    .venv/bin/python bench/bench_diffusers.py --model wan2.1-1.3b --steps 4
    .venv/bin/python bench/bench_diffusers.py --cpu-smoke
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import diffusers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

from shotsmith.backends.base import GenerationRequest  # noqa: E402
from shotsmith.backends.local_diffusion import DiffusersBackend, clear_pipeline_cache, pipeline_facts  # noqa: E402
from shotsmith.config import Settings  # noqa: E402

# -- published configurations ------------------------------------------------------------------
#: google/t5-v1_1-xxl's encoder (LTX-Video, CogVideoX) and google/umt5-xxl's (Wan2.1).
T5_XXL = dict(d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64, relative_attention_num_buckets=32,
              relative_attention_max_distance=128, feed_forward_proj="gated-gelu", vocab_size=32128,
              layer_norm_epsilon=1e-6, dropout_rate=0.0, is_encoder_decoder=False)
UMT5_XXL = dict(T5_XXL, vocab_size=256384)


@dataclass
class ModelSpec:
    """One published model: its pipeline class, components' classes and configs, and its documented shot."""

    pipeline: str
    transformer: tuple[str, dict]
    vae: tuple[str, dict]
    text_encoder: tuple[str, dict]  # transformers class, config dict
    scheduler: tuple[str, dict]
    width: int
    height: int
    frames: int
    fps: int
    aspect: str  # the request's aspect ratio (the backend snaps the size to the model's multiple)
    smoke: dict = field(default_factory=dict)  # overrides for --cpu-smoke


MODELS: dict[str, ModelSpec] = {
    # Lightricks/LTX-Video 0.9: transformer/config.json, vae/config.json, scheduler_config.json; 704x480, 161 frames.
    "ltx-video": ModelSpec(
        pipeline="LTXPipeline",
        transformer=("LTXVideoTransformer3DModel", dict(
            in_channels=128, out_channels=128, patch_size=1, patch_size_t=1, num_attention_heads=32,
            attention_head_dim=64, cross_attention_dim=2048, num_layers=28, activation_fn="gelu-approximate",
            qk_norm="rms_norm_across_heads", norm_elementwise_affine=False, norm_eps=1e-6, caption_channels=4096,
            attention_bias=True, attention_out_bias=True)),
        vae=("AutoencoderKLLTXVideo", dict(
            in_channels=3, out_channels=3, latent_channels=128, block_out_channels=(128, 256, 512, 512),
            decoder_block_out_channels=(128, 256, 512, 512), layers_per_block=(4, 3, 3, 3, 4),
            decoder_layers_per_block=(4, 3, 3, 3, 4), spatio_temporal_scaling=(True, True, True, False),
            decoder_spatio_temporal_scaling=(True, True, True, False), decoder_inject_noise=(False,) * 5,
            upsample_residual=(False,) * 4, upsample_factor=(1,) * 4, timestep_conditioning=False, patch_size=4,
            patch_size_t=1, resnet_norm_eps=1e-6, scaling_factor=1.0, encoder_causal=True, decoder_causal=False)),
        text_encoder=("T5EncoderModel", T5_XXL),
        scheduler=("FlowMatchEulerDiscreteScheduler", dict(
            num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=False, base_shift=0.95, max_shift=2.05,
            base_image_seq_len=1024, max_image_seq_len=4096)),
        width=704, height=480, frames=161, fps=24, aspect="16:9",
        smoke=dict(
            transformer=dict(in_channels=8, out_channels=8, num_attention_heads=2, attention_head_dim=8,
                             cross_attention_dim=16, num_layers=2, caption_channels=32),
            vae=dict(latent_channels=8, block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
                     layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1, 1),
                     spatio_temporal_scaling=(True, True, False, False),
                     decoder_spatio_temporal_scaling=(True, True, False, False), patch_size=1),
            width=64, height=64, frames=9, fps=8, aspect="1:1")),
    # Wan-AI/Wan2.1-T2V-1.3B-Diffusers: dim 1536 = 12 heads x 128, ffn 8960, 30 layers; 832x480, 81 frames at 16 fps.
    "wan2.1-1.3b": ModelSpec(
        pipeline="WanPipeline",
        transformer=("WanTransformer3DModel", dict(
            patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
            text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
            qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)),
        vae=("AutoencoderKLWan", dict(base_dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                                      temperal_downsample=[False, True, True], dropout=0.0)),
        text_encoder=("UMT5EncoderModel", UMT5_XXL),
        scheduler=("UniPCMultistepScheduler", dict(
            num_train_timesteps=1000, prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0,
            solver_order=2, solver_type="bh2", lower_order_final=True)),
        width=832, height=480, frames=81, fps=16, aspect="16:9",
        smoke=dict(
            transformer=dict(num_attention_heads=2, attention_head_dim=12, text_dim=32, ffn_dim=32, num_layers=2,
                             rope_max_seq_len=32),
            vae=dict(base_dim=3, dim_mult=[1, 1, 1, 1], num_res_blocks=1),
            width=64, height=64, frames=9, fps=8, aspect="1:1")),
    # THUDM/CogVideoX-2b: 30 heads x 64, 30 layers, time_embed_dim 512, fp16 in the release; 720x480, 49 frames at 8 fps.
    "cogvideox-2b": ModelSpec(
        pipeline="CogVideoXPipeline",
        transformer=("CogVideoXTransformer3DModel", dict(
            num_attention_heads=30, attention_head_dim=64, in_channels=16, out_channels=16, flip_sin_to_cos=True,
            freq_shift=0, time_embed_dim=512, text_embed_dim=4096, num_layers=30, dropout=0.0, attention_bias=True,
            sample_width=90, sample_height=60, sample_frames=49, patch_size=2, temporal_compression_ratio=4,
            max_text_seq_length=226, activation_fn="gelu-approximate", timestep_activation_fn="silu",
            norm_elementwise_affine=True, norm_eps=1e-5, spatial_interpolation_scale=1.875,
            temporal_interpolation_scale=1.0, use_rotary_positional_embeddings=False,
            use_learned_positional_embeddings=False)),
        vae=("AutoencoderKLCogVideoX", dict(
            in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
            up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(128, 256, 256, 512), latent_channels=16,
            layers_per_block=3, act_fn="silu", norm_eps=1e-6, norm_num_groups=32, temporal_compression_ratio=4,
            sample_height=480, sample_width=720, scaling_factor=1.15258426)),
        text_encoder=("T5EncoderModel", T5_XXL),
        scheduler=("CogVideoXDDIMScheduler", dict(
            beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
            set_alpha_to_one=True, prediction_type="v_prediction", rescale_betas_zero_snr=True, snr_shift_scale=3.0,
            timestep_spacing="trailing", steps_offset=0)),
        width=720, height=480, frames=49, fps=8, aspect="16:9",
        smoke=dict(
            transformer=dict(num_attention_heads=2, attention_head_dim=8, in_channels=4, out_channels=4,
                             time_embed_dim=2, text_embed_dim=32, num_layers=2, sample_width=8, sample_height=8,
                             sample_frames=9),
            vae=dict(block_out_channels=(8, 8, 8, 8), latent_channels=4, layers_per_block=1, norm_num_groups=2,
                     sample_height=64, sample_width=64),
            width=64, height=64, frames=9, fps=8, aspect="1:1")),
}
SMOKE_TEXT = dict(d_model=32, d_kv=8, d_ff=37, num_layers=1, num_heads=4, vocab_size=1000)


# -- building ----------------------------------------------------------------------------------
def word_tokenizer(vocab_size: int) -> transformers.PreTrainedTokenizerFast:
    """A word-level fast tokenizer (no sentencepiece file to download); pads to the pipeline's max length like T5's."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = "a the of cat on mat lighthouse at dusk waves sea slow pan over city night rain".split()
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(words)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    assert len(vocab) <= vocab_size
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                                unk_token="<unk>", model_max_length=512)


@contextmanager
def default_dtype(dtype):
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def build(spec: ModelSpec, device: str, dtype, smoke: bool):
    """The pipeline with random weights, built directly on ``device`` in ``dtype`` (fast, no CPU copy)."""
    t_cls, t_cfg = spec.transformer
    v_cls, v_cfg = spec.vae
    e_cls, e_cfg = spec.text_encoder
    s_cls, s_cfg = spec.scheduler
    if smoke:
        t_cfg, v_cfg, e_cfg = {**t_cfg, **spec.smoke["transformer"]}, {**v_cfg, **spec.smoke["vae"]}, {**e_cfg, **SMOKE_TEXT}
    torch.manual_seed(0)
    with torch.device(device), default_dtype(dtype):
        transformer = getattr(diffusers, t_cls)(**t_cfg)
        vae = getattr(diffusers, v_cls)(**v_cfg)
        config_cls = transformers.UMT5Config if e_cls.startswith("UMT5") else transformers.T5Config
        text_encoder = getattr(transformers, e_cls)(config_cls(**e_cfg))
    pipe = getattr(diffusers, spec.pipeline)(transformer=transformer, vae=vae, text_encoder=text_encoder,
                                             tokenizer=word_tokenizer(e_cfg["vocab_size"]),
                                             scheduler=getattr(diffusers, s_cls)(**s_cfg))
    return pipe.to(device=device, dtype=dtype)


# -- timing ------------------------------------------------------------------------------------
@dataclass
class Row:
    variant: str
    seconds: float | None = None
    steps: int = 0
    peak_gib: float | None = None
    note: str = ""


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure(device: str, fn) -> tuple[float, float | None]:
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    sync(device)
    started = time.perf_counter()
    fn()
    sync(device)
    elapsed = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None
    return elapsed, peak


def best_of(device: str, fn, repeat: int) -> tuple[float, float | None]:
    """The fastest of ``repeat`` runs (and its peak memory): on a shared machine the minimum is the code's cost."""
    return min((measure(device, fn) for _ in range(max(1, repeat))), key=lambda r: r[0])


def bench_model(name: str, spec: ModelSpec, *, device: str, dtype, steps: int, smoke: bool, variants: list[str],
                folder: Path, repeat: int = 1) -> list[Row]:
    shape = spec.smoke if smoke else {"width": spec.width, "height": spec.height, "frames": spec.frames,
                                      "fps": spec.fps, "aspect": spec.aspect}
    t0 = time.perf_counter()
    pipe = build(spec, device, dtype, smoke)
    print(f"  built {name} ({sum(p.numel() for p in pipe.transformer.parameters()) / 1e9:.2f} B denoiser params) "
          f"in {time.perf_counter() - t0:.1f} s", flush=True)
    dtype_name = str(dtype).removeprefix("torch.")

    def backend_for(**options) -> DiffusersBackend:
        return DiffusersBackend(model=f"bench:{name}", settings=Settings(), device=device, dtype=dtype_name,
                                steps=steps, fps=[shape["fps"]], short_side=min(shape["width"], shape["height"]),
                                max_duration_s=60.0, **{"offload": "none", "vae_tiling": True, "vae_slicing": True,
                                                        **options})

    request = GenerationRequest(prompt="a slow pan over the sea at dusk", duration_s=shape["frames"] / shape["fps"],
                                aspect_ratio=shape["aspect"], resolution="480p", fps=shape["fps"], seed=1, shot_index=1)
    be = backend_for()
    be.adopt_pipeline(be.model, pipe)
    plan = be.plan(be.prepare(request)[0], pipeline_facts(pipe, be.settings))
    print(f"  shot: {plan.width}x{plan.height}, {plan.num_frames} frames, {steps} steps "
          f"(documented {spec.width}x{spec.height}, {spec.frames} frames)", flush=True)

    last: dict = {}

    def bare() -> None:
        last["output"] = pipe(prompt=plan.prompt, num_frames=plan.num_frames, height=plan.height, width=plan.width,
             num_inference_steps=steps, generator=torch.Generator("cpu").manual_seed(1), output_type="np")

    def through(backend: DiffusersBackend):
        dest = folder / f"{name}.mp4"

        def run() -> None:
            dest.unlink(missing_ok=True)
            backend.run_blocking(backend.prepare(request)[0], dest, backend.model, lambda e: None, threading.Event())
        return run

    rows: list[Row] = []
    bare()  # warm-up: kernels, allocator, the first call's lazy setup
    for variant in variants:
        row = Row(variant, steps=steps)
        try:
            if variant == "bare":
                row.seconds, row.peak_gib = best_of(device, bare, repeat)
            elif variant == "backend":
                if "output" not in last:
                    bare()
                encode = min(_encode_seconds(last["output"], plan, folder) for _ in range(max(1, repeat)))
                row.seconds, row.peak_gib = best_of(device, through(be), repeat)
                row.note = f"encode {encode:.2f} s"
            elif variant in ("model_offload", "sequential_offload", "vae_tiling_off"):
                if variant != "vae_tiling_off" and not device.startswith("cuda"):
                    raise _NotHere("offload needs a CUDA device")
                options = {"model_offload": {"offload": "model"}, "sequential_offload": {"offload": "sequential"},
                           "vae_tiling_off": {"vae_tiling": False, "vae_slicing": False}}[variant]
                switched = backend_for(**options)
                _reset(pipe, device)
                switched.adopt_pipeline(switched.model, pipe)
                row.seconds, row.peak_gib = measure(device, through(switched))
                _reset(pipe, device)
                be.adopt_pipeline(be.model, pipe)
            elif variant == "compile":
                original = pipe.transformer
                pipe.transformer = torch.compile(original)
                try:
                    first, _ = measure(device, bare)
                    row.seconds, row.peak_gib = measure(device, bare)
                    row.note = f"first call (compiling) {first:.1f} s"
                finally:
                    pipe.transformer = original
            elif variant in ("first_block_cache", "faster_cache"):
                if not hasattr(pipe.transformer, "enable_cache"):
                    raise _NotHere(f"{type(pipe.transformer).__name__} has no cache hooks in this diffusers")
                pipe.transformer.enable_cache(_cache_config(variant, pipe))
                try:
                    row.seconds, row.peak_gib = measure(device, bare)
                finally:
                    pipe.transformer.disable_cache()
            else:
                raise _NotHere(f"unknown variant {variant}")
        except _NotHere as exc:
            row.note = f"n/a: {exc}"
        except Exception as exc:  # a switch this model or diffusers cannot do: say why, go on
            row.note = f"n/a: {type(exc).__name__}: {str(exc).splitlines()[0][:100] if str(exc) else ''}"
            if os.environ.get("BENCH_DEBUG"):
                traceback.print_exc()
        rows.append(row)
        print(f"    {variant}: {row.seconds if row.seconds is None else round(row.seconds, 3)} s {row.note}", flush=True)
    clear_pipeline_cache()  # the backend's reference; ours goes with this frame
    gc.collect()
    return rows


class _NotHere(Exception):
    pass


def _reset(pipe, device: str) -> None:
    """Undo an offload's hooks and put the whole pipeline back on ``device``."""
    if hasattr(pipe, "remove_all_hooks"):
        pipe.remove_all_hooks()
    pipe.to(device)


def _cache_config(variant: str, pipe):
    if variant == "first_block_cache":
        return diffusers.FirstBlockCacheConfig(threshold=0.2)
    return diffusers.FasterCacheConfig(
        spatial_attention_block_skip_range=2, spatial_attention_timestep_skip_range=(-1, 681),
        current_timestep_callback=lambda: pipe.current_timestep, attention_weight_callback=lambda _: 0.3,
        unconditional_batch_skip_range=5, unconditional_batch_timestep_skip_range=(-1, 781),
        tensor_format="BFCHW" if "CogVideoX" in type(pipe).__name__ else "BCFHW")


def _encode_seconds(output, plan, folder: Path) -> float:
    """What writing the bare call's frames to H.264 costs alone (the backend does it; a bare call does not)."""
    from shotsmith.backends.local_diffusion import encode_mp4, frames_to_uint8

    frames = frames_to_uint8(output.frames if hasattr(output, "frames") else output[0])
    started = time.perf_counter()
    encode_mp4(frames, folder / "encode.mp4", plan.fps)
    return time.perf_counter() - started


# -- report ------------------------------------------------------------------------------------
def report(results: dict[str, list[Row]]) -> list[float]:
    overheads = []
    for name, rows in results.items():
        by = {r.variant: r for r in rows}
        bare = by.get("bare")
        print(f"\n### {name}\n\n| variant | s/step | wall s | peak GiB | vs bare | note |\n|---|---:|---:|---:|---:|---|")
        for row in rows:
            if row.seconds is None:
                print(f"| {row.variant} | | | | | {row.note} |")
                continue
            ratio = f"{row.seconds / bare.seconds:.2f}x" if bare and bare.seconds else ""
            peak = f"{row.peak_gib:.1f}" if row.peak_gib is not None else "-"
            print(f"| {row.variant} | {row.seconds / row.steps:.3f} | {row.seconds:.2f} | {peak} | {ratio} | {row.note} |")
        backend = by.get("backend")
        if bare and backend and bare.seconds and backend.seconds:
            encode = float(backend.note.split()[1])
            overhead = 100 * (backend.seconds - bare.seconds - encode) / bare.seconds
            overheads.append(overhead)
            print(f"\n{name}: backend overhead {overhead:.1f}% of the bare call "
                  f"(encode {100 * encode / bare.seconds:.1f}% more)")
    return overheads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", choices=sorted(MODELS), help="repeatable; default all")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps timed (default 10; 2 with --cpu-smoke)")
    parser.add_argument("--variant", action="append", help="repeatable; default every one the device can run")
    parser.add_argument("--cpu-smoke", action="store_true", help="scaled-down configs on the CPU (CI)")
    parser.add_argument("--repeat", type=int, default=1, help="time bare and backend this many times; the best counts")
    args = parser.parse_args()
    if args.cpu_smoke:
        device, dtype, steps = "cpu", torch.float32, args.steps or 2
        torch.set_num_threads(1)
        variants = args.variant or ["bare", "backend", "vae_tiling_off", "first_block_cache", "faster_cache"]
    else:
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA device: run on a GPU machine, or use --cpu-smoke")
        device, steps = "cuda", args.steps or 10
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        variants = args.variant or ["bare", "backend", "vae_tiling_off", "model_offload", "sequential_offload",
                                    "first_block_cache", "faster_cache", "compile"]
        print(f"device: {torch.cuda.get_device_name(0)}, {dtype}", flush=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-diffusers-") as tmp:
        for name in args.model or list(MODELS):
            print(f"{name}:", flush=True)
            results[name] = bench_model(name, MODELS[name], device=device, dtype=dtype, steps=steps,
                                        smoke=args.cpu_smoke, variants=variants, folder=Path(tmp),
                                        repeat=args.repeat)
    overheads = report(results)
    if overheads:
        print(f"\nbackend overhead max {max(overheads):.1f}%")


if __name__ == "__main__":
    main()
