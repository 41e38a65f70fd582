"""Checkpoints exported by the authors' code (PixelRIST `merge_lora_weights_and_save_hf_model.py`).

Key names follow reference §7.3. The export leaves out the ConvNeXt tower (§7.2.3), and the
region alignment module never existed there (§8.3): both stay as they are and are reported.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from miras.errors import CheckpointError
from miras.loaders.configs import CONFIG_FILE
from miras.loaders.llm import Rules, check_flat_llava_config, check_text_config, llava_rules
from miras.loaders.mapping import LoadReport, load_mapped, prefix_map
from miras.loaders.vocab import resizable_rows
from miras.loaders.weights import HF_WEIGHT_FILES, Weights, weights_in

if TYPE_CHECKING:
    from miras.modeling.miras import MirasModel

logger = logging.getLogger(__name__)

_PEFT_PREFIX = "base_model.model."
# PEFT keeps trained copies of whole modules (embed_tokens, lm_head) under this infix.
_PEFT_SAVED = ".modules_to_save.default."
_PEFT_FROZEN = ".original_module."
_LORA_MARKS = (
    ".lora_A.",
    ".lora_B.",
    ".lora_embedding_A",
    ".lora_embedding_B",
    ".lora_magnitude_vector",
    ".base_layer.",
)
_HINT = (
    "Expected a MIRAS export (model.visual_model.*, model.text_hidden_fcs.*, model.layers.*, ...) "
    "of the config's size, built with the tokenizer saved beside it "
    "(miras.loaders.from_components(config, authors=folder) does that)."
)


def authors_rules(model: MirasModel) -> Rules:
    """Their names -> ours: the LLaVA keys plus SAM, the [SEG] head and the fusion projectors.
    Mini-Gemini's ConvNeXt keys (`vision_stem`, `vision_stages`) are mapped too, should an
    export hold them."""
    return llava_rules(model) + [
        ("model.visual_model.", "sam."),
        ("model.text_hidden_fcs.0.", "seg_head."),
        ("model.vlm_uni_query_projector.", "fusion.query_projector."),
        ("model.vlm_uni_aux_projector.", "fusion.aux_projector."),
        ("model.vlm_uni_val_projector.", "fusion.val_projector."),
        ("model.vision_tower_aux.vision_stem.", "vision_tower_aux.trunk.stem."),
        ("model.vision_tower_aux.vision_stages.", "vision_tower_aux.trunk.stages."),
    ]


def load_authors_checkpoint(model: MirasModel, path_or_folder: str | Path) -> LoadReport:
    """Load a checkpoint exported by the authors' code into `model`.

    Accepts a folder (`model.safetensors[.index.json]` or `pytorch_model.bin[.index.json]`) or
    one such file; `.bin` files are read with weights_only=True. PEFT prefixes
    (`base_model.model.`) are stripped; un-merged LoRA weights are refused. The report's
    `random` lists the parts the export did not hold (always `vision_tower_aux`, the ConvNeXt,
    and `region_alignment`).
    """
    path = Path(path_or_folder)
    weights = weights_in(path, HF_WEIGHT_FILES, "MIRAS export")
    _refuse_lora(weights)
    if (path / CONFIG_FILE).is_file():
        check_text_config(model, path)
        check_flat_llava_config(model, path)
    rename = prefix_map(authors_rules(model))
    report = load_mapped(
        model,
        weights,
        lambda key: rename(_without_peft(key)),
        skip=lambda key: _PEFT_FROZEN in key,
        # The stage-2 export's tokenizer lacks [OBJ] and <image>: MIRAS appends their rows.
        resizable=resizable_rows(model, path) if path.is_dir() else (),
        hint=_HINT,
    )
    if report.random:
        logger.info("%s left these parts as they were: %s", weights.name, ", ".join(report.random))
    return report


def _without_peft(key: str) -> str:
    return key.removeprefix(_PEFT_PREFIX).replace(_PEFT_SAVED, ".")


def _refuse_lora(weights: Weights) -> None:
    lora = [key for key in weights if any(mark in key for mark in _LORA_MARKS)]
    if lora:
        raise CheckpointError(
            f"{weights.name} holds {len(lora)} un-merged LoRA tensors (e.g. {lora[0]}). Merge "
            "them into the base weights first: the authors' "
            "merge_lora_weights_and_save_hf_model.py, or peft's model.merge_and_unload() "
            "followed by save_pretrained"
        )
