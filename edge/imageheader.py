"""Image format and size from a file's first bytes, so nothing is decoded before its size is known."""

from __future__ import annotations

import re
import struct

from antbee.common.errors import ImageError


def sniff(data: bytes, name: str) -> tuple[str, int, int]:
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


def jpeg_truncated(data: bytes) -> bool:
    """Whether a JPEG lacks its end-of-image marker after the last scan."""
    # libjpeg pads a truncated scan with grey and returns success, so OpenCV cannot tell us.
    # A complete JPEG has an EOI marker (FFD9) after its last start-of-scan (FFDA); an EXIF
    # thumbnail's EOI comes before the main image's scans, and trailing data after EOI is allowed.
    if not data.startswith(b"\xff\xd8"):
        return False
    # Searched from the last EOI onwards, not for the last SOS from the end: that would scan the whole
    # entropy-coded image, a measurable share of a reduced decode of a big photo.
    end = data.rfind(b"\xff\xd9")
    return data.find(b"\xff\xda", max(end, 0)) >= 0
