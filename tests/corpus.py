"""Generators for the reliability tests and tools/reliability_report.py: a bad-input corpus, bombs, fakes.

Everything here is generated on the fly: no junk is checked in.
"""

from __future__ import annotations

import io
import json
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np


HERE = Path(__file__).resolve().parent
MEMORY_BOUND_MB = 500


# --------------------------------------------------------------------------- images
def halves_rgb(height: int = 30, width: int = 40) -> np.ndarray:
    """An asymmetric RGB test picture: left half red, right half blue, a green top-left corner."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = (220, 30, 20)
    image[:, width // 2:] = (20, 30, 220)
    image[: height // 4, : width // 4] = (30, 200, 40)
    return image


def encode(image, fmt: str, **kwargs) -> bytes:
    """Encode a PIL image (or an RGB array) with pillow."""
    from PIL import Image

    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def exif_rotated_jpeg(orientation: int = 6, height: int = 30, width: int = 40) -> bytes:
    """A JPEG whose stored pixels are `halves_rgb` and whose EXIF says to rotate them (6: 90 degrees clockwise)."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(halves_rgb(height, width), "JPEG", quality=95, exif=exif.tobytes())


class Case(NamedTuple):
    """One corpus entry: a file name, its bytes, and `decode` (must decode like pillow) or `error`."""

    kind: str
    filename: str
    data: bytes
    expect: str  # "decode" | "error"


def image_corpus() -> list[Case]:
    """The bad and odd image inputs, as bytes (the 20000x20000 bomb is separate: png_bomb)."""
    from PIL import Image

    picture = Image.fromarray(halves_rgb())
    jpeg = encode(picture, "JPEG", quality=95)
    png = encode(picture, "PNG")
    rng = random.Random(7)
    rgba = np.dstack([halves_rgb(), np.tile(np.linspace(0, 255, 40).astype(np.uint8), (30, 1))])
    deep = (np.arange(30 * 40, dtype=np.uint32).reshape(30, 40) * 53).astype(np.uint16)
    return [
        Case("empty file", "empty.jpg", b"", "error"),
        Case("truncated JPEG", "truncated.jpg", jpeg[: len(jpeg) // 2], "error"),
        Case("truncated JPEG", "truncated_tail.jpg", jpeg[:-2], "error"),
        Case("truncated PNG", "truncated.png", png[: len(png) // 2], "error"),
        Case("truncated PNG", "truncated_header.png", png[:20], "error"),
        Case("random bytes named .jpg", "random.jpg", bytes(rng.randrange(256) for _ in range(4096)), "error"),
        Case("random bytes named .jpg", "random_soi.jpg", b"\xff\xd8\xff" + bytes(rng.randrange(256)
                                                                                  for _ in range(4096)), "error"),
        Case("text file", "notes.jpg", "ants and bees\nare insects\n".encode(), "error"),
        Case("text file", "readme.txt", b"not an image at all", "error"),
        Case("GIF", "picture.gif", encode(picture.convert("P", palette=Image.Palette.ADAPTIVE), "GIF"), "decode"),
        Case("BMP", "picture.bmp", encode(picture, "BMP"), "decode"),
        Case("WebP (lossless)", "lossless.webp", encode(picture, "WEBP", lossless=True), "decode"),
        Case("WebP (lossy)", "lossy.webp", encode(picture, "WEBP", quality=90), "decode"),
        Case("TIFF", "picture.tiff", encode(picture, "TIFF"), "decode"),
        Case("TIFF (LZW)", "picture_lzw.tif", encode(picture, "TIFF", compression="tiff_lzw"), "decode"),
        Case("grayscale PNG", "gray.png", encode(picture.convert("L"), "PNG"), "decode"),
        Case("grayscale JPEG", "gray.jpg", encode(picture.convert("L"), "JPEG", quality=95), "decode"),
        Case("RGBA PNG with transparency", "rgba.png", encode(Image.fromarray(rgba, "RGBA"), "PNG"), "decode"),
        Case("palette PNG", "palette.png", encode(picture.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
             "decode"),
        Case("16-bit PNG", "deep.png", encode(Image.fromarray(deep), "PNG"), "decode"),
        Case("CMYK JPEG", "cmyk.jpg", encode(picture.convert("CMYK"), "JPEG", quality=95), "decode"),
        Case("progressive JPEG", "progressive.jpg", encode(picture, "JPEG", quality=95, progressive=True), "decode"),
        Case("EXIF-rotated JPEG", "rotated.jpg", exif_rotated_jpeg(6), "decode"),
        Case("EXIF-rotated JPEG", "rotated_8.jpg", exif_rotated_jpeg(8), "decode"),
        Case("EXIF-rotated JPEG", "mirrored_3.jpg", exif_rotated_jpeg(3), "decode"),
        Case("1x1 image", "one_pixel.png", encode(np.full((1, 1, 3), (200, 10, 10), np.uint8), "PNG"), "decode"),
        Case("1x1 image", "one_pixel.jpg", encode(np.full((1, 1, 3), (200, 10, 10), np.uint8), "JPEG"), "decode"),
    ]


def pillow_reference_rgb(data: bytes) -> np.ndarray:
    """What the bytes show, decoded by pillow as an independent oracle: EXIF applied, alpha dropped, 16 bits >> 8."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    if image.mode in ("I;16", "I;16B", "I"):
        return np.repeat((np.asarray(image, np.uint32) >> 8).astype(np.uint8)[:, :, None], 3, axis=2)
    return np.asarray(image.convert("RGB"))


def png_bomb(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """A valid PNG of width x height black pixels, about 1 MB on disk (1.2 GB decoded)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * width)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def big_jpeg(path: Path, width: int = 12000, height: int = 10000) -> Path:
    """A grey JPEG of 120 megapixels (over the 100-megapixel limit), about 1.4 MB on disk."""
    from PIL import Image

    Image.new("L", (width, height), 128).save(path, quality=50)
    return path


MEASURE = """
import resource, subprocess, sys, json
child = subprocess.run(sys.argv[1:], capture_output=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stdout.write(json.dumps({"code": child.returncode, "peak_mb": usage.ru_maxrss / 1024,
                             "stdout": child.stdout.decode("utf-8", "replace"),
                             "stderr": child.stderr.decode("utf-8", "replace")}))
"""


def measured_run(command: list[str], timeout: float = 180, env: dict | None = None, cwd=None) -> dict:
    """Run `command` under a fresh Python whose only child it is; returns code, peak_mb (max RSS), stdout, stderr."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, timeout=timeout,
                          env=env, cwd=cwd, check=True)
    return json.loads(done.stdout)


# --------------------------------------------------------------------------- archives
def patch_zip_sizes(data: bytes, member: str, declared: int) -> bytes:
    """Rewrite a ZIP so that `member` declares `declared` uncompressed bytes (local and central headers)."""
    out = bytearray(data)
    name = member.encode()
    for signature, size_at, name_len_at in ((b"PK\x03\x04", 22, 26), (b"PK\x01\x02", 24, 28)):
        start = 0
        while (start := out.find(signature, start)) != -1:
            (name_len,) = struct.unpack("<H", out[start + name_len_at:start + name_len_at + 2])
            header = 46 if signature == b"PK\x01\x02" else 30
            if bytes(out[start + header:start + header + name_len]) == name:
                out[start + size_at:start + size_at + 4] = struct.pack("<I", declared)
            start += 4
    return bytes(out)


# --------------------------------------------------------------------------- frame sources
class FakeCapture:
    """A cv2.VideoCapture stand-in. `frames` is a list (None = a failed read) or a callable index -> frame.

    Like OpenCV, read(buffer) fills `buffer` in place when it has the frame's shape.
    """

    def __init__(self, frames, opened: bool = True, count: int | None = None):
        self.frames = frames
        self.opened = opened
        self.count = len(frames) if count is None else count
        self.reads = 0
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened

    def set(self, prop, value) -> bool:
        return True

    def read(self, image=None):
        index = self.reads
        self.reads += 1
        if index >= self.count:
            return False, None
        frame = self.frames(index) if callable(self.frames) else self.frames[index]
        if frame is None:
            return False, None
        if isinstance(image, np.ndarray) and image.shape == frame.shape and image.dtype == frame.dtype:
            np.copyto(image, frame)
            return True, image
        return True, frame.copy()

    def release(self) -> None:
        self.released = True


# --------------------------------------------------------------------------- model bit-flip fuzz
FLIP_WORKER = HERE / "reliability" / "flip_worker.py"


def flip_fuzz(model: Path, count: int, seed: int, timeout: float = 600) -> dict:
    """Load `count` bit-flipped copies of `model`, each in a forked child; outcome counts (see flip_worker.py)."""
    done = subprocess.run([sys.executable, str(FLIP_WORKER), str(model), str(count), str(seed)],
                          capture_output=True, timeout=timeout)
    assert done.returncode == 0, f"flip worker failed ({done.returncode}): {done.stderr.decode()[-2000:]}"
    return json.loads(done.stdout.decode().strip().splitlines()[-1])
