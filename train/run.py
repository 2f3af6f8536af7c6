"""One training run: read the data, cache backbone features, fit the head, evaluate, write the run folder."""

from __future__ import annotations

import json
import os
import shutil
import secrets
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from antbee.common.errors import UsageError
from antbee.common.extras import require
from antbee.common.runs import (CONFUSION_PLOT, CURVE_PLOT, HISTORY, KERAS_MODEL, LABELS, METRICS, RUN_DIR,
                                SPLIT, TRAINING_FILES, Skipped, Split, converted_files)
from antbee.edge.preprocess import IMAGE_SIZE, RESIZE_MODES
from antbee.train import data as datalib
from antbee.train.fetch import cache_dir, fetch
from antbee.train.metrics import Metrics, classification_metrics, cross_duplicates

REFERENCE_URL = "https://download.pytorch.org/tutorial/hymenoptera_data.zip"


@dataclass(frozen=True)
class TrainOptions:
    """Everything a run depends on; antbee-train's flags map onto these fields."""

    data: str | None = None
    out: str = str(RUN_DIR)
    labels_from: str = "detect"
    test_size: float = 0.1
    seed: int = 0
    resize: str = "crop"
    backbone: str = "mobilenet_v2"
    weights: str = "imagenet"
    head: str = "lbfgs"
    flip: bool = True
    epochs: int = 20
    patience: int = 3
    learning_rate: float = 1e-3
    dropout: float = 0.5
    label_smoothing: float = 0.0
    cv: int = 0
    cv_repeats: int = 3
    ray: str | None = None  # a Ray cluster's address (or auto) to compute the backbone features on

    def head_options(self):
        """The part of these options that fitting the head uses."""
        from antbee.train.fit import HeadOptions

        return HeadOptions(self.head, self.epochs, self.patience, self.learning_rate,
                           label_smoothing=self.label_smoothing, seed=self.seed)


@dataclass(frozen=True)
class Prepared:
    """Decoded images of both splits with their cached backbone features."""

    split: Split
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    train_features: np.ndarray  # originals first, then their mirror images if flip
    test_features: np.ndarray
    test_flip_features: np.ndarray | None
    duplicates: tuple[str, ...]


@dataclass(frozen=True)
class TrainResult:
    """What a run produced."""

    out: Path
    metrics: Metrics
    summary: dict


def validate(options: TrainOptions) -> None:
    """Check option values before any slow work."""
    from antbee.train.fit import HEADS

    if options.resize not in RESIZE_MODES:
        raise UsageError(f"--resize {options.resize!r}: expected one of {', '.join(RESIZE_MODES)}")
    if options.head not in HEADS:
        raise UsageError(f"--head {options.head!r}: expected one of {', '.join(HEADS)}")
    if options.epochs < 1 or options.patience < 0:
        raise UsageError("--epochs must be at least 1 and --patience at least 0")
    if not 0.0 <= options.dropout < 1.0:
        raise UsageError(f"--dropout {options.dropout}: expected a rate in [0, 1)")
    if options.cv == 1 or options.cv < 0 or options.cv_repeats < 1:
        raise UsageError(f"--cv {options.cv}: expected 0 (off) or at least 2 folds, and --cv-repeats >= 1")
    if options.learning_rate <= 0 or not 0.0 <= options.label_smoothing < 1.0:
        raise UsageError("--learning-rate must be positive and --label-smoothing in [0, 1)")
    if options.ray is not None and not options.ray.strip():
        raise UsageError("--ray '': expected auto, a head node's host:port or ray://host:10001")
    if options.ray is not None:
        require("ray", "batch", f"--ray {options.ray}")


def resolve_data(data: str | None) -> str:
    """The data path, or the reference ants/bees ZIP downloaded once into Keras' dataset cache."""
    if data is not None:
        return data
    return str(fetch(REFERENCE_URL, cache_dir("datasets") / "hymenoptera_data.zip", "the reference data set",
                     "offline? pass the ZIP: antbee-train path/to/hymenoptera_data.zip"))


def prepare_data(split: Split, options: TrainOptions, features_model, tracker) -> Prepared:
    """Decode and featurise the split once; `tracker(description, total)` returns a step callback."""
    with datalib.DataSource(split.data) as source:
        parts = {name: datalib.read_images(source, examples, IMAGE_SIZE, options.resize,
                                           tracker(f"decoding {name} images", len(examples)))
                 for name, examples in (("train", split.train), ("test", split.test))}
    train_x, train_y, train_kept, train_skipped, train_hashes = parts["train"]
    test_x, test_y, test_kept, test_skipped, test_hashes = parts["test"]
    for index, name in enumerate(split.classes):
        if not np.any(train_y == index):
            raise UsageError(f"{split.data}: class {name!r} has no readable training images")
    dup = cross_duplicates(train_hashes, test_hashes)  # a test image seen in training would inflate the score
    keep = np.setdiff1d(np.arange(len(test_kept)), dup)
    duplicates = tuple(test_kept[i].source for i in dup)
    test_x, test_y = test_x[keep], test_y[keep]
    skipped = (*split.skipped, *train_skipped, *test_skipped,
               *(Skipped(s, "exact duplicate of a training image") for s in duplicates))
    split = replace(split, train=tuple(train_kept), test=tuple(test_kept[i] for i in keep), skipped=skipped,
                    resize=options.resize)
    extract_features = feature_extractor(options)
    flips = 2 if options.flip else 1
    cv_flips = 2 if options.cv and options.flip else 1
    step = tracker("backbone features", flips * len(train_x) + cv_flips * len(test_x))
    train_features = extract_features(features_model, train_x, progress=step)
    if options.flip:
        train_features = np.concatenate([train_features,
                                         extract_features(features_model, train_x[:, :, ::-1], progress=step)])
    test_features = extract_features(features_model, test_x, progress=step)
    test_flip = extract_features(features_model, test_x[:, :, ::-1], progress=step) if cv_flips == 2 else None
    return Prepared(split, train_x, train_y, test_x, test_y, train_features, test_features, test_flip, duplicates)


def feature_extractor(options: TrainOptions):
    """extract_features, or with --ray its drop-in that runs the frozen backbone on Ray actors."""
    if options.ray is None:
        from antbee.train.fit import extract_features

        return extract_features
    from antbee.batch.features import RayFeatures

    return RayFeatures(options.ray)


def write_run(out: Path, model, split: Split, metrics: dict, history: dict, plots) -> None:
    """Write every artifact to a staging folder, then move each into `out` by atomic rename."""
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".staging-{secrets.token_hex(6)}"
    # Made inside the `try`: an interrupt landing just after the folder appears must still remove it.
    try:
        staging.mkdir()
        model.save(staging / KERAS_MODEL)
        (staging / LABELS).write_text("".join(f"{c}\n" for c in split.classes))
        split.save(staging / SPLIT)
        (staging / METRICS).write_text(json.dumps(metrics, indent=2))
        (staging / HISTORY).write_text(json.dumps(history, indent=2))
        plots(staging)
        # Models converted from the Keras model being replaced must not stay under deployable
        # names (nor in antbee-bench's cache); they go first, so a crash cannot leave them beside it.
        for stale in converted_files(out):
            stale.unlink()
        for name in TRAINING_FILES:
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def config_of(options: TrainOptions, split: Split) -> dict:
    """The resolved configuration recorded in the run's metrics file."""
    return {**asdict(options), "data": split.data, "labels_from": split.labels_from, "presplit": split.presplit,
            "image_size": list(IMAGE_SIZE)}


def train(options: TrainOptions, tracker=None, on_epoch=None) -> TrainResult:
    """Train, evaluate on the test split, optionally cross-validate, and write the run folder."""
    import keras

    from antbee.train import plots
    from antbee.train.backbones import build_backbone
    from antbee.train.crossval import cross_validate
    from antbee.train.fit import fit_head
    from antbee.train.model import build_models

    validate(options)
    tracker = tracker or (lambda description, total: None)
    split = datalib.make_split(resolve_data(options.data), options.labels_from, options.test_size, options.seed)
    backbone = build_backbone(options.backbone, options.weights, IMAGE_SIZE)
    keras.utils.set_random_seed(options.seed)
    models = build_models(backbone, len(split.classes), IMAGE_SIZE, options.dropout)
    prepared = prepare_data(split, options, models.features, tracker)
    split = prepared.split
    if len(prepared.test_y) == 0:
        raise UsageError(f"{split.data}: no readable test images")

    head_options = options.head_options()
    n = len(prepared.train_y)
    flips = len(prepared.train_features) // n
    labels = np.tile(prepared.train_y, flips)
    groups = np.tile(np.arange(n), flips)
    fitted = fit_head(prepared.train_features, labels, groups, len(split.classes), head_options,
                      head=models.head, on_epoch=on_epoch)
    models.head.get_layer("logits").set_weights([fitted.kernel, fitted.bias])

    # The whole saved model, not the cached features, scores the test split: it proves the
    # assembled model (normalisation, backbone, fitted head, softmax) is the one that was fitted.
    probabilities = models.full.predict(prepared.test_x.astype(np.float32), batch_size=32, verbose=0)
    metrics = classification_metrics(prepared.test_y, probabilities.argmax(1), split.classes)
    summary = {**asdict(metrics), "n_train": n, "n_val": fitted.n_val, "n_test": len(prepared.test_y),
               "skipped": [asdict(s) for s in split.skipped], "duplicates": list(prepared.duplicates),
               "config": config_of(options, split)}
    if options.cv:
        smallest = int(np.bincount(np.concatenate([prepared.train_y, prepared.test_y])).min())
        if options.cv > smallest:
            raise UsageError(f"--cv {options.cv}: the smallest class has only {smallest} images; "
                             f"use at most that many folds")

        def head_factory():
            return build_models(backbone, len(split.classes), IMAGE_SIZE, options.dropout).head

        features = np.concatenate([prepared.train_features[:n], prepared.test_features])
        flip = (np.concatenate([prepared.train_features[n:], prepared.test_flip_features])
                if options.flip else None)
        all_labels = np.concatenate([prepared.train_y, prepared.test_y])
        summary["cv"] = cross_validate(features, flip, all_labels, list(split.classes), head_options, options.cv,
                                       options.cv_repeats, head_factory if options.head == "adam" else None,
                                       tracker("cross-validation folds", options.cv * options.cv_repeats))

    def draw(folder: Path) -> None:
        plots.confusion_matrix_png(metrics.confusion_matrix, split.classes, folder / CONFUSION_PLOT,
                                   f"test split: {metrics.correct}/{metrics.n} correct")
        plots.training_curve_png(fitted.history, folder / CURVE_PLOT)

    out = Path(options.out)
    write_run(out, models.full, split, summary, fitted.history, draw)
    return TrainResult(out, metrics, summary)

