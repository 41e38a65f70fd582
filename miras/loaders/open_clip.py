"""open_clip ConvNeXt checkpoints (CLIP-convnext_large_d_320-laion2B-s29B-b131K-ft-soup)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from miras.loaders.mapping import LoadReport, load_mapped, prefix_map
from miras.loaders.weights import weights_in

if TYPE_CHECKING:
    from miras.modeling.miras import MirasModel

OPEN_CLIP_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
_TRUNK = "visual.trunk."
# Our trunk drops open_clip's pooled head (and norm_pre, an Identity in ConvNeXt anyway): MIRAS
# reads the four stage maps. `visual.head.*` projects into the text space, also unused.
_UNUSED = (_TRUNK + "head.", _TRUNK + "norm_pre.")


def load_open_clip_convnext(model: MirasModel, path: str | Path) -> LoadReport:
    """Load the visual trunk of an open_clip ConvNeXt into `model.vision_tower_aux.trunk`.

    `path` is `open_clip_pytorch_model.bin` (read with weights_only=True),
    `open_clip_model.safetensors`, or the folder holding one of them. `visual.trunk.*` keys are
    used; the trunk's head, the visual projection and the text tower are ignored.
    """
    return load_mapped(
        model,
        weights_in(path, OPEN_CLIP_FILES, "open_clip ConvNeXt"),
        prefix_map([(_TRUNK, "vision_tower_aux.trunk.")]),
        skip=lambda key: not key.startswith(_TRUNK) or key.startswith(_UNUSED),
        hint="Expected an open_clip ConvNeXt (visual.trunk.stem.*, visual.trunk.stages.*) of the "
        "config's depths and widths: convnext_large_d_320 for miras-7b.",
    )
