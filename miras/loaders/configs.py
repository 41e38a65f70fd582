"""A component folder's `config.json`, read as a transformers config and compared with ours."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from miras.errors import CheckpointError

if TYPE_CHECKING:
    from transformers import PretrainedConfig

CONFIG_FILE = "config.json"
# The sizes a preset names: a checkpoint must agree on them (the other towers depend on them).
CLIP_SIZES = (
    "hidden_size",
    "image_size",
    "patch_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
)
TEXT_SIZES = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "intermediate_size",
)
# Numerics that travel with the weights: a model built for other values computes something else.
CLIP_DETAILS = ("model_type", "hidden_act", "layer_norm_eps", "num_channels")
TEXT_DETAILS = (
    "model_type",
    "hidden_act",
    "rms_norm_eps",
    "rope_parameters",
    "tie_word_embeddings",
)
# Flat LLaVA / Mini-Gemini / MIRAS configs hold LLaMA fields beside their own `mm_*` ones.
_FLAT_LLAVA_TYPES = ("llava", "llava_llama", "mgm")
_NOT_ARCHITECTURE = {
    "transformers_version",
    "architectures",
    "dtype",
    "torch_dtype",
    "_name_or_path",
    "auto_map",
}


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"expected {path.name} in {path.parent}, but there is none")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path} is not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} holds no JSON object")
    return data


def config_object(data: dict[str, Any], default_type: str, source: str) -> PretrainedConfig:
    """A transformers config from a dict (legacy keys such as `rope_theta` are converted)."""
    from transformers import AutoConfig

    data = {"model_type": default_type, **data}
    try:
        return AutoConfig.for_model(**data)
    # transformers reports bad configs with ValueError, TypeError or huggingface_hub's
    # StrictDataclassError (not a ValueError); all mean the same to the user.
    except Exception as err:
        raise CheckpointError(f"the config in {source} cannot be read: {err}") from err


def config_dict(config: PretrainedConfig) -> dict[str, Any]:
    """The architecture part of a config, as `MirasConfig.text` / `.clip` keep it."""
    from transformers import PretrainedConfig

    generic = PretrainedConfig().to_dict()
    return {
        key: value
        for key, value in config.to_dict().items()
        if key not in _NOT_ARCHITECTURE and not (key in generic and generic[key] == value)
    }


def text_config(folder: Path) -> PretrainedConfig:
    """The language model's config in a LLaMA, LLaVA (either layout) or MIRAS-export folder."""
    raw = read_json(folder / CONFIG_FILE)
    source = str(folder / CONFIG_FILE)
    if "text_config" in raw:  # transformers LlavaConfig
        return config_object(raw["text_config"] or {}, "llama", source)
    if raw.get("model_type") in _FLAT_LLAVA_TYPES or any(key.startswith("mm_") for key in raw):
        return config_object(_llama_fields(raw), "llama", source)
    return config_object(raw, "llama", source)


def vision_config(folder: Path) -> PretrainedConfig:
    """The CLIP vision config of a CLIPVisionModel, CLIPModel or transformers LLaVA folder."""
    raw = read_json(folder / CONFIG_FILE)
    nested = raw.get("vision_config")
    return config_object(
        nested if nested is not None else raw, "clip_vision_model", str(folder / CONFIG_FILE)
    )


def _llama_fields(raw: dict[str, Any]) -> dict[str, Any]:
    from transformers import LlamaConfig

    known = set(LlamaConfig().to_dict()) | {"rope_theta", "rope_scaling"}  # legacy rope keys
    return {key: value for key, value in raw.items() if key in known} | {"model_type": "llama"}


def check_fields(
    ours: PretrainedConfig, theirs: PretrainedConfig, fields: Sequence[str], what: str, advice: str
) -> None:
    """Raise CheckpointError naming every field of `fields` on which the configs differ."""
    wrong = [
        f"{name} {getattr(theirs, name, None)!r} there, {getattr(ours, name, None)!r} in the model"
        for name in fields
        if getattr(theirs, name, None) != getattr(ours, name, None)
    ]
    if wrong:
        raise CheckpointError(f"{what} does not match the model: {'; '.join(wrong)}. {advice}")
