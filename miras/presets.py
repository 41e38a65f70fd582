"""Named model sizes, the one place that knows them (like segment-anything's `sam_model_registry`)."""

from __future__ import annotations

from collections.abc import Callable

from miras.config import ConvNeXtConfig, MirasConfig, SamConfig
from miras.errors import ConfigError


def _llama(hidden: int, layers: int, heads: int, intermediate: int, max_positions: int) -> dict:
    return {
        "model_type": "llama",
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "intermediate_size": intermediate,
        "max_position_embeddings": max_positions,
        "rms_norm_eps": 1e-5,
        "vocab_size": 32000,  # replaced by the tokenizer's length when the model is built
        "tie_word_embeddings": False,
    }


def _clip(hidden: int, layers: int, heads: int, intermediate: int, image: int, patch: int) -> dict:
    return {
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "image_size": image,
        "patch_size": patch,
        "projection_dim": hidden,
    }


def tiny() -> MirasConfig:
    """Every tower about 32 wide with 2 layers on tiny images: for tests on the CPU."""
    return MirasConfig(
        name="tiny",
        clip=_clip(hidden=32, layers=2, heads=2, intermediate=64, image=32, patch=8),
        text=_llama(hidden=32, layers=2, heads=2, intermediate=64, max_positions=2048),
        convnext=ConvNeXtConfig(depths=(1, 1, 1, 1), dims=(8, 16, 32, 64), image_size=64),
        sam=SamConfig(
            image_size=64, patch_size=8, encoder_embed_dim=32, encoder_depth=2,
            encoder_num_heads=2, encoder_global_attn_indexes=(1,), window_size=4,
            prompt_dim=32, decoder_depth=2, decoder_mlp_dim=64, decoder_num_heads=2,
            iou_head_hidden_dim=32, mask_in_chans=4,
        ),
        alignment_heads=2,
        max_length=1024,
        max_new_tokens=64,
    )


def demo() -> MirasConfig:
    """The bundled CPU model: small towers at 128 px, trained on synthetic scenes."""
    return MirasConfig(
        name="demo",
        clip=_clip(hidden=128, layers=4, heads=4, intermediate=256, image=128, patch=16),
        text=_llama(hidden=256, layers=4, heads=4, intermediate=688, max_positions=1024),
        convnext=ConvNeXtConfig(depths=(1, 1, 2, 1), dims=(24, 48, 96, 192), image_size=128),
        sam=SamConfig(
            image_size=128, patch_size=8, encoder_embed_dim=96, encoder_depth=4,
            encoder_num_heads=4, encoder_global_attn_indexes=(1, 3), window_size=8,
            prompt_dim=128, decoder_depth=2, decoder_mlp_dim=512, decoder_num_heads=4,
            iou_head_hidden_dim=128, mask_in_chans=8,
        ),
        alignment_heads=4,
        max_length=1024,
        max_new_tokens=64,
    )


def miras_7b() -> MirasConfig:
    """The paper's model: CLIP-L/14-336, ConvNeXt-L (d_320) at 768 px, LLaMA-7B, SAM ViT-H."""
    return MirasConfig(
        name="miras-7b",
        clip=_clip(hidden=1024, layers=24, heads=16, intermediate=4096, image=336, patch=14)
        | {"projection_dim": 768},
        text=_llama(hidden=4096, layers=32, heads=32, intermediate=11008, max_positions=4096),
        convnext=ConvNeXtConfig(depths=(3, 3, 27, 3), dims=(192, 384, 768, 1536), image_size=768),
        sam=SamConfig(),
        alignment_heads=8,
        max_length=2048,
        max_new_tokens=512,
    )


PRESETS: dict[str, Callable[[], MirasConfig]] = {
    "tiny": tiny,
    "demo": demo,
    "miras-7b": miras_7b,
}


def preset(name: str) -> MirasConfig:
    """A fresh config for a named size; raises ConfigError listing the names."""
    try:
        return PRESETS[name]()
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
