"""The architecture of a MIRAS model, saved as `config.json` beside the weights.

One composite config rebuilds every tower (like transformers' `LlavaConfig`): the CLIP tower and
the language model keep their transformers config dicts, the ConvNeXt trunk and SAM have small
dataclasses of their own.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from miras.errors import CheckpointError, ConfigError

LLAVA_V1_SYSTEM = (
    "A chat between a curious human and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the human's questions."
)


@dataclass
class ConvNeXtConfig:
    """timm ConvNeXt trunk (the visual trunk of open_clip's `convnext_large_d_320`)."""

    depths: tuple[int, ...] = (3, 3, 27, 3)
    dims: tuple[int, ...] = (192, 384, 768, 1536)
    image_size: int = 768  # the aux view: shortest edge resized, then centre-cropped to this

    @property
    def out_channels(self) -> int:
        return sum(self.dims)


@dataclass
class SamConfig:
    """segment-anything image encoder, prompt encoder and mask decoder sizes."""

    image_size: int = 1024
    patch_size: int = 16
    encoder_embed_dim: int = 1280
    encoder_depth: int = 32
    encoder_num_heads: int = 16
    encoder_global_attn_indexes: tuple[int, ...] = (7, 15, 23, 31)
    window_size: int = 14
    prompt_dim: int = 256
    decoder_depth: int = 2
    decoder_mlp_dim: int = 2048
    decoder_num_heads: int = 8
    iou_head_hidden_dim: int = 256
    mask_in_chans: int = 16

    @property
    def embedding_size(self) -> int:
        return self.image_size // self.patch_size


@dataclass
class TokenNames:
    seg: str = "[SEG]"
    obj: str = "[OBJ]"
    im_start: str = "<im_start>"
    im_end: str = "<im_end>"
    image: str = "<image>"

    def added(self) -> list[str]:
        return [self.seg, self.obj, self.im_start, self.im_end, self.image]


@dataclass
class LossWeights:
    ce: float = 1.0
    bce: float = 2.0
    dice: float = 0.5
    iou: float = 1.0  # SAM's IoU-head error; trains only that head (see modeling/losses.py)


@dataclass
class MirasConfig:
    """Everything needed to rebuild a MIRAS model from JSON (weights load separately)."""

    clip: dict[str, Any] = field(default_factory=dict)  # transformers CLIPVisionConfig kwargs
    text: dict[str, Any] = field(default_factory=dict)  # transformers config dict (has model_type)
    convnext: ConvNeXtConfig = field(default_factory=ConvNeXtConfig)
    sam: SamConfig = field(default_factory=SamConfig)
    tokens: TokenNames = field(default_factory=TokenNames)
    loss: LossWeights = field(default_factory=LossWeights)
    projector_type: str = "mlp2x_gelu"
    clip_select_layer: int = -2
    alignment_heads: int = 8
    max_length: int = 2048  # tokens the LLM sees, image tokens included
    max_new_tokens: int = 128
    system_prompt: str = LLAVA_V1_SYSTEM
    name: str = "custom"

    # --- derived sizes -------------------------------------------------------------------------
    @property
    def clip_hidden(self) -> int:
        return int(self.clip["hidden_size"])

    @property
    def clip_grid(self) -> int:
        return int(self.clip["image_size"]) // int(self.clip["patch_size"])

    @property
    def num_image_tokens(self) -> int:
        return self.clip_grid**2

    @property
    def llm_hidden(self) -> int:
        return int(self.text["hidden_size"])

    # --- (de)serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MirasConfig:
        data = dict(data)
        nested = {"convnext": ConvNeXtConfig, "sam": SamConfig, "tokens": TokenNames, "loss": LossWeights}
        try:
            for key, kind in nested.items():
                if key in data:
                    data[key] = _dataclass_from_dict(kind, data[key])
            known = {f.name for f in dataclasses.fields(cls)}
            unknown = set(data) - known
            if unknown:
                raise ConfigError(
                    f"config has unknown keys {sorted(unknown)}; was it written by a newer "
                    "napari-miras? Upgrade, or remove those keys."
                )
            return cls(**data)
        except TypeError as err:
            raise ConfigError(f"invalid MIRAS config: {err}") from err

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> MirasConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except ValueError as err:  # JSONDecodeError and UnicodeDecodeError
            raise ConfigError(f"{path} is not valid JSON ({err}); re-export the checkpoint") from err
        if not isinstance(data, dict):
            raise CheckpointError(f"{path} is damaged: a JSON {type(data).__name__}, not an object; "
                                  "re-export the checkpoint, or copy it again")
        return cls.from_dict(data)


def _dataclass_from_dict(kind: type, data: dict[str, Any]) -> Any:
    values = {}
    for f in dataclasses.fields(kind):
        if f.name in data:
            value = data[f.name]
            values[f.name] = tuple(value) if isinstance(value, list) else value
    unknown = set(data) - {f.name for f in dataclasses.fields(kind)}
    if unknown:
        raise ConfigError(f"unknown keys {sorted(unknown)} in the {kind.__name__} section")
    return kind(**values)
