"""Synthetic images and data sets for the tests: noisy solid colours, the bad files a reader must skip, layouts.

Every image is a noisy solid colour, so no two files are equal (the trainer drops test images that
duplicate a training image) and a small model can learn the classes.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# BGR, as cv2 encodes them.
COLOURS = {"red": (30, 30, 220), "green": (30, 200, 30), "blue": (220, 30, 30)}
CLASSES = ("blue", "green", "red")
# The bad files of the folder layout and why they are bad; each must be named in metrics.json["skipped"].
FOLDER_BAD = {
    "train/red/empty.jpg": "empty",
    "train/red/truncated.jpg": "truncated",
    "train/blue/notes.jpg": "text",
    "train/blue/anim.gif": "gif",
}
ZIP_BAD = {
    "shapes/red_900.jpg": "empty",
    "shapes/blue_901.jpg": "truncated",
    "shapes/green_902.jpg": "text",
    "shapes/red_903.gif": "gif",
}
# Members that must be rejected, never read as data nor written anywhere. Their bytes are valid images,
# so if they were accepted they would show up as the classes "evil", "abs", "bs" or "drive".
ZIP_UNSAFE = ("../evil.jpg", "/abs.jpg", "shapes\\..\\..\\bs.jpg", "C:/drive.jpg")


def image(colour: str | tuple[int, int, int], seed: int, size: tuple[int, int] = (40, 52),
          noise: int = 25) -> np.ndarray:
    """A BGR image of one colour (a COLOURS name or a BGR triple) with its own noise."""
    rng = np.random.default_rng(seed)
    base = np.array(COLOURS.get(colour, colour) if isinstance(colour, str) else colour, np.int16)
    return np.clip(base + rng.integers(-noise, noise + 1, (*size, 3)), 0, 255).astype(np.uint8)


def encode(pixels: np.ndarray, suffix: str) -> bytes:
    """The bytes of a BGR image encoded by OpenCV as `suffix` (.jpg, .png, ...)."""
    ok, data = cv2.imencode(suffix, pixels)
    if not ok:
        raise ValueError(f"OpenCV cannot encode {suffix}")
    return data.tobytes()


def write(path: Path, data: bytes) -> Path:
    """Write `data` to `path`, making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def bad_bytes(kind: str, seed: int = 0) -> bytes:
    """The bytes of a bad input: an empty file, a truncated JPEG, text named .jpg, or a GIF."""
    if kind == "empty":
        return b""
    if kind == "truncated":
        whole = encode(image("red", 10_000 + seed, (64, 64)), ".jpg")
        return whole[: len(whole) // 2]
    if kind == "text":
        return b"this is not an image, just notes\n"
    if kind == "gif":  # a real 1x1 GIF: skipped for its type, not for its content
        return (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\x00\x00\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00"
                b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
    raise ValueError(kind)


def flat_names() -> dict[str, tuple[str, int]]:
    """File name -> (colour, seed) of the flat layout: three naming styles, ten images per class."""
    names = {}
    for i in range(10):
        names[f"red_{i:03d}.jpg"] = ("red", 100 + i)
        names[f"blue{i + 10}.png"] = ("blue", 200 + i)
        names[f"green.{i}.jpg"] = ("green", 300 + i)
    return names


def write_colour_set(folder: Path, per_class: int = 12) -> Path:
    """A flat folder of the three CLASSES, `per_class` images each, the class in each file name."""
    for c, colour in enumerate(CLASSES):
        for i in range(per_class):
            suffix = ".png" if i % 3 == 0 else ".jpg"
            write(folder / f"{colour}_{i:02d}{suffix}", encode(image(colour, 100 * c + i, (44, 60)), suffix))
    return folder


def write_dataset(root: Path, per_class: int = 10, size: int = 40) -> Path:
    """A two-class image folder (`ants/`, `bees/`) of PNGs, reddish ants and bluish bees."""
    for c, (label, colour) in enumerate((("ants", (30, 40, 220)), ("bees", (220, 60, 30)))):
        for i in range(per_class):
            write(root / label / f"{label[:-1]}_{i:03d}.png", encode(image(colour, 1000 * c + i, (size, size), 30),
                                                                       ".png"))
    return root
