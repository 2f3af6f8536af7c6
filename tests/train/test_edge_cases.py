"""Edge cases of the data and options: files outside a train/val layout, folds larger than a class, bad rates."""

from __future__ import annotations

import pytest

from antbee.common.errors import UsageError
from run_folders import TINY
from synthetic import encode, image, write


def test_images_outside_train_and_val_are_listed_as_skipped(tmp_path):
    from antbee.train.data import make_split

    for part in ("train", "val"):
        for colour in ("red", "blue"):
            for i in range(3):
                write(tmp_path / part / colour / f"{i}.jpg", encode(image(colour, i), ".jpg"))
    write(tmp_path / "extra" / "red" / "stray.jpg", encode(image("red", 99), ".jpg"))
    split = make_split(tmp_path)
    assert split.presplit and len(split.train) == 6 and len(split.test) == 6
    assert [(s.source, "outside" in s.reason) for s in split.skipped] == [("extra/red/stray.jpg", True)]


def test_more_cv_folds_than_images_in_a_class_is_a_usage_error(datasets, tmp_path):
    from antbee.train.run import TrainOptions, train

    with pytest.raises(UsageError, match="--cv 50"):
        train(TrainOptions(data=str(datasets.folder), out=str(tmp_path / "run"), cv=50, cv_repeats=1, **TINY))
    assert not (tmp_path / "run" / "model.keras").exists()


@pytest.mark.parametrize("change", [{"learning_rate": 0.0}, {"label_smoothing": 1.0}])
def test_bad_rates_are_refused_before_any_work(change):
    from antbee.train.run import TrainOptions, validate

    with pytest.raises(UsageError):
        validate(TrainOptions(**change))


def test_a_class_with_one_training_image_still_fits_the_lbfgs_head():
    import numpy as np

    from antbee.train.fit import HeadOptions, fit_head

    rng = np.random.default_rng(0)
    features = rng.normal(size=(8, 5)).astype(np.float32)
    labels = np.array([0] * 7 + [1])
    fitted = fit_head(np.tile(features, (2, 1)), np.tile(labels, 2), np.tile(np.arange(8), 2), 2, HeadOptions())
    assert fitted.kernel.shape == (5, 2) and fitted.history["best_C"] == 1.0
