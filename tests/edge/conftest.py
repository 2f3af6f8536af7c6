"""Fixtures for the edge tests: tiny colour-deciding .tflite models (built once per session), images and a video."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import pytest

from antbee.edge.metadata import ModelInfo, attach

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared"
SIZE = 32
LABELS = ("ant", "bee")
# BGR pixels, as cv2.imwrite takes them: red decides "ant", blue decides "bee".
RED = (20, 30, 220)
BLUE = (220, 30, 20)


class TinyModels(NamedTuple):
    """Paths of the session's tiny models."""

    float32: Path
    int8: Path
    plain: Path  # the int8 model without packed labels or input contract
    folder: Path


def _keras_model():
    import keras

    inputs = keras.Input((SIZE, SIZE, 3), dtype="float32")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    conv = keras.layers.Conv2D(4, 3, name="conv")
    x = keras.layers.GlobalAveragePooling2D()(conv(x))
    dense = keras.layers.Dense(2, name="dense")
    outputs = keras.layers.Softmax()(dense(x))
    model = keras.Model(inputs, outputs)
    # Filter 0 averages the red channel, filter 1 the blue one (model input is RGB); the head
    # scores 10 * (red - blue) for "ant" and the opposite for "bee": the decision follows the colour.
    kernel = np.zeros((3, 3, 3, 4), np.float32)
    kernel[:, :, 0, 0] = 1 / 9
    kernel[:, :, 2, 1] = 1 / 9
    conv.set_weights([kernel, np.zeros(4, np.float32)])
    head = np.zeros((4, 2), np.float32)
    head[0] = (10, -10)
    head[1] = (-10, 10)
    dense.set_weights([head, np.zeros(2, np.float32)])
    return model


def _calibration():
    rng = np.random.default_rng(0)
    for i in range(48):
        if i % 2:
            image = rng.integers(0, 256, (1, SIZE, SIZE, 3))
        else:  # solid colours reach the extreme logits the test images produce
            image = np.broadcast_to(rng.integers(0, 256, (1, 1, 1, 3)), (1, SIZE, SIZE, 3))
        yield [image.astype(np.float32)]


def _convert(saved_model: Path, int8: bool) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = _calibration
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    return converter.convert()


def _check_decides_by_colour(path: Path) -> None:
    from antbee.edge.classifier import Classifier, ClassifierOptions

    classifier = Classifier(ClassifierOptions(model=path))
    for colour, label in ((RED, "ant"), (BLUE, "bee")):
        image = np.full((40, 60, 3), colour, np.uint8)
        top = classifier.classify_bgr(image).top
        assert top.label == label and top.score > 0.9, f"{path.name}: {colour} -> {top}"


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> TinyModels:
    """A float32 and an int8 tiny model with labels ant/bee packed in, and a plain int8 one; checked by colour."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    folder = tmp_path_factory.mktemp("models")
    saved = folder / "saved_model"
    _keras_model().export(str(saved), verbose=False)
    info = ModelInfo(labels=LABELS, size=(SIZE, SIZE), resize="crop", mean=0.0, std=1.0)
    paths = {}
    for name, int8 in (("float32", False), ("int8", True)):
        content = _convert(saved, int8)
        paths[name] = folder / f"tiny_{name}.tflite"
        paths[name].write_bytes(attach(content, info))
        if int8:
            paths["plain"] = folder / "tiny_plain.tflite"
            paths["plain"].write_bytes(content)
    models = TinyModels(paths["float32"], paths["int8"], paths["plain"], folder)
    _check_decides_by_colour(models.float32)
    _check_decides_by_colour(models.int8)
    return models


@pytest.fixture
def write_image(tmp_path):
    """Write a solid-colour image (BGR) of a given size to tmp_path/name and return its path."""

    def write(name: str, colour=RED, size=(48, 64)) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image = np.full((*size, 3), colour, np.uint8)
        ok, encoded = cv2.imencode(path.suffix or ".png", image)
        assert ok
        path.write_bytes(encoded.tobytes())  # imwrite cannot take every non-ASCII path
        return path

    return write


@pytest.fixture
def red_blue_video(tmp_path) -> Path:
    """An MJPG .avi of 6 red frames then 4 blue ones."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    assert writer.isOpened(), "this OpenCV cannot write MJPG .avi"
    for i in range(10):
        writer.write(np.full((48, 64, 3), RED if i < 6 else BLUE, np.uint8))
    writer.release()
    return path


class FakeCapture:
    """A cv2.VideoCapture stand-in: plays a list of frames (None = a failed read), then fails forever."""

    def __init__(self, frames, opened: bool = True):
        self.frames = list(frames)
        self.opened = opened
        self.reads = 0
        self.released = False
        self.props = {}

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened

    def set(self, prop, value) -> bool:
        self.props[prop] = value
        return True

    def read(self, image=None):
        self.reads += 1
        if not self.frames:
            return False, None
        frame = self.frames.pop(0)
        return (False, None) if frame is None else (True, frame)

    def release(self) -> None:
        self.released = True


@pytest.fixture
def fake_capture():
    """The FakeCapture class."""
    return FakeCapture


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder beside the checkout; skips the test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED} (expected ../shared beside the checkout)")
    return SHARED
