"""A user's own picture made into what the model was trained on: 28x28 grey, garment light on
black, framed as Fashion-MNIST frames its images.

Fashion-MNIST's images were made from Zalando's product thumbnails (51x73 pixels, a garment
on a light grey background) by a fixed pipeline (Xiao, Rasul and Vollgraf, 2017, section 2):
trim the edges close to the corner colour, resize the longest edge to 28 by subsampling,
sharpen, extend the shortest edge to 28 with the garment centred, negate, 8-bit grey.
:func:`load_picture` follows those steps (each is commented where it happens) with what a
photo needs on top: the EXIF orientation, transparency, a dark background (not negated), a
large photo (first reduced to a thumbnail of the size the data set started from) and a
background that is not quite white (its own grey becomes black, as the data set's ``#fdfdfd``
became 2).

Pillow and numpy only: no Keras, so the CLI checks every file before loading a model.
Every failure is an :class:`ImageProblem`, one line naming the file.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

UInt8Array = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]

SIDE = 28
THUMBNAIL_EDGE = 73
"""The longest edge of the Zalando thumbnails Fashion-MNIST was made from (51x73)."""
WORKING_EDGE = 1024
"""Larger pictures are reduced to about this before anything else: trimming needs no more, and
a 24-megapixel photo would otherwise take seconds and hundreds of MB."""
MIN_SIDE = 8
"""Narrower pictures have too little in them to classify (a 1x1, a 20000x1 strip)."""
TRIM_DISTANCE = 0.05 * 255 * np.sqrt(3)
"""The paper trims pixels within 5% of the largest possible distance in RGB space of the
corner colour."""
FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")
"""The decoders Pillow may use (JPEG's covers cameras' multi-picture MPO files too). Pillow
opens many more formats, some through external programs (EPS runs Ghostscript): a picture to
classify needs none of them, and every decoder left out is one a hostile file cannot reach."""
EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff")
"""What a folder is searched for (a file named on the command line is tried whatever its name)."""
_DESCRIBED_FORMATS = "PNG, JPEG, GIF, WebP, BMP or TIFF"


class ImageProblem(ValueError):
    """A file cannot be classified; ``str(problem)`` is one line that names it."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = printable(" ".join(reason.split()))
        super().__init__(f"{shown(self.path)}: {self.reason}")


@dataclass(frozen=True, slots=True, eq=False)
class Picture:
    """A picture as the model sees it."""

    path: Path
    array: UInt8Array
    """``(28, 28)`` uint8: light garment on black, as the training images."""
    steps: tuple[str, ...]
    """What was done to it, in order, one phrase each (for ``--json`` and the curious)."""


def printable(text: str) -> str:
    """``text`` with characters that would break a line or drive the terminal (a newline,
    an escape, an undecodable byte of a file name) written as Python escapes."""
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape", "backslashreplace").decode()
        for char in text
    )


def shown(path: Path) -> str:
    """A file name fit for one line of output."""
    return printable(str(path))


# --- Finding the files -------------------------------------------------------------------------


def expand(paths: Iterable[Path]) -> list[Path | ImageProblem]:
    """The files to classify, in the order given: a folder stands for its pictures (by
    extension, sorted by name, hidden files left out, not recursive). A missing path, an
    unreadable folder or one without pictures is an :class:`ImageProblem` in its place."""
    found: list[Path | ImageProblem] = []
    for path in paths:
        if path.is_dir():
            try:
                entries = sorted(
                    entry
                    for entry in path.iterdir()
                    if entry.suffix.lower() in EXTENSIONS
                    and not entry.name.startswith(".")
                    and entry.is_file()
                )
            except OSError as error:
                found.append(ImageProblem(path, f"cannot read the folder ({_os_reason(error)})"))
                continue
            if not entries:
                found.append(ImageProblem(path, f"no pictures in the folder ({_extensions()})"))
            found.extend(entries)
        elif path.exists():
            found.append(path)
        else:
            found.append(ImageProblem(path, "no such file or folder"))
    return found


def _extensions() -> str:
    return ", ".join(EXTENSIONS)


def _os_reason(error: OSError) -> str:
    from core.files import os_reason

    return os_reason(error)


# --- Reading -----------------------------------------------------------------------------------


def load_picture(path: Path) -> Picture:
    """Read ``path`` and make it a Fashion-MNIST image; the steps taken come with it.

    Raises:
        ImageProblem: not a picture (or not one of :data:`FORMATS`), empty, truncated or
            damaged, a decompression bomb (over Pillow's ``Image.MAX_IMAGE_PIXELS``), too
            small or too thin, or a colour mode it cannot be made grey from.
    """
    steps: list[str] = []
    try:
        with warnings.catch_warnings():
            # Over MAX_IMAGE_PIXELS Pillow only warns (over twice that it raises): a file that
            # large is refused either way, before a pixel is decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=FORMATS) as opened:
                _check_size(path, opened.size)
                steps.append(f"read {opened.format} {opened.width}x{opened.height} {opened.mode}")
                rgb, alpha = _decode(opened, steps)
    except ImageProblem:
        raise
    except _Unsupported as error:
        raise ImageProblem(path, str(error)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageProblem(
            path, f"too many pixels, refused as a decompression bomb ({_first_line(error)})"
        ) from None
    except FileNotFoundError:
        raise ImageProblem(path, "no such file") from None
    except IsADirectoryError:
        raise ImageProblem(path, "a folder, not a picture") from None
    except PermissionError as error:
        raise ImageProblem(path, f"cannot read it ({_os_reason(error)})") from None
    except UnidentifiedImageError:
        size = _size_of(path)
        what = "an empty file" if size == 0 else f"not a {_DESCRIBED_FORMATS} picture"
        raise ImageProblem(path, what) from None
    except MemoryError:
        raise ImageProblem(path, "too large to decode in the memory available") from None
    except Exception as error:  # noqa: BLE001 - a damaged file makes decoders raise anything
        raise ImageProblem(path, f"damaged or truncated picture ({_first_line(error)})") from None
    return Picture(path, _fashion_mnist(rgb, alpha, steps), tuple(steps))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _size_of(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _check_size(path: Path, size: tuple[int, int]) -> None:
    width, height = size
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageProblem(
            path, f"{width}x{height} pixels is too small (at least {MIN_SIDE} on each side)"
        )


class _Unsupported(Exception):
    """The picture decoded, but cannot be made grey; the message says why."""


def _decode(image: Image.Image, steps: list[str]) -> tuple[FloatArray, FloatArray | None]:
    """The first frame, upright, reduced to at most :data:`WORKING_EDGE`, as RGB floats
    0-255 and an alpha channel in 0-1 (``None`` when fully opaque)."""
    if image.format in ("JPEG", "MPO"):
        # JPEG decodes at 1/2, 1/4 or 1/8 scale for free: never more pixels than needed.
        image.draft(None, (WORKING_EDGE, WORKING_EDGE))
    frames = int(getattr(image, "n_frames", 1))
    if frames > 1:
        steps.append(f"took the first of {frames} frames")
    orientation = image.getexif().get(0x0112, 1)  # the EXIF Orientation tag
    upright = ImageOps.exif_transpose(image)
    if orientation not in (None, 1):
        steps.append(f"turned upright (EXIF orientation {orientation})")
    sixteen_bit = upright.mode.startswith("I;16")
    # Modes whose pixels cannot be averaged as they are (palette indices, bits) or that
    # Pillow cannot reduce: into their plain equivalents first.
    plain = {"P": "RGBA", "PA": "RGBA", "1": "L"}.get(upright.mode)
    if plain is None and sixteen_bit:
        plain = "I"
    if plain is not None:
        upright = upright.convert(plain)
    longest = max(upright.size)
    if longest > WORKING_EDGE:
        factor = -(-longest // WORKING_EDGE)
        upright = upright.reduce(factor)
        steps.append(f"reduced by {factor} to {upright.width}x{upright.height}")
    return _to_rgb(upright, steps, sixteen_bit=sixteen_bit)


def _to_rgb(
    image: Image.Image, steps: list[str], *, sixteen_bit: bool
) -> tuple[FloatArray, FloatArray | None]:
    mode = image.mode
    if mode in ("I", "F"):
        grey = np.asarray(image, dtype=np.float64)
        if sixteen_bit or (mode == "I" and grey.max(initial=0) > 255):
            grey = grey / 257.0  # 16-bit grey: 65535 is white
            steps.append("16-bit grey scaled to 8 bits")
        elif mode == "F" and grey.max(initial=0) <= 1.0:
            grey = grey * 255.0
        grey = np.clip(grey, 0, 255)
        return np.repeat(grey[..., np.newaxis], 3, axis=2), None
    try:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float64)
    except ValueError as error:
        raise _Unsupported(f"colour mode {mode} cannot be made grey ({error})") from None
    alpha = rgba[..., 3] / 255.0
    if alpha.min() >= 1.0:
        return rgba[..., :3], None
    return rgba[..., :3], alpha


def _luma(rgb: FloatArray) -> FloatArray:
    """ITU-R 601 luma, what Pillow's ``convert("L")`` computes."""
    return np.asarray(rgb @ np.array([0.299, 0.587, 0.114]), dtype=np.float64)


def _flatten_alpha(rgb: FloatArray, alpha: FloatArray, steps: list[str]) -> FloatArray:
    """Composite a transparent picture over the backdrop that contrasts with what is in it:
    white behind a dark garment, black behind a light one, so neither vanishes."""
    weight = alpha.sum()
    content = float((_luma(rgb) * alpha).sum() / weight) if weight > 0 else 0.0
    backdrop = 0.0 if content > 127.5 else 255.0
    steps.append(f"transparency over {'black' if backdrop == 0 else 'white'}")
    return np.asarray(rgb * alpha[..., np.newaxis] + backdrop * (1 - alpha[..., np.newaxis]))


def _fashion_mnist(rgb: FloatArray, alpha: FloatArray | None, steps: list[str]) -> UInt8Array:
    if alpha is not None:
        rgb = _flatten_alpha(rgb, alpha, steps)

    # 1. Trim the edges close to the corner colour (5% of the RGB cube's diagonal). The median
    # of the four corners, so that one corner the garment reaches does not decide it.
    height, width = rgb.shape[:2]
    corners = rgb[[0, 0, -1, -1], [0, -1, 0, -1]]
    background = np.median(corners, axis=0)
    away = np.linalg.norm(rgb - background, axis=2) > TRIM_DISTANCE
    # A row or column is part of the garment when 1% of it differs from the background, at
    # least one pixel: a photo's stray noise or dust far from the garment then does not stretch
    # the frame (one pixel in 300 per row is too little), while anything the 28x28 can show
    # (1% of the longest edge is a third of one of its pixels) is kept, and a 28x28 image
    # itself is trimmed at its last lit pixel as the paper's pipeline trimmed.
    rows = np.flatnonzero(away.sum(axis=1) >= max(1, width // 100))
    cols = np.flatnonzero(away.sum(axis=0) >= max(1, height // 100))
    if rows.size and cols.size:
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        if (top, left, bottom, right) != (0, 0, height, width):
            rgb = rgb[top:bottom, left:right]
            steps.append(f"trimmed the background to {right - left}x{bottom - top}")
    else:
        steps.append("nothing but background: kept it whole")

    # Grey now (the paper's last step, 7): the steps between are the same on grey, and the
    # light-or-dark decision needs the background's grey.
    grey = _luma(rgb)
    background_grey = float(_luma(background[np.newaxis])[0])
    light = background_grey > 127.5
    picture = Image.fromarray(np.clip(grey, 0, 255).round().astype(np.uint8), mode="L")

    # 2. Resize the longest edge to 28 "by subsampling the pixels, i.e. skipping some rows
    # and columns". The paper subsampled 51x73 thumbnails; a photo is first reduced to such a
    # thumbnail with a proper filter (as Zalando's servers made theirs), since subsampling a
    # 3000-pixel photo straight to 28 would keep 1 row in 100 and alias every texture. (On
    # 500 photo-like test pictures, bench/predict_photos.py, this and a plain Lanczos resize
    # to 28 scored alike: 0.920 and 0.918, the model 0.928 on the images themselves.)
    longest = max(picture.size)
    if longest > THUMBNAIL_EDGE:
        picture = picture.resize(_fit(picture.size, THUMBNAIL_EDGE), Image.Resampling.LANCZOS)
        steps.append(f"thumbnail {picture.width}x{picture.height}")
    if max(picture.size) > SIDE:
        picture = picture.resize(_fit(picture.size, SIDE), Image.Resampling.NEAREST)
        steps.append(f"subsampled to {picture.width}x{picture.height}")
        # 3. Sharpen: "a Gaussian operator with the radius and standard deviation of 1.0,
        # with increasing effect near outlines", i.e. an unsharp mask of radius 1. Only after
        # shrinking: a picture already 28 pixels high (a Fashion-MNIST image itself) is as
        # sharp as it will be, and sharpening it again would change what the model sees.
        picture = picture.filter(ImageFilter.UnsharpMask(radius=1.0, percent=100, threshold=0))
        steps.append("sharpened (unsharp mask, radius 1)")
    elif max(picture.size) < SIDE:
        picture = picture.resize(_fit(picture.size, SIDE), Image.Resampling.BICUBIC)
        steps.append(f"enlarged to {picture.width}x{picture.height}")

    # 4. Extend the shortest edge to 28, the garment centred, on the background's own grey.
    # An odd margin puts its extra pixel above and left of the garment, as the data set's
    # own images have it: 447 of 500 test images come back unchanged so, 211 the other way.
    canvas = Image.new("L", (SIDE, SIDE), round(background_grey))
    canvas.paste(picture, ((SIDE - picture.width + 1) // 2, (SIDE - picture.height + 1) // 2))
    if picture.size != (SIDE, SIDE):
        steps.append(f"centred on a {SIDE}x{SIDE} canvas")
    pixels = np.asarray(canvas, dtype=np.float64)

    # 5. Negate: the garment light on black. Only a light background: a picture that is
    # light on dark already (a Fashion-MNIST image, a garment shot on black) stays as it is.
    if light:
        pixels = 255.0 - pixels
        background_grey = 255.0 - background_grey
        steps.append("negated (light background)")
    # The data set's backgrounds are black (Zalando's #fdfdfd negated is 2); a photo's
    # off-white becomes a grey the model never saw. Its own grey becomes black.
    if background_grey >= 4:
        pixels = (pixels - background_grey) * 255.0 / (255.0 - background_grey)
        steps.append(f"background grey {round(background_grey)} made black")

    # 6. 8-bit grey.
    return np.clip(pixels, 0, 255).round().astype(np.uint8)


def _fit(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """``size`` scaled so that its longest side is ``edge`` (the other at least 1)."""
    width, height = size
    scale = edge / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def load_pictures(paths: Sequence[Path]) -> list[Picture | ImageProblem]:
    """:func:`expand` then :func:`load_picture` on each file, problems in their places."""
    results: list[Picture | ImageProblem] = []
    for entry in expand(paths):
        if isinstance(entry, ImageProblem):
            results.append(entry)
            continue
        try:
            results.append(load_picture(entry))
        except ImageProblem as problem:
            results.append(problem)
    return results
