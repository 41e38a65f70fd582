"""From a user's array to the three views MIRAS sees (reference §1.2).

- aux view (ConvNeXt): shortest edge resized bicubically to `aux_size`, centre crop, CLIP norm;
- CLIP view: the aux view resized bilinearly to CLIP's input size;
- SAM view: the whole image, longest side resized to SAM's size, SAM norm, zero-padded square.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from miras.errors import ImageError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SAM_MEAN = (123.675, 116.28, 103.53)
SAM_STD = (58.395, 57.12, 57.375)
_STRETCH_PERCENTILES = (0.1, 99.9)


@dataclass
class ImageViews:
    clip: torch.Tensor  # (3, S_clip, S_clip), CLIP-normalised
    aux: torch.Tensor  # (3, S_aux, S_aux), CLIP-normalised
    sam: torch.Tensor  # (3, S_sam, S_sam), SAM-normalised, padded bottom/right
    input_size: tuple[int, int]  # (h, w) of the image inside the SAM view, before padding
    original_size: tuple[int, int]  # (H, W) of the user's image


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Check a user's image and convert it to (H, W, 3) uint8 RGB.

    Accepts (H, W), (H, W, 1), (H, W, 3) and (H, W, 4) arrays of bool, integer or float type.
    uint8 is kept; wider integers and floats outside [0, 1] are stretched between their 0.1 and
    99.9 percentiles (microscopy data rarely fills its dtype); floats in [0, 1] are scaled by 255.
    Alpha is dropped.
    """
    image = np.asarray(image)
    _check_shape(image)
    if image.ndim == 2:
        image = image[..., None]
    image = image[..., :3]
    values = _to_uint8(image)
    return np.repeat(values, 3, axis=2) if values.shape[2] == 1 else values


def _check_shape(image: np.ndarray) -> None:
    if image.ndim not in (2, 3):
        raise ImageError(
            f"got an array of shape {image.shape}; MIRAS takes one 2D plane (H, W) or a colour "
            "image (H, W, 3) or (H, W, 4). For a stack, pass one plane, e.g. image[z]."
        )
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        if image.shape[0] in (3, 4):
            hint = "it looks channel-first: pass np.moveaxis(image, 0, -1)"
        else:
            hint = "it looks like a 3D stack: pass one plane, e.g. image[z]"
        raise ImageError(f"got an image of shape {image.shape} with {image.shape[2]} channels; {hint}")
    if image.size == 0 or min(image.shape[:2]) < 2:
        raise ImageError(f"the image of shape {image.shape} is empty; pass at least 2 x 2 pixels")


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == bool:
        return image.astype(np.uint8) * 255
    if not (np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)):
        raise ImageError(f"images of dtype {image.dtype} are not supported; pass integers or floats")
    values = image.astype(np.float32)
    if not np.isfinite(values).all():
        raise ImageError("the image holds NaN or infinite values; replace them (np.nan_to_num)")
    if np.issubdtype(image.dtype, np.floating) and values.min() >= 0 and values.max() <= 1:
        return np.round(values * 255).astype(np.uint8)
    low, high = np.percentile(values, _STRETCH_PERCENTILES)
    if high <= low:
        return np.zeros(values.shape, np.uint8)
    return np.round(np.clip((values - low) / (high - low), 0, 1) * 255).astype(np.uint8)


def _normalise(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    return (x - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)


STRIP_RATIO = 4  # longer than this many aux views once resized: cropped before resizing


def aux_and_clip_views(rgb: np.ndarray, aux_size: int, clip_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(3, aux, aux) and (3, clip, clip) tensors, as the authors' VideoFramesProcessor makes them."""
    h, w = rgb.shape[:2]
    scale = aux_size / min(h, w)
    size = (max(aux_size, round(h * scale)), max(aux_size, round(w * scale)))
    if max(size) > STRIP_RATIO * aux_size:
        # A long strip (2 x 8000) would be upscaled whole, gigabytes, for a square of it: cut
        # the centre square first (the same view to within a pixel).
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        rgb, size = rgb[top : top + side, left : left + side], (aux_size, aux_size)
    x = torch.tensor(rgb).permute(2, 0, 1).float()[None]
    x = F.interpolate(x, size=size, mode="bicubic", align_corners=False).clamp(0, 255)
    top, left = (size[0] - aux_size) // 2, (size[1] - aux_size) // 2
    x = x[..., top : top + aux_size, left : left + aux_size]
    aux = _normalise(x[0] / 255.0, CLIP_MEAN, CLIP_STD)
    clip = F.interpolate(aux[None], size=(clip_size, clip_size), mode="bilinear", align_corners=False)
    return aux, clip[0]


def sam_view(rgb: np.ndarray, sam_size: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """(3, S, S) SAM input and the (h, w) the image occupies in it."""
    from segment_anything.utils.transforms import ResizeLongestSide
    from torchvision.transforms.functional import resize, to_pil_image

    # As ResizeLongestSide.apply_image, but the short side of a long strip keeps 1 pixel
    # instead of rounding to 0.
    h, w = (max(1, side) for side in ResizeLongestSide.get_preprocess_shape(*rgb.shape[:2], sam_size))
    resized = np.array(resize(to_pil_image(rgb), [h, w]))
    x = _normalise(torch.from_numpy(resized).permute(2, 0, 1).float(), SAM_MEAN, SAM_STD)
    return F.pad(x, (0, sam_size - w, 0, sam_size - h)), (h, w)


def image_views(image: np.ndarray, *, aux_size: int, clip_size: int, sam_size: int) -> ImageViews:
    rgb = to_rgb_uint8(image)
    aux, clip = aux_and_clip_views(rgb, aux_size, clip_size)
    sam, input_size = sam_view(rgb, sam_size)
    return ImageViews(clip=clip, aux=aux, sam=sam, input_size=input_size, original_size=rgb.shape[:2])
