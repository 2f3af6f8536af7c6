"""Test-split images and per-model accuracy, precision, recall, F1, confusion matrix and agreement with Keras."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from antbee.benchmarks.results import Accuracy
from antbee.common.errors import UsageError
from antbee.edge.preprocess import IMAGE_SIZE
from antbee.common.runs import SPLIT, Split, split_file
from antbee.train.data import DataSource, make_split, read_images


class TestImages(NamedTuple):
    """The readable test images: prepared pixels, labels, their encoded bytes (for decode timing) and names."""

    pixels: np.ndarray  # N x H x W x 3 uint8 RGB, as the models take them
    labels: np.ndarray
    encoded: list[bytes]
    sources: list[str]
    classes: tuple[str, ...]
    skipped: list[str]


def find_split(run_dir: Path, data: str | None) -> tuple[Split | None, str | None]:
    """The run's split (with --data replacing its data path), else one re-derived from --data; and a note."""
    path = split_file(run_dir)
    if path.is_file():
        split = Split.load(path)
        if data is not None:
            split = replace(split, data=data)
        return split, None
    if data is None:
        return None, (f"accuracy, end-to-end over the test images and peak memory left out: no {SPLIT} in "
                      f"{run_dir} and no --data")
    # Without the run's split the test part can only be re-derived with antbee-train's defaults;
    # it is the trained-on split only if that run used them.
    return make_split(data), (f"no {SPLIT} in {run_dir}: test split re-derived from {data} with "
                              "antbee-train's defaults (seed 0, 10% or its val/ folder)")


def read_test_images(split: Split, progress=None) -> TestImages:
    """Decode and prepare the split's test images through antbee.train.data.read_images, keeping their bytes."""
    if not Path(split.data).exists():
        raise UsageError(f"{split.data}: the run's data is gone; pass --data with the ZIP or folder it came from")
    with DataSource(split.data) as source:
        images = read_images(source, split.test, IMAGE_SIZE, split.resize, progress)
        encoded = [source.read(example.source) for example in images.kept]
    if len(images.labels) == 0:
        raise UsageError(f"{split.data}: none of the {len(split.test)} test images is readable")
    skipped = [f"{s.source}: {s.reason}" for s in images.skipped]
    return TestImages(images.pixels, images.labels, encoded, [e.source for e in images.kept], split.classes,
                      skipped)


def accuracy(model: str, scores: np.ndarray, test: TestImages, keras_top: np.ndarray | None) -> Accuracy:
    """Metrics from antbee.train.metrics.classification_metrics plus top-1 agreement with Keras."""
    from antbee.train.metrics import classification_metrics

    if scores.shape[1] != len(test.classes):
        raise UsageError(f"{model}: {scores.shape[1]} output classes, but the test split has {len(test.classes)}")
    top = scores.argmax(1)
    metrics = classification_metrics(test.labels, top, test.classes)
    agreement = float(np.mean(top == keras_top)) if keras_top is not None else None
    return Accuracy(model, metrics.accuracy, metrics.precision, metrics.recall, metrics.f1, metrics.correct,
                    metrics.n, metrics.confusion_matrix, metrics.classes, agreement)
