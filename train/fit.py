"""Fit the head on cached backbone features: Adam with early stopping, or L2 logistic regression by L-BFGS."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import keras
import numpy as np

HEADS = ("lbfgs", "adam")


class HeadOptions(NamedTuple):
    """How the Dense head is fitted."""

    head: str = "lbfgs"
    epochs: int = 20
    patience: int = 3
    learning_rate: float = 1e-3
    batch_size: int = 32
    label_smoothing: float = 0.0
    val_fraction: float = 0.1
    c_grid: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0)
    seed: int = 0


class Fitted(NamedTuple):
    """The head's weights and what fitting it did."""

    kernel: np.ndarray  # features x classes
    bias: np.ndarray  # classes
    history: dict  # per-epoch losses (adam) or the C search (lbfgs)
    n_val: int  # images held out for early stopping (adam); 0 when CV on the training images chose C


def extract_features(feature_model: keras.Model, pixels: np.ndarray, batch_size: int = 32,
                     progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Run the frozen backbone once over `pixels` (N x H x W x 3, 0..255) and return N x D features."""
    batches = []
    for start in range(0, len(pixels), batch_size):
        batch = pixels[start:start + batch_size].astype(np.float32)
        batches.append(np.asarray(feature_model(batch, training=False)))
        if progress is not None:
            progress(len(batch))
    return np.concatenate(batches) if batches else np.zeros((0, feature_model.output.shape[-1]), np.float32)


def fit_head(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, classes: int,
             options: HeadOptions, head: keras.Model | None = None,
             on_epoch: Callable[[int, dict], None] | None = None) -> Fitted:
    """Fit the head on features; `groups` ties augmented copies to their source image for held-out splits."""
    if options.head == "lbfgs":
        return _fit_lbfgs(features, labels, groups, classes, options)
    if head is None:
        raise ValueError("the adam head needs the Keras head model to train")
    return _fit_adam(head, features, labels, groups, options, on_epoch)


def _fit_lbfgs(features, labels, groups, classes, options: HeadOptions) -> Fitted:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

    # The inverse regularisation C is chosen by 3-fold CV on the training images only, with
    # a flipped copy kept in the same fold as its original so it cannot leak into validation.
    # Count source images (groups), not augmented copies, per class: folds split groups.
    per_class = [len(np.unique(groups[labels == c])) for c in np.unique(labels)]
    folds = min(3, min(per_class))
    if folds < 2:  # too few images to choose C by CV: scikit-learn's default strength
        model = LogisticRegression(max_iter=5000).fit(features, labels)
        return _lbfgs_result(model, classes, {"C": [1.0], "cv_log_loss": [float("nan")], "best_C": 1.0})
    search = GridSearchCV(LogisticRegression(max_iter=5000), {"C": list(options.c_grid)},
                          cv=StratifiedGroupKFold(folds, shuffle=True, random_state=options.seed),
                          scoring="neg_log_loss")
    search.fit(features, labels, groups=groups)
    scores = search.cv_results_["mean_test_score"]
    history = {"C": list(options.c_grid), "cv_log_loss": [float(-s) for s in scores],
               "best_C": float(search.best_params_["C"])}
    return _lbfgs_result(search.best_estimator_, classes, history)


def _lbfgs_result(model, classes: int, history: dict) -> Fitted:
    kernel, bias = model.coef_.T, model.intercept_
    if classes == 2:  # one logit z for class 1; softmax([-z/2, z/2]) = sigmoid(z)
        kernel = np.concatenate([-kernel / 2, kernel / 2], axis=1)
        bias = np.array([-bias[0] / 2, bias[0] / 2])
    return Fitted(kernel.astype(np.float32), bias.astype(np.float32), history, 0)


def _fit_adam(head, features, labels, groups, options: HeadOptions, on_epoch) -> Fitted:
    from sklearn.model_selection import GroupShuffleSplit

    # Early stopping watches a part of the training images, never the test split.
    splitter = GroupShuffleSplit(1, test_size=options.val_fraction, random_state=options.seed)
    fit_idx, val_idx = next(splitter.split(features, labels, groups))
    keras.utils.set_random_seed(options.seed)
    classes = head.output.shape[-1]
    head.compile(optimizer=keras.optimizers.Adam(options.learning_rate),
                 loss=keras.losses.CategoricalCrossentropy(from_logits=True,
                                                           label_smoothing=options.label_smoothing),
                 metrics=["accuracy"])
    one_hot = keras.utils.to_categorical(labels, classes)
    callbacks = [keras.callbacks.EarlyStopping(patience=options.patience, restore_best_weights=True)]
    if on_epoch is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=on_epoch))
    result = head.fit(features[fit_idx], one_hot[fit_idx], validation_data=(features[val_idx], one_hot[val_idx]),
                      epochs=options.epochs, batch_size=options.batch_size, verbose=0, callbacks=callbacks)
    kernel, bias = head.get_layer("logits").get_weights()
    history = {key: [float(v) for v in values] for key, values in result.history.items()}
    return Fitted(kernel, bias, history, len(np.unique(groups[val_idx])))
