"""Tiny random-weight diffusers pipelines, built from configs and saved like a real model folder.

Shared by the diffusers backend's tests, the Ray executor's tests and ``bench/bench_ray.py``:
each pipeline is built with seeded random weights (diffusers' own ``get_dummy_components``
pattern) and written with ``save_pretrained``, so it loads through the same
``DiffusionPipeline.from_pretrained(folder)`` path as a user's model. Nothing comes from a
hub: even the CLIP tokenizer is a BPE vocabulary written here. Importing this needs the
``diffusers`` extra (torch, diffusers, transformers).
"""

from __future__ import annotations

import json
from pathlib import Path

import diffusers
import torch
from diffusers import AnimateDiffPipeline, AutoencoderKL, DDIMScheduler, MotionAdapter, UNet2DConditionModel, UNet3DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer


class PipelineUnavailable(RuntimeError):
    """This diffusers no longer ships the pipeline class (tests skip on it)."""

def _byte_chars() -> list[str]:
    """CLIP's byte-to-unicode table: every byte as a printable character (the BPE alphabet)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = list(printable), 0
    for b in range(256):
        if b not in printable:
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


def tiny_clip_tokenizer(folder: Path) -> CLIPTokenizer:
    """A CLIP BPE tokenizer from a vocabulary written here: every byte, its end-of-word form, a few merges."""
    merges = ["t h", "th e</w>", "c a", "ca t</w>", "o n</w>"]
    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for token in [*_byte_chars(), *(c + "</w>" for c in _byte_chars()), *(m.replace(" ", "") for m in merges)]:
        vocab.setdefault(token, len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return CLIPTokenizer.from_pretrained(str(folder), model_max_length=77)


def tiny_text_encoder(hidden: int) -> CLIPTextModel:
    torch.manual_seed(0)
    return CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=hidden,
                                        intermediate_size=16, layer_norm_eps=1e-5, num_attention_heads=2,
                                        num_hidden_layers=2, vocab_size=1000, hidden_act="gelu"))


def build_modelscope(folder: Path, *, unet_blocks: tuple[int, int] = (4, 8), vae_blocks: int = 1) -> Path:
    """ModelScope's TextToVideoSDPipeline: UNet3D + one-block VAE + CLIP, a few thousand weights.

    ``vae_blocks=5`` gives the VAE a real model's spatial compression (16x), so a 360p frame is cheap to
    denoise on a CPU and its size snaps to the model's multiple of 16, as a real model's does."""
    # Deprecated in diffusers (frozen since 0.33) but still the legacy-callback case; skip if it is ever removed.
    pipeline_class = getattr(diffusers, "TextToVideoSDPipeline", None)
    if pipeline_class is None:
        raise PipelineUnavailable("this diffusers no longer ships TextToVideoSDPipeline")
    torch.manual_seed(0)
    unet = UNet3DConditionModel(block_out_channels=unet_blocks, layers_per_block=1, sample_size=32, in_channels=4,
                                out_channels=4, down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
                                up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"), cross_attention_dim=4,
                                attention_head_dim=4, norm_num_groups=2)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False)
    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=(8,) * vae_blocks, in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * vae_blocks,
                        up_block_types=["UpDecoderBlock2D"] * vae_blocks, latent_channels=4, sample_size=32,
                        norm_num_groups=2)
    pipe = pipeline_class(unet=unet, scheduler=scheduler, vae=vae, text_encoder=tiny_text_encoder(4),
                                 tokenizer=tiny_clip_tokenizer(folder.parent / f"{folder.name}-tokenizer"))
    pipe.save_pretrained(str(folder))
    return folder


def build_animatediff(folder: Path) -> Path:
    """AnimateDiff: a UNet2D with a motion adapter whose modules see at most 16 frames."""
    torch.manual_seed(0)
    blocks = (8, 8)
    unet = UNet2DConditionModel(block_out_channels=blocks, layers_per_block=1, sample_size=16, in_channels=4,
                                out_channels=4, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=8,
                                norm_num_groups=2)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear", clip_sample=False)
    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=blocks, in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                        latent_channels=4, norm_num_groups=2)
    torch.manual_seed(0)
    adapter = MotionAdapter(block_out_channels=blocks, motion_layers_per_block=1, motion_norm_num_groups=2,
                            motion_num_attention_heads=2, motion_max_seq_length=16)
    pipe = AnimateDiffPipeline(unet=unet, scheduler=scheduler, vae=vae, text_encoder=tiny_text_encoder(8),
                               tokenizer=tiny_clip_tokenizer(folder.parent / f"{folder.name}-tokenizer"),
                               motion_adapter=adapter)
    pipe.save_pretrained(str(folder))
    return folder
