"""Fixtures every test folder shares: the colour data set, one tiny training run, the tiny models, ../shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import synthetic
import tiny_models as tiny
from antbee.common import logs
from antbee.common.runs import RUN_DIR
from run_folders import Run, train_run

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"

logs.configure(False)  # the library log levels every command sets, before any test imports TensorFlow


@pytest.fixture(scope="session")
def colour_data(tmp_path_factory) -> Path:
    """A flat folder of 3 colours x 12 images, the class in each file name."""
    return synthetic.write_colour_set(tmp_path_factory.mktemp("colour_data") / "colours")


@pytest.fixture(scope="session")
def tiny_run(colour_data, tmp_path_factory) -> Run:
    """The real architecture (MobileNetV2 alpha 0.35, random init) + L-BFGS head on the colour data, written to
    `<tmp>/artifacts`, antbee-train's default. Its features are nearly zero, so its predictions barely depend on
    the image: it checks conversion and measurement, not agreement. Tests that add files work on a copy."""
    return train_run(colour_data, tmp_path_factory.mktemp("tiny") / RUN_DIR)


def _check_decides_by_colour(path: Path) -> None:
    from antbee.edge.classifier import Classifier, ClassifierOptions

    classifier = Classifier(ClassifierOptions(model=path))
    for colour, label in ((tiny.RED_BGR, "ant"), (tiny.BLUE_BGR, "bee")):
        image = np.full((40, 60, 3), colour, np.uint8)
        top = classifier.classify_bgr(image).top
        assert top.label == label and top.score > 0.9, f"{path.name}: {colour} -> {top}"


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """The tiny models (float32 and int8 with labels packed in, a plain int8, a [1, 10]-input one), checked by colour."""
    models = tiny.build_tiny_models(tmp_path_factory.mktemp("models"))
    _check_decides_by_colour(models.float32)
    _check_decides_by_colour(models.int8)
    return models


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder beside the checkout; skips the test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED} (expected ../shared beside the checkout)")
    return SHARED
