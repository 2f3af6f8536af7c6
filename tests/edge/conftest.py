"""Fixtures for the edge tests: tiny colour-deciding .tflite models (built once per session), images and a video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import synthetic
from tiny_models import BLUE_BGR as BLUE
from tiny_models import RED_BGR as RED


@pytest.fixture
def write_image(tmp_path):
    """Write a solid-colour image (BGR) of a given size to tmp_path/name and return its path."""

    def write(name: str, colour=RED, size=(48, 64)) -> Path:
        path = tmp_path / name
        # Written as bytes: cv2.imwrite cannot take every non-ASCII path.
        return synthetic.write(path, synthetic.encode(np.full((*size, 3), colour, np.uint8), path.suffix or ".png"))

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
