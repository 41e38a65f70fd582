"""Hugging Face CLIP folders (`CLIPVisionModel` or `CLIPModel`, e.g. clip-vit-large-patch14-336)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from miras.loaders.configs import CLIP_DETAILS, CLIP_SIZES, check_fields, vision_config
from miras.loaders.mapping import LoadReport, load_mapped, prefix_map
from miras.loaders.weights import HF_WEIGHT_FILES, find_weights, open_weights

if TYPE_CHECKING:
    from miras.modeling.miras import MirasModel

CLIP_PART = "vision_tower.model."
# transformers 4 nests the tower as `vision_model.*`; transformers 5 saves it flat.
_VISION_MODEL = "vision_model."
_FLAT_ROOTS = ("embeddings.", "pre_layrnorm.", "encoder.", "post_layernorm.")
_NOT_VISION = ("text_model.", "text_projection.", "visual_projection.", "logit_scale")


def clip_rules(model: MirasModel, source_prefix: str) -> list[tuple[str, str]]:
    """Prefix rules taking a CLIP vision tower saved under `source_prefix` (nested or flat)
    to wherever this transformers version keeps ours."""
    ours = CLIP_PART + _VISION_MODEL if _nests_vision_model(model) else CLIP_PART
    nested = [(source_prefix + _VISION_MODEL, ours)]
    return nested + [(source_prefix + root, ours + root) for root in _FLAT_ROOTS]


def check_clip_config(
    model: MirasModel, folder: Path, fields: tuple[str, ...] = CLIP_SIZES + CLIP_DETAILS
) -> None:
    """Raise CheckpointError naming each field where the folder's vision config differs."""
    check_fields(
        model.vision_tower.model.config,
        vision_config(folder),
        fields,
        f"the CLIP vision config in {folder}",
        "Use the CLIP checkpoint the config names (clip-vit-large-patch14-336 for miras-7b), or "
        "build the model with miras.loaders.from_components(..., clip=folder), which adopts its "
        "activation and norm settings",
    )


def load_clip_folder(model: MirasModel, folder: str | Path) -> LoadReport:
    """Load a Hugging Face CLIP folder's vision tower into `model.vision_tower`.

    Reads `model.safetensors` (sharded or not) or `pytorch_model.bin` (weights only). The
    folder's vision config must match ours (hidden size, image size, patch, depth, ...); the
    text tower and projections of a full `CLIPModel` are ignored.
    """
    folder = Path(folder)
    weights = open_weights(find_weights(folder, HF_WEIGHT_FILES, "CLIP"))
    check_clip_config(model, folder)
    return load_mapped(
        model,
        weights,
        prefix_map(clip_rules(model, "")),
        skip=lambda key: key.startswith(_NOT_VISION),
        hint="Expected a CLIP vision tower (vision_model.* keys) of the config's size.",
    )


def _nests_vision_model(model: MirasModel) -> bool:
    return any(key.startswith(_VISION_MODEL) for key in model.vision_tower.model.state_dict())
