"""Reading images from disk with clear errors."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DLADenseError


def sample_image_path() -> Path:
    """Path of the bundled sample photo (``chelsea.png``, a tabby cat, CC0; see NOTICE)."""
    return Path(str(resources.files("dla_dense") / "assets" / "chelsea.png"))


def upright(image: Image.Image) -> Image.Image:
    """``image`` turned as its EXIF orientation says (what image viewers show); unchanged without one."""
    return ImageOps.exif_transpose(image) or image


def load_image(path: str | os.PathLike, *, exif_transpose: bool = False) -> Image.Image:
    """Open ``path`` as an RGB PIL image; grayscale, palette, RGBA and 16-bit images are converted.

    ``exif_transpose`` applies the EXIF orientation (phone photos), as prediction on a user's photo does.
    Datasets keep the stored pixels (the default), the frame their annotations refer to (COCO boxes do).

    Raises :class:`DLADenseError` for a missing file or one that is not a readable image.
    """
    path = Path(path)
    if not path.exists():
        raise DLADenseError(f"image not found: '{path}'; check the path")
    if path.is_dir():
        raise DLADenseError(f"'{path}' is a folder, not an image; pass image files")
    try:
        with Image.open(path) as img:
            img.load()
            if exif_transpose:
                img = upright(img)
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                img = img.point(lambda v: v / 256).convert("L")
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DLADenseError(f"cannot read image '{path}': not a valid image file ({e})") from None
