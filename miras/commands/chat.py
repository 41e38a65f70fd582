"""`miras chat --model M --image F`: a conversation in the terminal; masks saved as PNG."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

HELP = "talk about an image in the terminal; each mask is saved as a PNG beside the image"
COMMANDS = "type a question; /reset starts over on the same image; /quit (or Ctrl-D) ends"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="demo", help='"demo", a checkpoint folder or a registry')
    parser.add_argument("--image", required=True, help="an image file (PNG, JPEG, TIFF, ...)")
    parser.add_argument("--plane", type=int, default=None, help="plane index of a 3D stack")
    parser.add_argument(
        "-m", "--message", action="append", default=None,
        help="send this message instead of reading the terminal (repeat for several turns)",
    )
    parser.add_argument("--out", default=None, help="folder for the masks (default: beside the image)")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cpu)")


def read_image(path: Path, plane: int | None) -> np.ndarray:
    from skimage.io import imread

    from miras.errors import ImageError

    if not path.is_file():
        raise ImageError(f"{path} is not a file; pass --image with an existing image")
    image = imread(path)
    return image[plane] if plane is not None else image


def _lines(messages: list[str] | None) -> Iterator[str]:
    if messages is not None:
        yield from messages
        return
    interactive = sys.stdin.isatty()
    while True:
        try:
            line = input("you> ") if interactive else sys.stdin.readline()
        except EOFError:
            return
        if not interactive and not line:
            return
        yield line.strip()


def save_masks(masks: Iterable[np.ndarray], folder: Path, stem: str, turn: int) -> list[Path]:
    from PIL import Image

    paths = []
    for j, mask in enumerate(masks, start=1):
        path = folder / f"{stem}.turn{turn}.mask{j}.png"
        Image.fromarray(mask.astype(np.uint8) * 255).save(path)
        paths.append(path)
    return paths


def run(args: argparse.Namespace) -> int:
    import miras

    image_path = Path(args.image)
    chat = miras.load(args.model, device=args.device).chat(read_image(image_path, args.plane))
    folder = Path(args.out) if args.out else image_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    print(COMMANDS, file=sys.stderr)
    turn = 0
    for line in _lines(args.message):
        if line in ("/quit", "/exit"):
            break
        if line == "/reset":
            chat.reset()
            print("(new conversation)")
            continue
        if not line:
            continue
        turn += 1
        reply = chat.send(line)
        print(f"miras> {reply.text}")
        for path, label, score in zip(save_masks(reply.masks, folder, image_path.stem, turn), reply.labels, reply.scores):
            print(f"  mask {label or '(unnamed)'}: {path} (confidence {score:.2f})")
    return 0
