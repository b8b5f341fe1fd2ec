"""Tiny random-weight image-to-video pipelines, built from configs and saved like a real model folder.

The image-to-video families the ``diffusers`` backend supports (LTX-Video image-to-video and
condition, Stable Video Diffusion, LTX-2 with its audio), each built with seeded random weights
at diffusers' own dummy-component sizes and written with ``save_pretrained``, so the backend loads
them through ``DiffusionPipeline.from_pretrained(folder)`` exactly like a user's model. Nothing
comes from a hub: the T5 text encoder is built from a ``T5Config`` with a word-level tokenizer
written here, LTX-2's Gemma 3 encoder from a ``Gemma3Config`` with a word-level Gemma tokenizer,
and SVD's CLIP image encoder from a ``CLIPVisionConfig``. Importing this needs the ``diffusers``
extra (torch, diffusers, transformers).
"""

from __future__ import annotations

from pathlib import Path

import diffusers
import torch
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers

#: The words the test prompts use (anything else is <unk>, which a random-weight model does not mind).
WORDS = "a the of cat on mat lighthouse at dusk waves sea slow pan over city night rain red kite".split()


def word_tokenizer(cls: type = transformers.PreTrainedTokenizerFast, *, specials: dict[str, str] | None = None,
                   max_length: int = 128) -> transformers.PreTrainedTokenizerFast:
    """A word-level fast tokenizer (no sentencepiece model to download), padding like the model's own."""
    specials = specials or {"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"}
    vocab: dict[str, int] = {}
    for token in [*dict.fromkeys(specials.values()), *WORDS]:
        vocab.setdefault(token, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token=specials["unk_token"]))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return cls(tokenizer_object=tok, model_max_length=max_length, **specials)


def tiny_t5(hidden: int = 32, cls: type = transformers.T5EncoderModel) -> transformers.PreTrainedModel:
    """A one-layer T5 encoder (LTX, CogVideoX); ``cls=UMT5EncoderModel`` for Wan."""
    torch.manual_seed(0)
    config = transformers.UMT5Config if cls.__name__.startswith("UMT5") else transformers.T5Config
    return cls(config(
        d_model=hidden, d_kv=8, d_ff=37, num_layers=1, num_heads=4, vocab_size=64, relative_attention_num_buckets=8,
        feed_forward_proj="gated-gelu", is_encoder_decoder=False, dropout_rate=0.0))


def _ltx_components() -> dict:
    """LTX-Video at diffusers' dummy sizes: 8 latent channels, a four-level VAE (8x spatial, 4x temporal)."""
    torch.manual_seed(0)
    transformer = diffusers.LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4, attention_head_dim=8,
        cross_attention_dim=32, num_layers=1, caption_channels=32)
    torch.manual_seed(0)
    vae = diffusers.AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False), decoder_inject_noise=(False,) * 5,
        upsample_residual=(False,) * 4, upsample_factor=(1,) * 4, timestep_conditioning=False, patch_size=1,
        patch_size_t=1, encoder_causal=True, decoder_causal=False)
    return dict(transformer=transformer, vae=vae, scheduler=diffusers.FlowMatchEulerDiscreteScheduler(),
                text_encoder=tiny_t5(32), tokenizer=word_tokenizer())


def build_ltx_i2v(folder: Path) -> Path:
    """``LTXImageToVideoPipeline``: the start image only."""
    diffusers.LTXImageToVideoPipeline(**_ltx_components()).save_pretrained(str(folder))
    return folder


def build_ltx_condition(folder: Path) -> Path:
    """``LTXConditionPipeline``: text-to-video, or conditioned on a first and a last frame."""
    diffusers.LTXConditionPipeline(**_ltx_components()).save_pretrained(str(folder))
    return folder


def build_ltx_t2v(folder: Path) -> Path:
    """``LTXPipeline``: text-to-video only (an image request must be refused)."""
    diffusers.LTXPipeline(**_ltx_components()).save_pretrained(str(folder))
    return folder


def build_svd(folder: Path) -> Path:
    """Stable Video Diffusion: a CLIP image encoder, a spatio-temporal UNet and a temporal-decoder VAE; no prompt."""
    torch.manual_seed(0)
    unet = diffusers.UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=32, in_channels=8, out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"), cross_attention_dim=32,
        num_attention_heads=8, projection_class_embeddings_input_dim=96, addition_time_embed_dim=32)
    scheduler = diffusers.EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", interpolation_type="linear",
        num_train_timesteps=1000, prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002, steps_offset=1,
        timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True)
    torch.manual_seed(0)
    vae = diffusers.AutoencoderKLTemporalDecoder(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                                                 down_block_types=["DownEncoderBlock2D"] * 2, latent_channels=4)
    torch.manual_seed(0)
    image_encoder = transformers.CLIPVisionModelWithProjection(transformers.CLIPVisionConfig(
        hidden_size=32, projection_dim=32, num_hidden_layers=2, num_attention_heads=4, image_size=224,
        intermediate_size=37, patch_size=32))  # SVD resizes the image to 224 itself
    feature_extractor = transformers.CLIPImageProcessor(crop_size=32, size=32)
    diffusers.StableVideoDiffusionPipeline(unet=unet, image_encoder=image_encoder, scheduler=scheduler, vae=vae,
                                           feature_extractor=feature_extractor).save_pretrained(str(folder))
    return folder


def tiny_gemma3(hidden: int = 32, layers: int = 2) -> transformers.Gemma3ForConditionalGeneration:
    """Gemma 3 (LTX-2's text encoder) with a tiny text tower and a tiny SigLIP vision tower it never uses."""
    torch.manual_seed(0)
    text = transformers.Gemma3TextConfig(vocab_size=64, hidden_size=hidden, intermediate_size=32,
                                         num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=1,
                                         head_dim=8, max_position_embeddings=256, sliding_window=64,
                                         pad_token_id=0, eos_token_id=1, bos_token_id=2)
    vision = transformers.SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                             num_attention_heads=2, image_size=16, patch_size=8)
    config = transformers.Gemma3Config(text_config=text.to_dict(), vision_config=vision.to_dict(), mm_tokens_per_image=4,
                                       boi_token_index=3, eoi_token_index=4, image_token_index=5)
    return transformers.Gemma3ForConditionalGeneration(config)


def build_ltx2_i2v(folder: Path, pipeline: str = "LTX2ImageToVideoPipeline") -> Path:
    """``LTX2ImageToVideoPipeline``: video *and* audio (an audio VAE and a vocoder), at diffusers' dummy sizes."""
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    text_encoder = tiny_gemma3()
    text = text_encoder.config.text_config
    tokenizer = word_tokenizer(transformers.GemmaTokenizerFast,
                               specials={"pad_token": "<pad>", "eos_token": "<eos>", "bos_token": "<bos>",
                                         "unk_token": "<unk>"}, max_length=64)
    torch.manual_seed(0)
    transformer = diffusers.LTX2VideoTransformer3DModel(
        in_channels=4, out_channels=4, patch_size=1, patch_size_t=1, num_attention_heads=2, attention_head_dim=8,
        cross_attention_dim=16, audio_in_channels=4, audio_out_channels=4, audio_num_attention_heads=2,
        audio_attention_head_dim=4, audio_cross_attention_dim=8, num_layers=2, qk_norm="rms_norm_across_heads",
        caption_channels=text.hidden_size, rope_double_precision=False, rope_type="split")
    torch.manual_seed(0)
    connectors = LTX2TextConnectors(
        caption_channels=text.hidden_size, text_proj_in_factor=text.num_hidden_layers + 1,
        video_connector_num_attention_heads=4, video_connector_attention_head_dim=8, video_connector_num_layers=1,
        video_connector_num_learnable_registers=None, audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None, connector_rope_base_seq_len=32, rope_theta=10000.0,
        rope_double_precision=False, causal_temporal_positioning=False, rope_type="split")
    torch.manual_seed(0)
    vae = diffusers.AutoencoderKLLTX2Video(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8,), decoder_block_out_channels=(8,),
        layers_per_block=(1,), decoder_layers_per_block=(1, 1), spatio_temporal_scaling=(True,),
        decoder_spatio_temporal_scaling=(True,), decoder_inject_noise=(False, False), downsample_type=("spatial",),
        upsample_residual=(False,), upsample_factor=(1,), timestep_conditioning=False, patch_size=1, patch_size_t=1,
        encoder_causal=True, decoder_causal=False)
    torch.manual_seed(0)
    audio_vae = diffusers.AutoencoderKLLTX2Audio(
        base_channels=4, output_channels=2, ch_mult=(1,), num_res_blocks=1, attn_resolutions=None, in_channels=2,
        resolution=32, latent_channels=2, norm_type="pixel", causality_axis="height", dropout=0.0,
        mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160, is_causal=True, mel_bins=8)
    torch.manual_seed(0)
    vocoder = LTX2Vocoder(in_channels=2 * 8, hidden_channels=32, out_channels=2, upsample_kernel_sizes=[4, 4],
                          upsample_factors=[2, 2], resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]],
                          leaky_relu_negative_slope=0.1, output_sampling_rate=16000)
    getattr(diffusers, pipeline)(
        transformer=transformer, vae=vae, audio_vae=audio_vae, scheduler=diffusers.FlowMatchEulerDiscreteScheduler(),
        text_encoder=text_encoder, tokenizer=tokenizer, connectors=connectors, vocoder=vocoder,
    ).save_pretrained(str(folder))
    return folder


def build_wan_i2v(folder: Path, *, first_last_frame: bool = False) -> Path:
    """``WanImageToVideoPipeline`` (Wan 2.1 I2V) at diffusers' dummy sizes; ``first_last_frame`` makes it an
    FLF2V checkpoint: the image embedder has a position embedding for two images (``pos_embed_seq_len``)."""
    torch.manual_seed(0)
    vae = diffusers.AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                                     temperal_downsample=[False, True, True])
    image_tokens = (32 // 8) ** 2 + 1  # CLIP at 32 px in 8 px patches, plus its class token
    torch.manual_seed(0)
    transformer = diffusers.WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32, image_dim=4, pos_embed_seq_len=2 * image_tokens if first_last_frame else None)
    torch.manual_seed(0)
    image_encoder = transformers.CLIPVisionModel(transformers.CLIPVisionConfig(
        hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2, image_size=32,
        intermediate_size=16, patch_size=8))
    diffusers.WanImageToVideoPipeline(
        transformer=transformer, vae=vae, scheduler=diffusers.FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder=tiny_t5(32, transformers.UMT5EncoderModel), tokenizer=word_tokenizer(), image_encoder=image_encoder,
        image_processor=transformers.CLIPImageProcessor(crop_size=32, size=32),
    ).save_pretrained(str(folder))
    return folder


def build_wan_flf2v(folder: Path) -> Path:
    """Wan 2.1 first-last-frame-to-video: the same pipeline class, told apart by its transformer's config."""
    return build_wan_i2v(folder, first_last_frame=True)


def build_cogvideox_i2v(folder: Path) -> Path:
    """``CogVideoXImageToVideoPipeline`` at diffusers' dummy sizes: the image latent joins the noise (8 channels in)."""
    torch.manual_seed(0)
    transformer = diffusers.CogVideoXTransformer3DModel(
        num_attention_heads=4, attention_head_dim=16, in_channels=8, out_channels=4, time_embed_dim=2,
        text_embed_dim=32, num_layers=1, sample_width=4, sample_height=4, sample_frames=9, patch_size=2,
        temporal_compression_ratio=4, max_text_seq_length=16, use_rotary_positional_embeddings=True,
        use_learned_positional_embeddings=False)
    torch.manual_seed(0)
    vae = diffusers.AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), latent_channels=4,
        layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4)
    diffusers.CogVideoXImageToVideoPipeline(
        transformer=transformer, vae=vae, scheduler=diffusers.CogVideoXDDIMScheduler(), text_encoder=tiny_t5(32),
        tokenizer=word_tokenizer(),
    ).save_pretrained(str(folder))
    return folder


def build_ltx2_condition(folder: Path) -> Path:
    """``LTX2ConditionPipeline``: LTX-2 with ``conditions`` (first and last frame), text-to-video without them."""
    return build_ltx2_i2v(folder, "LTX2ConditionPipeline")


def recording_pipeline(monkeypatch, name: str) -> list[dict]:
    """Make diffusers resolve ``name`` (what ``model_index.json`` names) to a subclass that records each
    call's keywords, then runs the real pipeline, so the real ``from_pretrained`` path builds it."""
    import functools

    base = getattr(diffusers, name)
    calls: list[dict] = []

    class Recording(base):
        @functools.wraps(base.__call__)
        def __call__(self, *args, **kwargs):
            calls.append(kwargs)
            return base.__call__(self, *args, **kwargs)

    Recording.__name__ = Recording.__qualname__ = name  # what the backend reads the modes from
    monkeypatch.setattr(diffusers, name, Recording)
    return calls
