"""`miras demo`: a terminal chat with the bundled demo model on a sample scene.

The terminal twin of `make demo` (which opens napari), for machines without a display.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HELP = "chat in the terminal with the demo model about a sample scene"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=None, help="folder for the scene and its masks")


def _model_name() -> str:
    from miras.checkpoint import BUNDLED, WEIGHTS_FILE

    if (BUNDLED / "demo" / WEIGHTS_FILE).exists():
        return "demo"
    print(
        "note: the trained demo model is not bundled yet; chatting with an untrained tiny model "
        "(its answers are noise)",
        file=sys.stderr,
    )
    return "tiny"


def _sample_scene(folder: Path) -> Path:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    image = np.full((128, 128, 3), 200, np.uint8) + rng.integers(0, 20, (128, 128, 3), dtype=np.uint8)
    image[30:70, 20:60] = (200, 40, 40)
    yy, xx = np.mgrid[:128, :128]
    image[(yy - 90) ** 2 + (xx - 90) ** 2 < 18**2] = (40, 60, 200)
    path = folder / "sample-scene.png"
    Image.fromarray(image).save(path)
    return path


def run(args: argparse.Namespace) -> int:
    from miras.commands import chat

    folder = Path(args.out or tempfile.mkdtemp(prefix="miras-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    image = _sample_scene(folder)
    print(f"sample scene: {image}", file=sys.stderr)
    chat_args = argparse.Namespace(
        model=_model_name(), image=str(image), plane=None, message=None, out=str(folder), device=None
    )
    return chat.run(chat_args)
