"""The one preprocessing path: decode -> RGB -> resize (crop | squash) -> uint8, shared by train, convert and edge."""

from __future__ import annotations

import os
from pathlib import Path

# The largest image decoded at full size. A decompression bomb (a 20000x20000 PNG of one colour
# is about 1 MB) must not exhaust memory, so the size is read from the file's header before any
# pixel is decoded (imageheader.sniff): JPEGs over it are decoded scaled down by libjpeg (the model
# wants 224x224 anyway), other formats are refused. OpenCV's own limit below is a second line of
# defence; it only applies when this module is imported before cv2 is first loaded.
MAX_PIXELS = 100_000_000
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

# antbee runs images in parallel itself (a folder's interpreter per core, Ray actors) and gives a
# live frame's interpreter every core, so OpenCV's own worker pool only competes for the same
# cores: its threads spin after each small resize, on CPU a folder's other workers need. Every
# call here runs in the thread that makes it.
cv2.setNumThreads(0)

from antbee.common.errors import ImageError, UsageError  # noqa: E402
from antbee.edge.imageheader import jpeg_truncated, sniff  # noqa: E402

IMAGE_SIZE = (224, 224)  # (height, width)
RESIZE_MODES = ("crop", "squash")
# Formats OpenCV decodes reliably on every platform; GIF support varies by build.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_BILINEAR_SHRINK = 1.25
# A crop whose side is a whole multiple of the model's input shrinks by an exact box filter, the
# cheapest resize there is: a 640x480 frame's 480-pixel square trimmed to 448 (1/15 of its side)
# skips the bilinear pass that a box to 240 would still need (antbee-bench's frame overhead
# measures it). Anything trimming more keeps the largest square; 640x480, 1280x720 and 2592x1944
# frames all snap, 1920x1080 does not (896 would trim 1/6).
MAX_SNAP_TRIM = 1 / 12
# A JPEG is decoded reduced (libjpeg's DCT scaling, 1/2, 1/4 or 1/8) as long as the region the
# model sees keeps at least this many decoded pixels per input pixel a side. Scaling by 1/8 keeps
# each 8x8 block's mean, an exact box filter, and prepare() finishes any shrink above
# MAX_BILINEAR_SHRINK with a box filter, so the input stays close to an area average of the photo; 1.5 rather
# than 2 lets a 12-megapixel photo decode at 1/8 instead of 1/4 (tests/edge/test_reduced_decode.py
# checks the input against an area average of the full decode).
MIN_MARGIN = 1.5
_REDUCED_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                  8: cv2.IMREAD_REDUCED_COLOR_8}


def load_bgr(source: bytes | str | Path, name: str | None = None, *, size: tuple[int, int] | None = None,
             resize: str = "crop") -> np.ndarray:
    """Decode an encoded image (bytes or a path) to a uint8 HxWx3 BGR array, honouring EXIF orientation.

    Given the model's input `size` (height, width) and `resize` mode, a JPEG is decoded at the
    largest libjpeg reduction that still leaves prepare() at least MIN_MARGIN times the input
    size (see jpeg_reduction); without `size` it is decoded at full size.
    """
    name = name or (str(source) if not isinstance(source, bytes) else "<bytes>")
    data = _read_bytes(source, name) if not isinstance(source, bytes) else source
    if not data:
        raise ImageError(f"{name}: empty file, expected an image")
    kind, width, height = sniff(data, name)
    reduction = jpeg_reduction(width, height, size, resize) if kind == "JPEG" and size is not None else 1
    if width * height > MAX_PIXELS:
        if kind != "JPEG":
            raise ImageError(f"{name}: {kind} of {width}x{height} pixels is too large to decode "
                             f"(the limit is {MAX_PIXELS:,} pixels)")
        # libjpeg decodes at 1/8 scale without ever holding the full-size image, so the peak
        # memory stays a small fraction of a 1/2-scale decode. Anything this large is still over
        # 1000 pixels a side at 1/8, plenty for a 224x224 model input.
        if -(-width // 8) * -(-height // 8) > MAX_PIXELS:
            raise ImageError(f"{name}: JPEG of {width}x{height} pixels is too large to decode, even "
                             f"at 1/8 scale (the limit is {MAX_PIXELS:,} pixels)")
        reduction = 8
    # Every flag here honours EXIF orientation, in training and on the device alike; libjpeg
    # scales while decoding, before OpenCV rotates, so full and reduced decodes turn alike.
    flags = _REDUCED_FLAGS[reduction]
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as exc:  # OpenCV raises (rather than returning None) for some malformed files
        raise ImageError(f"{name}: cannot decode {kind} ({_first_line(exc)})") from None
    if jpeg_truncated(data):
        raise ImageError(f"{name}: truncated JPEG (no end-of-image marker after the last scan)")
    if image is None:
        raise ImageError(f"{name}: not a readable image (corrupt or truncated {kind})")
    return image


def load_rgb(source: bytes | str | Path, name: str | None = None, *, size: tuple[int, int] | None = None,
             resize: str = "crop") -> np.ndarray:
    """Decode an encoded image (bytes or a path) to a uint8 HxWx3 RGB array (reduced as load_bgr says)."""
    return cv2.cvtColor(load_bgr(source, name, size=size, resize=resize), cv2.COLOR_BGR2RGB)


def jpeg_reduction(width: int, height: int, size: tuple[int, int], resize: str = "crop") -> int:
    """The largest libjpeg scale-down (1, 2, 4 or 8) leaving the region prepare() uses >= MIN_MARGIN x `size`.

    The region is the centred crop of the input's aspect ratio, or the whole picture for squash.
    The stored size is checked both ways round, because EXIF may turn the picture a quarter.
    """
    if resize not in RESIZE_MODES:
        raise UsageError(f"resize mode {resize!r}: expected one of {', '.join(RESIZE_MODES)}")
    rows, cols = size
    for factor in (8, 4, 2):
        # libjpeg rounds a reduced side up: ceil(side / factor).
        if all(_region_fits(-(-w // factor), -(-h // factor), rows, cols, resize)
               for w, h in ((width, height), (height, width))):
            return factor
    return 1


def _region_fits(width: int, height: int, rows: int, cols: int, resize: str) -> bool:
    if resize == "crop":
        # The crop's side along the tighter dimension: the whole height or the whole width.
        scale = min(height / rows, width / cols)
        return scale >= MIN_MARGIN
    return height >= MIN_MARGIN * rows and width >= MIN_MARGIN * cols


def prepare(image: np.ndarray, size: tuple[int, int] = IMAGE_SIZE, resize: str = "crop", *,
            bgr: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """Resize a decoded uint8 image to `size` (height, width) as RGB uint8, writing into `out` if given.

    `crop` takes the largest centred region of the target's aspect ratio (the same pixels as
    resizing the shorter side and centre-cropping), trimmed by at most MAX_SNAP_TRIM of its side
    when that makes it a whole multiple of `size`; `squash` scales the whole image, distorting
    its aspect ratio as the original notebook did.
    """
    if resize not in RESIZE_MODES:
        raise UsageError(f"resize mode {resize!r}: expected one of {', '.join(RESIZE_MODES)}")
    image = _as_three_channels(image, bgr)
    height, width = size
    if resize == "crop":
        image = _center_crop(image, height, width)
    if out is None:
        out = np.empty((height, width, 3), np.uint8)
    factor = min(image.shape[0] // height, image.shape[1] // width)
    if factor >= 2:
        # A box filter by the largest whole factor first: OpenCV's exact INTER_AREA fast path,
        # much cheaper than INTER_AREA at a fractional scale, which matters next to an int8
        # invoke that is itself cheap.
        rows, cols = image.shape[0] // factor, image.shape[1] // factor
        boxed = image[:rows * factor, :cols * factor]
        if (rows, cols) == (height, width):  # a snapped crop (640x480's 448 square): the box is the input
            cv2.resize(boxed, (width, height), dst=out, interpolation=cv2.INTER_AREA)
            return _as_rgb(out, bgr)
        image = cv2.resize(boxed, (cols, rows), interpolation=cv2.INTER_AREA)
    # Bilinear aliases when shrinking by much more than 1x; what is left after the box filter
    # is usually small (a 1920x1080 frame: 270 -> 224), where it is as good and much faster.
    residual = max(image.shape[0] / height, image.shape[1] / width)
    interpolation = cv2.INTER_AREA if residual > MAX_BILINEAR_SHRINK else cv2.INTER_LINEAR
    if MAX_BILINEAR_SHRINK < residual < 2:
        # A typical photo (a 375-pixel crop to 224). INTER_AREA at a fractional scale is OpenCV's
        # slow general path; bilinear to twice the input (an enlargement, which does not alias)
        # and then the exact 2x2 box comes within a level of it at well under half the cost.
        image = cv2.resize(image, (2 * width, 2 * height), interpolation=cv2.INTER_LINEAR)
    cv2.resize(image, (width, height), dst=out, interpolation=interpolation)
    return _as_rgb(out, bgr)


def preprocess(source: bytes | str | Path, size: tuple[int, int] = IMAGE_SIZE, resize: str = "crop",
               name: str | None = None) -> np.ndarray:
    """Decode an encoded image (a JPEG reduced as far as the input allows) and prepare it as the model's input."""
    return prepare(load_bgr(source, name, size=size, resize=resize), size, resize, bgr=True)


def _read_bytes(path: str | Path, name: str) -> bytes:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageError(f"{name}: file larger than {MAX_FILE_BYTES // 2**20} MiB")
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{name}: is a folder, expected an image file") from None
    except OSError as exc:
        raise ImageError(f"{name}: cannot read ({exc.strerror})") from None


def _as_rgb(image: np.ndarray, bgr: bool) -> np.ndarray:
    if bgr:
        cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image)
    return image


def _as_three_channels(image: np.ndarray, bgr: bool) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ImageError(f"image: expected a uint8 numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ImageError(f"image: expected a uint8 numpy array, got dtype {image.dtype}")
    if image.size == 0:
        raise ImageError(f"image: empty array of shape {image.shape}")
    if image.ndim == 3 and image.shape[2] == 1:  # one channel kept as a 3-D array: grey
        image = image[:, :, 0]
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3 and image.shape[0] > 0 and image.shape[1] > 0:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR if bgr else cv2.COLOR_RGBA2RGB)
    raise ImageError(f"image: expected HxW or HxWx3 pixels, got shape {image.shape}")


def _center_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    rows, cols = image.shape[:2]
    if cols * height > rows * width:
        cols = max(1, round(rows * width / height))
    else:
        rows = max(1, round(cols * height / width))
    factor = min(rows // height, cols // width)
    if factor >= 1 and (rows - factor * height) <= MAX_SNAP_TRIM * rows:
        rows, cols = factor * height, factor * width
    top, left = (image.shape[0] - rows) // 2, (image.shape[1] - cols) // 2
    return image[top:top + rows, left:left + cols]


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__

