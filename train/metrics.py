"""Classification metrics (scikit-learn), confidence intervals, and train/test duplicate detection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metrics:
    """Test-split classification metrics; precision/recall/F1 are support-weighted averages."""

    accuracy: float
    precision: float
    recall: float
    f1: float
    correct: int
    n: int
    per_class: dict
    confusion_matrix: list
    classes: list


def classification_metrics(labels: np.ndarray, predicted: np.ndarray, classes: Sequence[str]) -> Metrics:
    """Accuracy, weighted precision/recall/F1 (as the notebook reported them), per class, confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    indices = list(range(len(classes)))
    precision, recall, f1, _ = precision_recall_fscore_support(labels, predicted, labels=indices,
                                                               average="weighted", zero_division=0)
    per_p, per_r, per_f, support = precision_recall_fscore_support(labels, predicted, labels=indices,
                                                                   zero_division=0)
    return Metrics(
        accuracy=float(accuracy_score(labels, predicted)),
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        correct=int(np.sum(labels == predicted)),
        n=int(len(labels)),
        per_class={name: {"precision": float(per_p[i]), "recall": float(per_r[i]), "f1": float(per_f[i]),
                          "support": int(support[i])} for i, name in enumerate(classes)},
        confusion_matrix=confusion_matrix(labels, predicted, labels=indices).tolist(),
        classes=list(classes),
    )


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> dict:
    """Mean and a t-interval over repeated-CV fold scores.

    Folds share training images, so this interval is somewhat optimistic (Nadeau & Bengio);
    it is still far tighter and more honest than one 40-image split.
    """
    from scipy import stats

    values = np.asarray(values, float)
    mean = float(values.mean())
    if len(values) < 2:
        return {"mean": mean, "low": mean, "high": mean, "n": len(values)}
    half = float(stats.t.ppf((1 + confidence) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": len(values)}


def cross_duplicates(train_hashes: Sequence[tuple[str, str]], test_hashes: Sequence[tuple[str, str]]) -> list[int]:
    """Indices of test images whose bytes or pixels equal a training image's."""
    seen = {h for pair in train_hashes for h in pair}
    return [i for i, pair in enumerate(test_hashes) if pair[0] in seen or pair[1] in seen]
