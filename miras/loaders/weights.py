"""Tensors of a checkpoint on disk: safetensors or PyTorch pickles, one file or shards.

A pickle is only ever read with `torch.load(weights_only=True)`: a file holding anything but
tensors and plain containers is refused, never executed.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import torch

from miras.errors import CheckpointError

# The names Hugging Face `save_pretrained` writes, in the order we prefer them.
HF_WEIGHT_FILES = (
    "model.safetensors.index.json",
    "model.safetensors",
    "pytorch_model.bin.index.json",
    "pytorch_model.bin",
)
_SAFETENSORS = (".safetensors",)


class Weights:
    """Named tensors of one checkpoint, read lazily one at a time (a 7B model need not fit twice).

    `name` says where they came from, for messages and load reports.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._readers: dict[str, Callable[[str], torch.Tensor]] = {}

    def add(
        self, shapes: Mapping[str, tuple[int, ...]], read: Callable[[str], torch.Tensor]
    ) -> None:
        for key, shape in shapes.items():
            self._shapes[key] = tuple(shape)
            self._readers[key] = read

    def __iter__(self) -> Iterator[str]:
        return iter(self._shapes)

    def shape(self, key: str) -> tuple[int, ...]:
        return self._shapes[key]

    def tensor(self, key: str) -> torch.Tensor:
        return self._readers[key](key)


def open_weights(path: str | Path) -> Weights:
    """The tensors of a `.safetensors` file, a PyTorch pickle, or a shard index (`*.index.json`)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"expected a checkpoint file at {path}, but there is none")
    weights = Weights(str(path))
    shards = _shards(path) if path.name.endswith(".index.json") else [path]
    for shard in shards:
        weights.add(*_read_file(shard))
    if not weights._shapes:
        raise CheckpointError(f"{path} holds no tensors; pass the checkpoint file itself")
    return weights


def find_weights(folder: str | Path, names: Sequence[str], what: str) -> Path:
    """The first of `names` present in `folder`; a CheckpointError naming them all if none is."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"expected a {what} folder at {folder}, but there is none")
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise CheckpointError(
        f"the {what} folder {folder} has no weights file; expected one of {', '.join(names)}"
    )


def weights_in(path: str | Path, names: Sequence[str], what: str) -> Weights:
    """Open a checkpoint given as a file, or as a folder holding one of `names`."""
    path = Path(path)
    return open_weights(find_weights(path, names, what) if path.is_dir() else path)


def _shards(index: Path) -> list[Path]:
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise CheckpointError(f"{index} is not a shard index with a weight_map ({err})") from err
    shards = [index.parent / name for name in dict.fromkeys(weight_map.values())]
    absent = [shard.name for shard in shards if not shard.is_file()]
    if absent:
        raise CheckpointError(f"{index} lists shards that are not beside it: {', '.join(absent)}")
    return shards


def _read_file(path: Path) -> tuple[dict[str, tuple[int, ...]], Callable[[str], torch.Tensor]]:
    if path.suffix in _SAFETENSORS:
        return _read_safetensors(path)
    state = read_pickled_tensors(path)
    return {key: tuple(t.shape) for key, t in state.items()}, state.__getitem__


def _read_safetensors(
    path: Path,
) -> tuple[dict[str, tuple[int, ...]], Callable[[str], torch.Tensor]]:
    from safetensors import SafetensorError, safe_open

    try:
        handle = safe_open(str(path), framework="pt", device="cpu")
        shapes = {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError) as err:
        raise CheckpointError(
            f"{path} is not a readable safetensors file ({err}); fetch it again"
        ) from err
    return shapes, handle.get_tensor


def read_pickled_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict in a PyTorch pickle, read with `weights_only=True` (never executes code)."""
    path = Path(path)
    # mmap keeps a large file out of memory; only the zip format (torch >= 1.6) supports it.
    try:
        loaded = torch.load(
            path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path)
        )
    except pickle.UnpicklingError as err:
        refused = [line for line in _reasons(err) if "GLOBAL" in line]
        if not refused:
            raise CheckpointError(
                f"{path} is not a readable PyTorch checkpoint ({_reasons(err)[-1]}); fetch it again"
            ) from err
        raise CheckpointError(
            f"{path} holds more than tensors ({refused[0]}), so it was not unpickled. "
            "If you trust it, load it yourself and save its state_dict() with safetensors "
            "(or torch.save), then pass that file"
        ) from err
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint ({err}); fetch it again"
        ) from err
    return _state_dict_of(loaded, path)


def _reasons(err: Exception) -> list[str]:
    """The informative lines of torch's long weights_only message (between its boilerplate)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[1:-1] or lines


def _state_dict_of(loaded: object, path: Path) -> dict[str, torch.Tensor]:
    """Training scripts often wrap the state dict: {"state_dict": ...} or {"model": ...}."""
    if isinstance(loaded, Mapping):
        tensors = {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
        if tensors:
            return tensors
        for wrapper in ("state_dict", "model"):
            if isinstance(loaded.get(wrapper), Mapping):
                return _state_dict_of(loaded[wrapper], path)
    raise CheckpointError(f"{path} holds no state dict of tensors (found {type(loaded).__name__})")
