"""Checkpoints: a folder of `config.json`, tokenizer files and `model.safetensors`.

`miras.load()` is the one entry point the plugin and the loop use. Nothing here unpickles.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from miras.config import MirasConfig
from miras.devices import checked_device, checked_dtype
from miras.errors import CheckpointError, ConfigError
from miras.presets import PRESETS, preset

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILES = ("tokenizer_config.json",)  # plus tokenizer.json or a sentencepiece model
TOKENIZER_JSON = ("tokenizer_config.json", "tokenizer.json")
REPAIR = "re-export the checkpoint, or copy it again"
REGISTRY_POINTER = "current"
BUNDLED = Path(__file__).parent / "weights"


def build(config: MirasConfig | str, tokenizer=None, *, seed: int | None = 0):
    """A randomly initialised model from a config or preset name (tests, training from scratch).

    Without a tokenizer a byte-level one is made (fine for small models we train ourselves).
    """
    from miras.modeling.miras import MirasModel
    from miras.tokenizer import add_miras_tokens, byte_level_tokenizer

    config = preset(config) if isinstance(config, str) else config
    if tokenizer is None:
        tokenizer = byte_level_tokenizer(config.tokens)
    else:
        add_miras_tokens(tokenizer, config.tokens)
    if seed is not None:
        torch.manual_seed(seed)
    return MirasModel(config, tokenizer)


def save_pretrained(model, folder: str | Path) -> Path:
    """Write config, tokenizer and weights; the weights file is replaced atomically."""
    from safetensors.torch import save_model

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.config.save(folder / CONFIG_FILE)
    model.tokenizer.save_pretrained(folder)
    tmp = folder / (WEIGHTS_FILE + ".tmp")
    save_model(model, str(tmp), metadata={"format": "pt", "producer": "napari-miras"})
    os.replace(tmp, folder / WEIGHTS_FILE)
    return folder


def from_pretrained(folder: str | Path, *, device: str | torch.device | None = None, dtype=None):
    """Load a checkpoint folder written by `save_pretrained`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    folder = Path(folder)
    _check_files(folder)
    config = MirasConfig.load(folder / CONFIG_FILE)
    model = build(config, _load_tokenizer(folder), seed=None)
    try:
        missing, unexpected = load_model(model, str(folder / WEIGHTS_FILE), strict=False)
    except SafetensorError as err:
        raise CheckpointError(f"{folder / WEIGHTS_FILE} is damaged ({err}); {REPAIR}") from err
    except RuntimeError as err:
        raise CheckpointError(f"{folder / WEIGHTS_FILE} does not fit its config.json: {err}") from err
    if missing or unexpected:
        raise CheckpointError(
            f"{folder / WEIGHTS_FILE} does not fit its config.json: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}; was the folder assembled from two checkpoints?"
        )
    return _place(model, device, dtype)


def _load_tokenizer(folder: Path):
    from transformers import AutoTokenizer

    for name in TOKENIZER_JSON:
        if (folder / name).exists():
            _check_json_object(folder / name)
    try:
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except Exception as err:  # transformers raises whatever a bad file trips (KeyError, TypeError, ...)
        raise CheckpointError(
            f"the tokenizer files in {folder} are damaged ({type(err).__name__}: {err}); {REPAIR}") from err


def _check_json_object(path: Path) -> None:
    """Name the damaged file, which transformers' own JSON errors do not."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError
        raise CheckpointError(f"{path} is damaged: not valid JSON ({err}); {REPAIR}") from err
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} is damaged: a JSON {type(data).__name__}, not an object; {REPAIR}")


def _check_files(folder: Path) -> None:
    if not folder.is_dir():
        raise CheckpointError(f"{folder} is not a folder; pass a checkpoint folder or a preset name")
    missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE, *TOKENIZER_FILES) if not (folder / name).exists()]
    if not any((folder / name).exists() for name in ("tokenizer.json", "tokenizer.model")):
        missing.append("tokenizer.json (or tokenizer.model)")
    if missing:
        raise CheckpointError(
            f"checkpoint folder {folder} is missing {', '.join(missing)}; a MIRAS checkpoint holds "
            f"{CONFIG_FILE}, {WEIGHTS_FILE} and the tokenizer files that miras.save_pretrained writes"
        )


def _place(model, device, dtype):
    device, dtype = checked_device(device), checked_dtype(dtype)
    if device is not None or dtype is not None:
        model.to(device=device, dtype=dtype)
    return model.eval()


def resolve(name_or_path: str | Path) -> Path:
    """Where a model lives: "demo" is the bundled one; a registry folder resolves its `current`."""
    if str(name_or_path) == "demo":
        folder = BUNDLED / "demo"
        if not (folder / WEIGHTS_FILE).exists():
            raise CheckpointError(
                f"the bundled demo model is not at {folder}; reinstall napari-miras, or rebuild "
                "it with `make demo-model`"
            )
        return folder
    folder = _local_folder(name_or_path)
    pointer = folder / REGISTRY_POINTER
    if pointer.is_file() and not (folder / CONFIG_FILE).exists():
        version = pointer.read_text(encoding="utf-8").strip()
        if not version or "/" in version or version.startswith("."):
            raise CheckpointError(f"{pointer} names no valid version ({version!r})")
        return folder / version
    return folder


def _local_folder(location: str | Path) -> Path:
    """A path, or a file:// URL (as a registry may be given); other URLs are refused by name."""
    text = os.fspath(location)
    if text.startswith("file://"):
        return Path(text[len("file://"):] or "/")
    if "://" in text:
        raise CheckpointError(f"{text} is a URL: models load from a folder on this machine; copy "
                              "or mount it, then pass the folder")
    return Path(text).expanduser()


def load(name_or_path: str | Path = "demo", *, device=None, dtype=None, **components):
    """Load a model: "demo" (bundled weights), "tiny" (random, for tests), a checkpoint folder,
    or a registry folder (its `current` version).

    With component checkpoints, a preset is built from them instead:
    `miras.load("miras-7b", sam="sam_vit_h_4b8939.pth", clip="clip-vit-large-patch14-336/",
    llm="llava-v1.5-7b/", convnext="CLIP-convnext_large_d_320.../", dtype=torch.bfloat16)`
    (see `miras.loaders.from_components`).
    """
    if components:
        from miras.loaders import from_components

        return from_components(str(name_or_path), device=device, dtype=dtype, **components)[0]
    if str(name_or_path) == "tiny":
        return _place(build("tiny"), device, dtype)
    if str(name_or_path) in PRESETS and str(name_or_path) != "demo":
        raise ConfigError(
            f"{name_or_path!r} is a size, not weights; build it from component checkpoints with "
            "miras.loaders.from_components(...) or load a checkpoint folder"
        )
    return from_pretrained(resolve(name_or_path), device=device, dtype=dtype)
