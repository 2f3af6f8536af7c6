"""The one preprocessing path: decode -> RGB -> resize (crop | squash) -> uint8, shared by train, convert and edge."""

from __future__ import annotations

import os
from pathlib import Path

# The largest image decoded at full size. A decompression bomb (a 20000x20000 PNG of one colour
# is about 1 MB) must not exhaust memory, so the size is read from the file's header before any
# pixel is decoded (_header_size): JPEGs over it are decoded scaled down by libjpeg (the model
# wants 224x224 anyway), other formats are refused. OpenCV's own limit below is a second line of
# defence; it only applies when this module is imported before cv2 is first loaded.
MAX_PIXELS = 100_000_000
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))

import re  # noqa: E402
import struct  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from antbee.edge.errors import ImageError, UsageError  # noqa: E402

IMAGE_SIZE = (224, 224)  # (height, width)
RESIZE_MODES = ("crop", "squash")
# Formats OpenCV decodes reliably on every platform; GIF support varies by build.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
MAX_FILE_BYTES = 200 * 1024 * 1024


def load_bgr(source: bytes | str | Path, name: str | None = None) -> np.ndarray:
    """Decode an encoded image (bytes or a path) to a uint8 HxWx3 BGR array, honouring EXIF orientation."""
    name = name or (str(source) if not isinstance(source, bytes) else "<bytes>")
    data = _read_bytes(source, name) if not isinstance(source, bytes) else source
    if not data:
        raise ImageError(f"{name}: empty file, expected an image")
    kind, width, height = _header_size(data, name)
    flags = cv2.IMREAD_COLOR  # honours EXIF orientation, in training and on the device alike
    if width * height > MAX_PIXELS:
        if kind != "JPEG":
            raise ImageError(f"{name}: {kind} of {width}x{height} pixels is too large to decode "
                             f"(the limit is {MAX_PIXELS:,} pixels)")
        # libjpeg decodes at 1/8 scale without ever holding the full-size image (measured: a
        # 12000x10000 JPEG peaks at +17 MB this way, +178 MB at 1/2). Anything this large is
        # still over 1000 pixels a side at 1/8, plenty for a 224x224 model input.
        if -(-width // 8) * -(-height // 8) > MAX_PIXELS:
            raise ImageError(f"{name}: JPEG of {width}x{height} pixels is too large to decode, even "
                             f"at 1/8 scale (the limit is {MAX_PIXELS:,} pixels)")
        flags = cv2.IMREAD_REDUCED_COLOR_8
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as exc:  # OpenCV raises (rather than returning None) for some malformed files
        raise ImageError(f"{name}: cannot decode {kind} ({_first_line(exc)})") from None
    if _jpeg_truncated(data):
        raise ImageError(f"{name}: truncated JPEG (no end-of-image marker after the last scan)")
    if image is None:
        raise ImageError(f"{name}: not a readable image (corrupt or truncated {kind})")
    return image


def load_rgb(source: bytes | str | Path, name: str | None = None) -> np.ndarray:
    """Decode an encoded image (bytes or a path) to a uint8 HxWx3 RGB array."""
    return cv2.cvtColor(load_bgr(source, name), cv2.COLOR_BGR2RGB)


def prepare(image: np.ndarray, size: tuple[int, int] = IMAGE_SIZE, resize: str = "crop", *,
            bgr: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """Resize a decoded uint8 image to `size` (height, width) as RGB uint8, writing into `out` if given.

    `crop` takes the largest centred region of the target's aspect ratio and scales it (the
    same pixels as resizing the shorter side and centre-cropping); `squash` scales the whole
    image, distorting its aspect ratio as the original notebook did.
    """
    if resize not in RESIZE_MODES:
        raise UsageError(f"resize mode {resize!r}: expected one of {', '.join(RESIZE_MODES)}")
    image = _as_three_channels(image, bgr)
    height, width = size
    if resize == "crop":
        image = _center_crop(image, width / height)
    shrinking = image.shape[0] > height or image.shape[1] > width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    if out is None:
        out = np.empty((height, width, 3), np.uint8)
    cv2.resize(image, (width, height), dst=out, interpolation=interpolation)
    if bgr:
        cv2.cvtColor(out, cv2.COLOR_BGR2RGB, dst=out)
    return out


def preprocess(source: bytes | str | Path, size: tuple[int, int] = IMAGE_SIZE, resize: str = "crop",
               name: str | None = None) -> np.ndarray:
    """Decode an encoded image and prepare it as the model's uint8 RGB input."""
    return prepare(load_bgr(source, name), size, resize, bgr=True)


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


def _header_size(data: bytes, name: str) -> tuple[str, int, int]:
    """(format, width, height) from the header, for the formats we decode; ImageError for anything else.

    Only these formats reach OpenCV: its other decoders (PNM, HDR, EXR, JPEG 2000, ...) are
    not needed for photos, and each is more native code exposed to untrusted files.
    """
    try:
        if data.startswith(b"\xff\xd8\xff"):
            return ("JPEG", *_jpeg_size(data))
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            return ("PNG", *struct.unpack(">II", data[16:24]))
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return ("GIF", *struct.unpack("<HH", data[6:10]))
        if data.startswith(b"BM"):
            width, height = struct.unpack("<ii", data[18:26])
            return "BMP", abs(width), abs(height)
        if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
            return ("WebP", *_webp_size(data))
        if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            return ("TIFF", *_tiff_size(data))
    except (struct.error, ValueError, IndexError, KeyError):
        raise ImageError(f"{name}: not a readable image (truncated or malformed header)") from None
    raise ImageError(f"{name}: not a readable image (expected JPEG, PNG, GIF, BMP, WebP or TIFF)")


_JPEG_SOF = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))


_JPEG_MARKER = re.compile(rb"[^\xff]*\xff+")  # garbage some encoders leave between segments, then fill bytes
_JPEG_MAX_SEGMENTS = 65536  # real files have tens before the frame header; bounds the work on hostile ones


def _jpeg_size(data: bytes) -> tuple[int, int]:
    position = 2
    for _ in range(_JPEG_MAX_SEGMENTS):
        found = _JPEG_MARKER.match(data, position)
        if found is None:
            raise ValueError("no marker")
        position = found.end()
        marker = data[position]
        position += 1
        if marker == 0xD8 or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue  # markers without a length
        if marker in (0xD9, 0xDA):
            raise ValueError("no frame header before the scan")
        (length,) = struct.unpack(">H", data[position:position + 2])
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[position + 3:position + 7])
            return width, height
        if length < 2:
            raise ValueError("bad segment length")
        position += length
    raise ValueError("no frame header")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X":
        return (int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1)
    if chunk == b"VP8L":
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    raise ValueError(f"unknown WebP chunk {chunk!r}")


def _tiff_size(data: bytes) -> tuple[int, int]:
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")  # BigTIFF: 8-byte offsets and counts
    (offset,) = struct.unpack(order + ("Q" if big else "I"), data[8:16] if big else data[4:8])
    count_format, entry_size = ("Q", 20) if big else ("H", 12)
    count_size = struct.calcsize(count_format)
    (count,) = struct.unpack(order + count_format, data[offset:offset + count_size])
    found = {}
    for index in range(min(count, 4096)):
        entry = offset + count_size + index * entry_size
        tag, kind = struct.unpack(order + "HH", data[entry:entry + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT (3) or LONG (4), or LONG8 (16) in BigTIFF
            value_at = entry + (12 if big else 8)
            value_format = {3: "H", 4: "I", 16: "Q"}.get(kind)
            if value_format is None:
                raise ValueError(f"TIFF tag {tag} of type {kind}")
            (found[tag],) = struct.unpack(order + value_format, data[value_at:value_at + struct.calcsize(value_format)])
    return found[256], found[257]


def _jpeg_truncated(data: bytes) -> bool:
    # libjpeg pads a truncated scan with grey and returns success, so OpenCV cannot tell us.
    # A complete JPEG has an EOI marker (FFD9) after its last start-of-scan (FFDA); an EXIF
    # thumbnail's EOI comes before the main image's scans, and trailing data after EOI is allowed.
    if not data.startswith(b"\xff\xd8"):
        return False
    return data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda")


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


def _center_crop(image: np.ndarray, aspect: float) -> np.ndarray:
    height, width = image.shape[:2]
    if width / height > aspect:
        new_width = max(1, round(height * aspect))
        left = (width - new_width) // 2
        return image[:, left:left + new_width]
    new_height = max(1, round(width / aspect))
    top = (height - new_height) // 2
    return image[top:top + new_height]


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__

