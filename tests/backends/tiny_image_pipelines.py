"""A tiny random-weight Stable Diffusion text-to-image pipeline, saved like a real model folder.

For the ``diffusers-image`` backend's tests: the same recipe as
:mod:`tests.backends.tiny_pipelines` (seeded random weights, diffusers' own
``get_dummy_components`` pattern, the CLIP tokenizer and text encoder built
there) for a ``StableDiffusionPipeline``, written with ``save_pretrained`` so it
loads through ``AutoPipelineForText2Image.from_pretrained(folder)`` exactly as a
user's SD 1.5 folder does. The VAE has four blocks, so it downsamples by 8 like a
real one and the backend snaps sizes to the same multiple it would on SD 1.5.
Importing this needs the ``diffusers`` extra.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel

from tests.backends.tiny_pipelines import tiny_clip_tokenizer, tiny_text_encoder

#: Width of the text encoder's hidden states, which the UNet cross-attends to.
TEXT_HIDDEN = 8


def build_stable_diffusion(folder: Path) -> Path:
    """SD 1.5's architecture in miniature: UNet2D (8/8 channels), a 4-block VAE (scale factor 8), CLIP text."""
    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(8, 8), layers_per_block=1, sample_size=16, in_channels=4,
                                out_channels=4, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=TEXT_HIDDEN,
                                attention_head_dim=4, norm_num_groups=2)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=(8, 8, 8, 8), in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                        latent_channels=4, layers_per_block=1, norm_num_groups=2, sample_size=64)
    pipe = StableDiffusionPipeline(unet=unet, scheduler=scheduler, vae=vae, text_encoder=tiny_text_encoder(TEXT_HIDDEN),
                                   tokenizer=tiny_clip_tokenizer(folder.parent / f"{folder.name}-tokenizer"),
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(str(folder))
    return folder


def shared_stable_diffusion(tmp_path_factory) -> Path:
    """The tiny SD folder for this test session, built once however many test modules ask for it."""
    folder = tmp_path_factory.getbasetemp() / "tiny-image-models" / "tiny-sd"
    if not (folder / "model_index.json").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        build_stable_diffusion(folder)
    return folder
