"""Fixtures for the benchmark tests: a tiny trained run (synthetic coloured images) and one smoke report of it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import pytest

SIZE = 64
PER_CLASS = 12  # 24 images: 18 to train, 6 to test
# BGR, as cv2 encodes them: reddish "ants", bluish "bees", each image a different shade with noise.
COLOURS = {"ants": (40, 50, 200), "bees": (200, 60, 40)}


class SmokeRun(NamedTuple):
    """The tiny run folder, its smoke report folder, and what the CLI printed."""

    run_dir: Path
    out: Path
    report: dict
    stdout: str


def write_images(folder: Path) -> Path:
    """A folder data set: <folder>/<class>/<class>_NN.jpg, solid-ish colour with noise."""
    rng = np.random.default_rng(0)
    for name, colour in COLOURS.items():
        (folder / name).mkdir(parents=True)
        for i in range(PER_CLASS):
            shade = np.clip(np.array(colour) + rng.integers(-30, 30, 3), 0, 255)
            image = np.clip(shade + rng.normal(0, 12, (SIZE, SIZE + 16, 3)), 0, 255).astype(np.uint8)
            ok, encoded = cv2.imencode(".jpg", image)
            assert ok
            (folder / name / f"{name}_{i:02d}.jpg").write_bytes(encoded.tobytes())
    return folder


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A run folder from antbee.train.run.train on 24 synthetic images (MobileNetV2 0.35, no weights)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from antbee.train.run import TrainOptions, train

    root = tmp_path_factory.mktemp("bench")
    data = write_images(root / "data")
    out = root / "run"
    train(TrainOptions(data=str(data), out=str(out), backbone="mobilenet_v2:0.35", weights="none",
                       test_size=0.25, flip=False))
    return out


def invoke(*args: str):
    """Run antbee-bench in this process and return the click Result."""
    from typer.testing import CliRunner

    from antbee.benchmarks.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="session")
def bench():
    """The `invoke(*args)` helper: antbee-bench in this process, returning the click Result."""
    return invoke


@pytest.fixture(scope="session")
def smoke_run(tiny_run) -> SmokeRun:
    """One `antbee-bench RUN --smoke` of the tiny run (it converts all four variants into its --out)."""
    out = tiny_run.parent / "bench"
    result = invoke(tiny_run, "--smoke", "--out", out)
    assert result.exit_code == 0, result.output
    return SmokeRun(tiny_run, out, json.loads((out / "report.json").read_text()), result.stdout)
