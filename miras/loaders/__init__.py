"""Load real component checkpoints into a MIRAS model; nothing is ever fully unpickled.

| source | function | into |
| --- | --- | --- |
| segment-anything `.pth` / `.safetensors` | `load_sam_checkpoint` | `sam` |
| Hugging Face CLIP folder | `load_clip_folder` | `vision_tower` |
| LLaMA / LLaVA folder (both layouts) | `load_llm_folder` | `llm` (LLaVA: + projector, CLIP) |
| open_clip ConvNeXt | `load_open_clip_convnext` | `vision_tower_aux` |
| the authors' export (reference §7.3) | `load_authors_checkpoint` | all but `vision_tower_aux` |

`from_components(config, sam=..., clip=..., llm=..., convnext=..., authors=...)` builds a whole
model from whichever of these are given. Every loader checks keys, shapes and configs before
copying anything and raises `miras.CheckpointError` saying what did not fit and what to do.
"""

from __future__ import annotations

from miras.loaders.authors import load_authors_checkpoint
from miras.loaders.clip import load_clip_folder
from miras.loaders.components import from_components
from miras.loaders.llm import load_llm_folder
from miras.loaders.mapping import LoadReport
from miras.loaders.open_clip import load_open_clip_convnext
from miras.loaders.sam import load_sam_checkpoint
from miras.loaders.vocab import load_tokenizer

__all__ = [
    "LoadReport",
    "from_components",
    "load_authors_checkpoint",
    "load_clip_folder",
    "load_llm_folder",
    "load_open_clip_convnext",
    "load_sam_checkpoint",
    "load_tokenizer",
]
