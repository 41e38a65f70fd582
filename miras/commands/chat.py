"""`miras chat --model M --image F`: a conversation in the terminal; masks saved as PNG."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

HELP = "talk about an image in the terminal; each mask is saved as a PNG beside the image"
COMMANDS = "type a question; /reset starts over on the same image; /quit (or Ctrl-D) ends"
STACK_SUFFIXES = (".tif", ".tiff")  # read with tifffile, which keeps every plane


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
    from miras.prist import UNREADABLE_IMAGE, open_upright

    if not path.is_file():
        raise ImageError(f"{path} is not a file; pass --image with an existing image")
    try:
        # other images as miras.prist.load_image reads them (EXIF-upright), but in their own depth
        image = imread(path) if path.suffix.lower() in STACK_SUFFIXES else _pixels(open_upright(path))
    except UNREADABLE_IMAGE as e:
        raise ImageError(f"cannot read {path} as an image ({e}); pass a PNG, JPEG or TIFF file") from None
    return _pick_plane(image, plane, path)


def _pixels(im) -> np.ndarray:
    """(H, W) or (H, W, 3|4); grey of 16 or 32 bits is kept for MIRAS to stretch."""
    if im.mode in ("1", "L", "F", "RGB", "RGBA") or im.mode.startswith("I"):
        return np.asarray(im)
    return np.asarray(im.convert("RGB"))  # palette, CMYK, grey with alpha, ...


def _pick_plane(image: np.ndarray, plane: int | None, path: Path) -> np.ndarray:
    from miras.errors import ImageError

    is_stack = image.ndim == 4 or (image.ndim == 3 and image.shape[-1] not in (1, 3, 4))
    if plane is None:
        if is_stack:
            raise ImageError(f"{path} is a stack of {len(image)} planes; choose one with --plane 0 to {len(image) - 1}")
        return image
    if not is_stack:
        raise ImageError(f"{path} is a single image of shape {image.shape}, not a stack; leave out --plane")
    if not 0 <= plane < len(image):
        raise ImageError(f"--plane {plane} is out of range: {path} has planes 0 to {len(image) - 1}")
    return image[plane]


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


def _turn_error(err: Exception) -> str:
    # the library's hints name Python calls; in the terminal starting over is /reset
    message = " ".join(str(err).split()).replace("chat.reset()", "/reset")
    hint = "" if "/reset" in message else " Type /reset to start over on the same image."
    return f"miras: error: {message}{hint}"


def run(args: argparse.Namespace) -> int:
    """0, or 2 if a turn failed: the session goes on after a failed turn, as a terminal user can
    rephrase or /reset, but a script learns of it."""
    import miras

    image_path = Path(args.image)
    chat = miras.load(args.model, device=args.device).chat(read_image(image_path, args.plane))
    folder = Path(args.out) if args.out else image_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    print(COMMANDS, file=sys.stderr)
    turn, failed = 0, False
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
        try:
            reply = chat.send(line)
        except miras.MirasError as err:
            print(_turn_error(err), file=sys.stderr)
            failed = True
            continue
        print(f"miras> {reply.text}")
        for path, label, score in zip(save_masks(reply.masks, folder, image_path.stem, turn), reply.labels, reply.scores):
            print(f"  mask {label or '(unnamed)'}: {path} (confidence {score:.2f})")
    return 2 if failed else 0
