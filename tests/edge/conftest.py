"""Fixtures for the edge tests: tiny colour-deciding .tflite models (built once per session), images and a video."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared"
SIZE = 32
LABELS = ("ant", "bee")
# BGR pixels, as cv2.imwrite takes them: red decides "ant", blue decides "bee".
RED = (20, 30, 220)
BLUE = (220, 30, 20)


def _load_tiny_models():
    # Shared with tests/reliability; loaded by path, since test folders cannot import each other.
    name = "antbee_test_tiny_models"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "tests" / "tiny_models.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _check_decides_by_colour(path: Path) -> None:
    from antbee.edge.classifier import Classifier, ClassifierOptions

    classifier = Classifier(ClassifierOptions(model=path))
    for colour, label in ((RED, "ant"), (BLUE, "bee")):
        image = np.full((40, 60, 3), colour, np.uint8)
        top = classifier.classify_bgr(image).top
        assert top.label == label and top.score > 0.9, f"{path.name}: {colour} -> {top}"


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """A float32 and an int8 tiny model with labels ant/bee packed in, and a plain int8 one; checked by colour."""
    models = _load_tiny_models().build_tiny_models(tmp_path_factory.mktemp("models"))
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
