"""Language models: a Hugging Face LLaMA folder, or a LLaVA folder in either layout.

- LLaMA (`LlamaForCausalLM.save_pretrained`): `model.*`, `lm_head.*`.
- LLaVA as liuhaotian/LLaVA saves it (`llava-v1.5-7b`): the LLaMA keys plus
  `model.mm_projector.{0,2}.*` and, if saved, `model.vision_tower.vision_tower.vision_model.*`.
- transformers `LlavaForConditionalGeneration`: `language_model.model.*` /
  `language_model.lm_head.*` (as saved) or `model.language_model.*` / `lm_head.*` (as held in
  memory since transformers 4.52), `multi_modal_projector.linear_{1,2}.*`, `vision_tower.*`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from miras.errors import CheckpointError
from miras.loaders.clip import check_clip_config, clip_rules
from miras.loaders.configs import (
    CONFIG_FILE,
    TEXT_DETAILS,
    TEXT_SIZES,
    check_fields,
    read_json,
    text_config,
)
from miras.loaders.mapping import LoadReport, load_mapped, prefix_map
from miras.loaders.vocab import resizable_rows
from miras.loaders.weights import HF_WEIGHT_FILES, find_weights, open_weights

if TYPE_CHECKING:
    from miras.modeling.miras import MirasModel

Rules = list[tuple[str, str]]
LLAMA_RULES: Rules = [("model.", "llm.model."), ("lm_head.", "llm.lm_head.")]
_LLAVA_HF_MARK = "multi_modal_projector."
_LLAVA_MARK = "model.mm_projector."
_HINT = (
    "Expected a Hugging Face causal LM (model.*, lm_head.*) or a LLaVA folder. A MIRAS export "
    "(model.visual_model.*) loads with load_authors_checkpoint or from_components(authors=...)."
)


def llava_rules(model: MirasModel) -> Rules:
    """liuhaotian/LLaVA key names (which Mini-Gemini and the MIRAS authors kept)."""
    tower = clip_rules(model, "model.vision_tower.vision_tower.")
    return LLAMA_RULES + [(_LLAVA_MARK, "mm_projector.")] + tower


def _llava_hf_rules(model: MirasModel) -> Rules:
    rules = [
        ("language_model.model.", "llm.model."),
        ("language_model.lm_head.", "llm.lm_head."),
        ("model.language_model.", "llm.model."),
        ("lm_head.", "llm.lm_head."),
    ]
    for root in ("", "model."):
        rules += [
            (root + _LLAVA_HF_MARK + "linear_1.", "mm_projector.0."),
            (root + _LLAVA_HF_MARK + "linear_2.", "mm_projector.2."),
            *clip_rules(model, root + "vision_tower."),
        ]
    return rules


_LAYOUTS: dict[str, Callable[[MirasModel], Rules]] = {
    "llava-hf": _llava_hf_rules,
    "llava": llava_rules,
    "causal-lm": lambda model: LLAMA_RULES,
}


def layout(keys: list[str]) -> str:
    """Which of the layouts above a checkpoint's keys follow."""
    if any(key.startswith((_LLAVA_HF_MARK, "model." + _LLAVA_HF_MARK)) for key in keys):
        return "llava-hf"
    if any(key.startswith(_LLAVA_MARK) for key in keys):
        return "llava"
    return "causal-lm"


def load_llm_folder(model: MirasModel, folder: str | Path) -> LoadReport:
    """Load a LLaMA or LLaVA folder into `model.llm` (and `mm_projector`, `vision_tower` where
    the folder has them).

    The token embeddings and LM head keep the folder's rows for the folder's tokens; rows of
    tokens added since (MIRAS's `[SEG]`, `[OBJ]`, ...) keep their initialisation. The model must
    have been built with the folder's tokenizer (checked against the one saved there) and a
    text config of the folder's architecture (`from_components(llm=folder)` does both).
    """
    folder = Path(folder)
    weights = open_weights(find_weights(folder, HF_WEIGHT_FILES, "language model"))
    kind = layout(list(weights))
    check_text_config(model, folder)
    if kind == "llava-hf":
        check_llava_hf_config(model, folder)
    else:
        check_flat_llava_config(model, folder)
    rows = resizable_rows(model, folder)
    return load_mapped(
        model, weights, prefix_map(_LAYOUTS[kind](model)), resizable=rows, hint=_HINT
    )


def check_text_config(
    model: MirasModel, folder: Path, fields: tuple[str, ...] = TEXT_SIZES + TEXT_DETAILS
) -> None:
    check_fields(
        model.llm.config,
        text_config(folder),
        fields,
        f"the language model config in {folder}",
        "Build the model with miras.loaders.from_components(..., llm=folder), which adopts the "
        "folder's settings, with a config of the folder's size (miras-7b: a LLaMA-7B).",
    )


def check_llava_hf_config(model: MirasModel, folder: Path) -> None:
    """The vision tower, feature layer and projector of a transformers LLaVA must be ours."""
    if model.config.projector_type != "mlp2x_gelu":
        raise CheckpointError(
            f"{folder} is a transformers LLaVA, whose projector is Linear-GELU-Linear; the "
            f"model's is {model.config.projector_type!r}. Use projector_type 'mlp2x_gelu'."
        )
    check_clip_config(model, folder)
    wanted = {
        "vision_feature_layer": model.config.clip_select_layer,
        "vision_feature_select_strategy": "default",  # drops CLS, as MIRAS does
        "projector_hidden_act": "gelu",
    }
    _check_raw(read_json(folder / CONFIG_FILE), wanted, folder)


def check_flat_llava_config(model: MirasModel, folder: Path) -> None:
    """A liuhaotian-style config names its projector and feature layer; they must be ours."""
    raw = read_json(folder / CONFIG_FILE)
    wanted = {
        "mm_projector_type": model.config.projector_type,
        "mm_vision_select_layer": model.config.clip_select_layer,
    }
    _check_raw(raw, wanted, folder)


def _check_raw(raw: dict, wanted: dict, folder: Path) -> None:
    """Compare the keys the config has (absent ones default to what MIRAS uses)."""
    wrong = [
        f"{key} {raw[key]!r} there, {value!r} here"
        for key, value in wanted.items()
        if key in raw and raw[key] != value
    ]
    if wrong:
        raise CheckpointError(
            f"{folder / CONFIG_FILE} does not match the model: {'; '.join(wrong)}. MIRAS uses "
            "CLIP layer -2 without CLS and the projector type of its config."
        )
