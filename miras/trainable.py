"""Which parameters train: a named policy (architecture.md, "Our MIRAS").

- `paper`: the SAM mask decoder, the [SEG] head and semantic region alignment. (The paper says
  "mask decoder and projection layers"; the projection that trains is the [SEG] -> prompt one.
  `mm_projector` stays frozen, as in the authors' code.) Towers and LLM are frozen, which is what
  lets stage 2 run on cached features.
- `authors`: that plus LoRA (r=8, alpha=16, dropout 0.05) on the LLM's q_proj/v_proj and the full
  token embeddings and LM head, as the authors' scripts train.
- `sam`: all of SAM (image encoder too), the [SEG] head and alignment; towers and LLM frozen.
  The demo recipe's stage 1 uses it: masks must learn from pixels, while the phrase reaches the
  decoder through an LLM that need not train yet (no backward through it: ~2x faster steps).
- `all`: every parameter (training a small model from scratch, as the demo recipe does).
- `all-but-towers`: every parameter except both visual towers, their fusion and `mm_projector`,
  which keep what they hold: their dense pre-training (miras.training.tower_pretraining, the
  bundled `miras demo-train`) or their random init (`--image-lessons`). Trained from
  scratch through the LLM, the towers collapse into one large constant token that the LLM
  ignores (benchmarks/image_use.py).
"""

from __future__ import annotations

from torch import nn

from miras.errors import ConfigError

POLICIES = ("paper", "authors", "sam", "all", "all-but-towers")
TOWERS = ("vision_tower", "vision_tower_aux", "fusion", "mm_projector")
LORA = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": ["q_proj", "v_proj"]}


def apply_policy(model: nn.Module, policy: str) -> list[str]:
    """Set requires_grad by policy (wrapping the LLM with LoRA for `authors`); trainable names."""
    if policy not in POLICIES:
        raise ConfigError(f"unknown trainable policy {policy!r}; choose one of {list(POLICIES)}")
    model.requires_grad_(policy in ("all", "all-but-towers"))
    if policy == "all-but-towers":
        for name in TOWERS:
            getattr(model, name).requires_grad_(False)
    for part in (model.sam.mask_decoder, model.seg_head, model.region_alignment):
        part.requires_grad_(True)
    if policy == "sam":
        model.sam.requires_grad_(True)
    if policy == "authors":
        _add_lora(model)
    return [name for name, p in model.named_parameters() if p.requires_grad]


def _add_lora(model: nn.Module) -> None:
    from peft import LoraConfig, PeftModel, get_peft_model

    if not isinstance(model.llm, PeftModel):
        config = LoraConfig(bias="none", task_type="CAUSAL_LM", **LORA)
        model.llm = get_peft_model(model.llm, config)
    model.llm.get_input_embeddings().weight.requires_grad_(True)
    model.llm.get_output_embeddings().weight.requires_grad_(True)


def merge_lora(model: nn.Module) -> None:
    """Fold LoRA into the LLM's weights so checkpoints keep plain LLaMA key names."""
    from peft import PeftModel

    if isinstance(model.llm, PeftModel):
        model.llm = model.llm.merge_and_unload()
