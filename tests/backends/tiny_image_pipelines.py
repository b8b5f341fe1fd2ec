"""Tiny random-weight text-to-image pipelines (Stable Diffusion 1.5 and 3), saved like real model folders.

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

import string
from pathlib import Path

import torch
from diffusers import (AutoencoderKL, DDIMScheduler, FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel,
                       StableDiffusion3Pipeline, StableDiffusionPipeline, UNet2DConditionModel)
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import CLIPTextConfig, CLIPTextModelWithProjection, T5Config, T5EncoderModel, T5TokenizerFast

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


def tiny_t5_tokenizer() -> T5TokenizerFast:
    """A T5 tokenizer (Unigram, SentencePiece-style word starts) from a vocabulary made here: letters, digits,
    punctuation and word-initial letters, with T5's pad/eos/unk ids 0/1/2."""
    letters = string.ascii_letters
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0),
             *((c, -3.0) for c in letters + string.digits + string.punctuation),
             *(("\u2581" + c, -2.5) for c in letters)]
    model = Tokenizer(models.Unigram(vocab, unk_id=2))
    model.pre_tokenizer = pre_tokenizers.Metaspace()
    model.decoder = decoders.Metaspace()
    return T5TokenizerFast(tokenizer_object=model, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", extra_ids=0)


def build_stable_diffusion_3(folder: Path) -> Path:
    """SD3's architecture in miniature: an MMDiT with patch size 2 over a scale-8 VAE (so sizes snap to 16),
    two CLIP text encoders with projections and a T5 encoder, flow-matching scheduler."""
    def clip() -> CLIPTextModelWithProjection:
        torch.manual_seed(0)
        return CLIPTextModelWithProjection(CLIPTextConfig(
            bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=16, intermediate_size=16, layer_norm_eps=1e-5,
            num_attention_heads=2, num_hidden_layers=2, vocab_size=1000, hidden_act="gelu", projection_dim=16))

    torch.manual_seed(0)
    transformer = SD3Transformer2DModel(sample_size=16, patch_size=2, in_channels=4, out_channels=4, num_layers=1,
                                        attention_head_dim=8, num_attention_heads=2, caption_projection_dim=16,
                                        joint_attention_dim=32, pooled_projection_dim=32, pos_embed_max_size=96)
    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=(8, 8, 8, 8), in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                        latent_channels=4, layers_per_block=1, norm_num_groups=2, sample_size=64,
                        use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.0609, scaling_factor=1.5035)
    torch.manual_seed(0)
    t5 = T5EncoderModel(T5Config(vocab_size=128, d_model=32, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                                 pad_token_id=0, eos_token_id=1, decoder_start_token_id=0))
    clip_tokenizer = tiny_clip_tokenizer(folder.parent / f"{folder.name}-tokenizer")
    pipe = StableDiffusion3Pipeline(transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae,
                                    text_encoder=clip(), tokenizer=clip_tokenizer, text_encoder_2=clip(),
                                    tokenizer_2=clip_tokenizer, text_encoder_3=t5, tokenizer_3=tiny_t5_tokenizer())
    pipe.save_pretrained(str(folder))
    return folder
