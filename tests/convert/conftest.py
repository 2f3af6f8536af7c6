"""Fixtures for the conversion tests: tiny training runs (built once per session) and helpers.

Two runs are trained through antbee.train on the same synthetic three-colour data set:

- `tiny_run`: the real architecture (MobileNetV2 alpha 0.35, no pretrained weights, L-BFGS head), so
  every TFLite variant converts the real graph. Untrained MobileNetV2 features are nearly zero, so its
  predictions barely depend on the image: it checks conversion, not agreement.
- `colour_run`: the same pipeline with a small convolutional backbone in place of MobileNetV2 and
  `resize="squash"`, so the model really tells the colours apart (test accuracy 1.0) and agreement
  with Keras means something.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import cv2
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared"
VARIANTS = ("int8", "float16", "dynamic", "float32")
COLOURS = {"red": (30, 30, 220), "green": (30, 200, 30), "blue": (220, 30, 30)}  # BGR
CLASSES = ("blue", "green", "red")


def image(colour: str, seed: int, size=(44, 60)) -> np.ndarray:
    """A BGR image of one colour with its own noise (no two files alike)."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(-25, 26, (*size, 3))
    return np.clip(np.array(COLOURS[colour], np.int16) + noise, 0, 255).astype(np.uint8)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` and its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(folder: Path) -> list[str]:
    """Temporary or half-written files: `.verifying`, `.tmp`, hidden files."""
    return [p.name for p in folder.rglob("*")
            if p.name.endswith((".verifying", ".tmp")) or p.name.startswith(".")]


def copy_run(run: Path, to: Path) -> Path:
    """A copy of a run folder's training outputs (no converted models)."""
    to.mkdir(parents=True)
    for name in ("model.keras", "labels.txt", "split.json", "metrics.json"):
        shutil.copy(run / name, to / name)
    return to


@pytest.fixture(scope="session")
def cv():
    """This module's constants and helpers (test modules cannot import a conftest under importlib mode)."""
    return SimpleNamespace(**{k: v for k, v in globals().items() if not k.startswith("_")})


@pytest.fixture(scope="session")
def colour_data(tmp_path_factory) -> Path:
    """A flat folder of 3 colours x 12 images, the class in each file name."""
    folder = tmp_path_factory.mktemp("convert_data") / "colours"
    folder.mkdir()
    for c, colour in enumerate(CLASSES):
        for i in range(12):
            suffix = ".png" if i % 3 == 0 else ".jpg"
            ok, data = cv2.imencode(suffix, image(colour, 100 * c + i))
            assert ok
            (folder / f"{colour}_{i:02d}{suffix}").write_bytes(data.tobytes())
    return folder


class Run(NamedTuple):
    out: Path
    metrics: dict


def _train(data: Path, out: Path, resize: str = "crop") -> Run:
    from antbee.train.run import TrainOptions, train

    train(TrainOptions(data=str(data), out=str(out), backbone="mobilenet_v2:0.35", weights="none", head="lbfgs",
                       test_size=0.25, seed=0, resize=resize))
    return Run(out, json.loads((out / "metrics.json").read_text()))


@pytest.fixture(scope="session")
def tiny_run(colour_data, tmp_path_factory) -> Run:
    """MobileNetV2 0.35 (random init) + L-BFGS head, written to `<tmp>/artifacts`, antbee-train's default."""
    return _train(colour_data, tmp_path_factory.mktemp("tiny") / "artifacts")


def _colour_backbone(backbone="mobilenet_v2", weights="imagenet", size=(224, 224)):
    import keras

    from antbee.train.backbones import Backbone

    layer = keras.Sequential([
        keras.layers.Conv2D(8, 8, strides=8, activation="relu", name="colour_conv",
                            kernel_initializer=keras.initializers.GlorotUniform(seed=1),
                            bias_initializer=keras.initializers.Constant(0.05)),
        keras.layers.GlobalAveragePooling2D(name="colour_pool"),
    ], name="colour_backbone")
    return Backbone(layer, 1 / 255, 0.0, "colour")


@pytest.fixture(scope="session")
def colour_run(colour_data, tmp_path_factory) -> Run:
    """The real pipeline with a small conv backbone that separates the colours."""
    import antbee.train.backbones as backbones

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backbones, "build_backbone", _colour_backbone)
        run = _train(colour_data, tmp_path_factory.mktemp("colour") / "run", resize="squash")
    assert run.metrics["accuracy"] == 1.0, "precondition: the colour model must separate the colours"
    return run
