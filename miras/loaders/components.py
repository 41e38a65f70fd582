"""Build a MIRAS model from whichever component checkpoints are on disk."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from miras.config import MirasConfig
from miras.errors import ConfigError
from miras.loaders.authors import load_authors_checkpoint
from miras.loaders.clip import load_clip_folder
from miras.loaders.configs import (
    CLIP_SIZES,
    CONFIG_FILE,
    TEXT_SIZES,
    check_fields,
    config_dict,
    config_object,
    read_json,
    text_config,
    vision_config,
)
from miras.loaders.llm import load_llm_folder
from miras.loaders.mapping import LoadReport, parts_of
from miras.loaders.open_clip import load_open_clip_convnext
from miras.loaders.sam import load_sam_checkpoint
from miras.loaders.vocab import has_tokenizer, load_tokenizer

if TYPE_CHECKING:
    from miras.modeling.miras import MirasModel

logger = logging.getLogger(__name__)
Source = str | Path | None


def from_components(
    config: MirasConfig | str,
    *,
    sam: Source = None,
    clip: Source = None,
    llm: Source = None,
    convnext: Source = None,
    authors: Source = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | str | None = None,
) -> tuple[MirasModel, LoadReport]:
    """A MIRAS model of `config` (or a preset name such as "miras-7b") from local checkpoints.

    sam: segment-anything `.pth` / `.safetensors`; clip: a Hugging Face CLIP folder; llm: a
    LLaMA or LLaVA folder (its tokenizer is used, with MIRAS's tokens added); convnext: an
    open_clip ConvNeXt file or folder; authors: a MIRAS export (its tokenizer wins; its weights
    override the others). The language model's and CLIP's settings (norm eps, RoPE, activation)
    are taken from their folders; their sizes must be the config's.

    Returns the model (eval mode, on `device` in `dtype`) and a `LoadReport` naming the source of
    each part and the parts left at random initialisation. The model is built at random in
    float32 first, then overwritten: a 7B model needs about 4 bytes per parameter of memory.
    """
    dtype = _dtype(dtype)  # a typo should fail before minutes of loading, not after
    config = _settled_config(config, clip=clip, llm=llm, authors=authors)
    model = _built(config, _tokenizer_folder(llm, authors))
    report = LoadReport(random=parts_of(model))
    for load, source in _steps(sam=sam, clip=clip, llm=llm, convnext=convnext, authors=authors):
        report = report.then(load(model, source))
    logger.info("MIRAS %s from components:\n%s", config.name, report)
    if device is not None or dtype is not None:
        model.to(device=device, dtype=dtype)
    return model.eval(), report


def _steps(**sources: Source) -> list[tuple[Callable[[MirasModel, Path], LoadReport], Path]]:
    """The loads to run, in order: the base LLM first, the authors' fine-tuned weights last."""
    loaders = {
        "llm": load_llm_folder,
        "clip": load_clip_folder,
        "convnext": load_open_clip_convnext,
        "sam": load_sam_checkpoint,
        "authors": load_authors_checkpoint,
    }
    return [
        (load, Path(sources[name])) for name, load in loaders.items() if sources[name] is not None
    ]


def _settled_config(
    config: MirasConfig | str, *, clip: Source, llm: Source, authors: Source
) -> MirasConfig:
    """The config with the language model's and CLIP's settings taken from their folders."""
    from miras.presets import preset

    config = preset(config) if isinstance(config, str) else copy.deepcopy(config)
    text_folder = _folder_with_config(authors) or _folder_with_config(llm)
    if text_folder is not None:
        config.text = _adopted(
            config.text, text_config(text_folder), TEXT_SIZES, "llama", text_folder
        )
    vision_folder = _folder_with_config(clip) or _llava_hf_folder(llm)
    if vision_folder is not None:
        config.clip = _adopted(
            config.clip,
            vision_config(vision_folder),
            CLIP_SIZES,
            "clip_vision_model",
            vision_folder,
        )
    return config


def _adopted(ours: dict, theirs, sizes: tuple[str, ...], model_type: str, folder: Path) -> dict:
    check_fields(
        config_object(ours, model_type, "the MIRAS config"),
        theirs,
        sizes,
        f"the config in {folder}",
        "Pass a config (or preset) of the checkpoint's size.",
    )
    return config_dict(theirs)


def _folder_with_config(source: Source) -> Path | None:
    return Path(source) if source is not None and (Path(source) / CONFIG_FILE).is_file() else None


def _llava_hf_folder(llm: Source) -> Path | None:
    folder = _folder_with_config(llm)
    return (
        folder
        if folder is not None and "vision_config" in read_json(folder / CONFIG_FILE)
        else None
    )


def _tokenizer_folder(llm: Source, authors: Source) -> Path | None:
    """The export's tokenizer matches its embeddings; else the LLM's; else none (byte-level)."""
    for source in (authors, llm):
        if source is not None and has_tokenizer(Path(source)):
            return Path(source)
    return Path(llm) if llm is not None else None  # load_tokenizer says what is missing


def _built(config: MirasConfig, tokenizer_folder: Path | None) -> MirasModel:
    from miras.checkpoint import build

    tokenizer = load_tokenizer(tokenizer_folder, config.tokens) if tokenizer_folder else None
    return build(config, tokenizer)


def _dtype(dtype: torch.dtype | str | None) -> torch.dtype | None:
    if not isinstance(dtype, str):
        return dtype
    resolved = getattr(torch, dtype, None)
    if not isinstance(resolved, torch.dtype):
        raise ConfigError(f"unknown dtype {dtype!r}; use e.g. 'float32', 'bfloat16' or 'float16'")
    return resolved
