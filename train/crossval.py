"""Repeated stratified K-fold cross-validation of the head over cached features of all images."""

from __future__ import annotations

import numpy as np

from antbee.train.fit import HeadOptions, fit_head
from antbee.train.metrics import classification_metrics, mean_ci


def cross_validate(features: np.ndarray, flip_features: np.ndarray | None, labels: np.ndarray,
                   classes: list[str], options: HeadOptions, folds: int, repeats: int, head_factory=None,
                   progress=None) -> dict:
    """Mean and 95% interval of accuracy, precision, recall and F1 over `repeats` x `folds` held-out folds."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=options.seed)
    scores: dict[str, list[float]] = {"accuracy": [], "precision": [], "recall": [], "f1": []}
    for train_idx, test_idx in splitter.split(features, labels):
        x, y, groups = features[train_idx], labels[train_idx], train_idx
        if flip_features is not None:  # mirror images join training only, in their original's group
            x = np.concatenate([x, flip_features[train_idx]])
            y, groups = np.concatenate([y, y]), np.concatenate([groups, groups])
        fitted = fit_head(x, y, groups, len(classes), options, head=head_factory() if head_factory else None)
        logits = features[test_idx] @ fitted.kernel + fitted.bias
        metrics = classification_metrics(labels[test_idx], logits.argmax(1), classes)
        for key in scores:
            scores[key].append(getattr(metrics, key))
        if progress is not None:
            progress(1)
    return {"folds": folds, "repeats": repeats, **{key: mean_ci(values) for key, values in scores.items()},
            "fold_accuracy": scores["accuracy"]}
