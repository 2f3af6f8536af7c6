"""Fixtures for the training tests: tiny synthetic data sets (folders and a ZIP) with bad files, and tiny runs.

Every image is a noisy solid colour, so no two files are equal (the trainer drops test images that
duplicate a training image). The runs use MobileNetV2 alpha 0.35 without pretrained weights, so they
are fast but their features carry no reliable signal: the tests check what the pipeline does and
writes, not how accurate it is (the real-data tests do that).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import cv2
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared"
TINY = {"backbone": "mobilenet_v2:0.35", "weights": "none"}
TINY_ARGS = ["--backbone", "mobilenet_v2:0.35", "--weights", "none"]
# BGR, as cv2.imwrite takes them.
COLOURS = {"red": (30, 30, 220), "green": (30, 200, 30), "blue": (220, 30, 30)}
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


def image(colour: str, seed: int, size: tuple[int, int] = (40, 52)) -> np.ndarray:
    """A BGR image of one colour with its own noise, so every file's bytes and pixels differ."""
    rng = np.random.default_rng(seed)
    base = np.array(COLOURS[colour], np.int16)
    noise = rng.integers(-25, 26, (*size, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def encode(pixels: np.ndarray, suffix: str) -> bytes:
    ok, data = cv2.imencode(suffix, pixels)
    assert ok
    return data.tobytes()


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


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def flat_names() -> dict[str, tuple[str, int]]:
    """File name -> (colour, seed) of the flat layout: three naming styles, ten images per class."""
    names = {}
    for i in range(10):
        names[f"red_{i:03d}.jpg"] = ("red", 100 + i)
        names[f"blue{i + 10}.png"] = ("blue", 200 + i)
        names[f"green.{i}.jpg"] = ("green", 300 + i)
    return names


@pytest.fixture(scope="session")
def syn():
    """This module's constants and helpers (test modules cannot import a conftest under importlib mode)."""
    return SimpleNamespace(**{k: v for k, v in globals().items() if not k.startswith("_")})


class DataSets(NamedTuple):
    folder: Path  # train/{red,blue}/img_NNN.jpg + val/{red,blue}/img_NNN.png, with FOLDER_BAD
    flat: Path  # red_001.jpg, blue17.png, green.3.jpg in one folder, 3 classes x 10
    zip: Path  # the flat images under shapes/ in a ZIP, with ZIP_BAD and ZIP_UNSAFE members
    root: Path  # the folder holding all three


@pytest.fixture(scope="session")
def datasets(tmp_path_factory) -> DataSets:
    root = tmp_path_factory.mktemp("datasets")
    folder = root / "folder"
    for part, count, suffix in (("train", 8, ".jpg"), ("val", 4, ".png")):
        for c, colour in enumerate(("red", "blue")):
            for i in range(count):
                seed = 1000 * c + 100 * (part == "val") + i
                write(folder / part / colour / f"img_{i:03d}{suffix}", encode(image(colour, seed), suffix))
    for name, kind in FOLDER_BAD.items():
        write(folder / name, bad_bytes(kind))

    flat = root / "flat"
    for name, (colour, seed) in flat_names().items():
        write(flat / name, encode(image(colour, seed, (48, 36)), Path(name).suffix))

    archive = root / "shapes.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name, (colour, seed) in flat_names().items():
            z.writestr(f"shapes/{name}", encode(image(colour, seed, (48, 36)), Path(name).suffix))
        for i, (name, kind) in enumerate(ZIP_BAD.items()):
            z.writestr(name, bad_bytes(kind, i))
        for i, name in enumerate(ZIP_UNSAFE):
            z.writestr(name, encode(image("red", 5000 + i), ".jpg"))
        z.writestr("__MACOSX/shapes/._red_000.jpg", b"\x00\x05\x16\x07 resource fork")
    return DataSets(folder, flat, archive, root)


class Run(NamedTuple):
    out: Path
    metrics: dict
    history: dict
    featurised: int | None = None  # images run through the backbone, where counted


def load_run(out: Path) -> Run:
    return Run(out, json.loads((out / "metrics.json").read_text()), json.loads((out / "history.json").read_text()))


@pytest.fixture(scope="session")
def folder_run(datasets, tmp_path_factory) -> Run:
    """The folder layout (pre-split train/val, bad files inside), L-BFGS head, through the Python API."""
    from antbee.train.run import TrainOptions, train

    out = tmp_path_factory.mktemp("folder_run") / "run"
    train(TrainOptions(data=str(datasets.folder), out=str(out), seed=0, **TINY))
    return load_run(out)


@pytest.fixture(scope="session")
def flat_run(datasets, tmp_path_factory) -> Run:
    """The flat layout (classes in file names), stratified 80/20 split, 2-fold CV, through the CLI."""
    from typer.testing import CliRunner

    from antbee.train.cli import app

    out = tmp_path_factory.mktemp("flat_run") / "run"
    result = CliRunner().invoke(app, [str(datasets.flat), "--out", str(out), *TINY_ARGS, "--test-size", "0.2",
                                      "--seed", "3", "--resize", "squash", "--cv", "2", "--cv-repeats", "1"])
    assert result.exit_code == 0, (result.output, result.exception)
    return load_run(out)


@pytest.fixture(scope="session")
def zip_run(datasets, tmp_path_factory) -> Run:
    """The ZIP (classes in file names, bad and unsafe members), Adam head with at most 4 epochs.

    Counts the images the frozen backbone is run on (`featurised`): features are computed once per
    image (and its mirror image), however many epochs the head trains.
    """
    import antbee.train.fit as fit
    from antbee.train.run import TrainOptions, train

    featurised = []
    real = fit.extract_features

    def counting(model, pixels, *args, **kwargs):
        featurised.append(len(pixels))
        return real(model, pixels, *args, **kwargs)

    out = tmp_path_factory.mktemp("zip_run") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fit, "extract_features", counting)
        train(TrainOptions(data=str(datasets.zip), out=str(out), head="adam", epochs=4, patience=1, seed=1,
                           **TINY))
    return load_run(out)._replace(featurised=sum(featurised))
