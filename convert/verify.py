"""Run a .tflite through the edge runtime on the held-out test images and compare it with the Keras model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from antbee.edge.classifier import Classifier, ClassifierOptions


@dataclass(frozen=True)
class Verification:
    """How a converted model compares with its Keras original on the test split."""

    variant: str
    n: int
    keras_accuracy: float
    tflite_accuracy: float
    agreement: float  # share of images where both give the same top-1 class
    disagreements: int
    max_score_diff: float
    size_bytes: int
    max_drop: float

    @property
    def drop(self) -> float:
        """Accuracy lost by conversion (positive = worse)."""
        return self.keras_accuracy - self.tflite_accuracy

    @property
    def passed(self) -> bool:
        """Within --max-drop; a float32 model must also agree with Keras on every image."""
        if self.variant == "float32" and self.disagreements:
            return False
        return self.drop <= self.max_drop + 1e-9


def tflite_scores(path: Path, pixels: np.ndarray, threads: int | None = None, progress=None) -> np.ndarray:
    """Scores of every image through the same Classifier the device uses."""
    classifier = Classifier(ClassifierOptions(model=Path(path), threads=threads))
    rows = []
    for image in pixels:
        rows.append(classifier.classify(image).scores)
        if progress is not None:
            progress()
    return np.stack(rows)


def keras_scores(model, pixels: np.ndarray) -> np.ndarray:
    """Scores of the Keras model for every image (model.predict, batch 32, as antbee-train evaluates)."""
    return np.asarray(model.predict(pixels.astype(np.float32), batch_size=32, verbose=0))


def verify(path: Path, variant: str, pixels: np.ndarray, labels: np.ndarray, keras_scores: np.ndarray,
           max_drop: float) -> Verification:
    """Compare the .tflite at `path` with the Keras scores on the test images."""
    scores = tflite_scores(path, pixels)
    keras_top, tflite_top = keras_scores.argmax(1), scores.argmax(1)
    return Verification(
        variant=variant,
        n=len(labels),
        keras_accuracy=float(np.mean(keras_top == labels)),
        tflite_accuracy=float(np.mean(tflite_top == labels)),
        agreement=float(np.mean(keras_top == tflite_top)),
        disagreements=int(np.sum(keras_top != tflite_top)),
        max_score_diff=float(np.max(np.abs(scores - keras_scores))),
        size_bytes=path.stat().st_size,
        max_drop=max_drop,
    )
