"""segment-anything checkpoints (`sam_vit_h_4b8939.pth` and the like)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from miras.errors import CheckpointError
from miras.loaders.mapping import LoadReport, load_mapped, prefix_map
from miras.loaders.weights import open_weights

if TYPE_CHECKING:
    from miras.modeling.miras import MirasModel

_SAM_MODULES = ("image_encoder.", "prompt_encoder.", "mask_decoder.")


def load_sam_checkpoint(model: MirasModel, path: str | Path) -> LoadReport:
    """Load segment-anything's state dict into `model.sam`.

    `path` is the official `.pth` (read with `torch.load(weights_only=True)`) or a
    `.safetensors` file with the same keys (`image_encoder.*`, `prompt_encoder.*`,
    `mask_decoder.*`); all three modules must be complete.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"expected a SAM checkpoint file at {path} (e.g. sam_vit_h_4b8939.pth from "
            "segment-anything, or a .safetensors of it), but there is none"
        )
    return load_mapped(
        model,
        open_weights(path),
        prefix_map([(name, "sam." + name) for name in _SAM_MODULES]),
        hint="Expected a segment-anything checkpoint (image_encoder.*, prompt_encoder.*, "
        "mask_decoder.*) of the config's size: ViT-H (sam_vit_h_4b8939.pth) for miras-7b.",
    )
