"""Tiny training runs end to end: the run folder, metrics.json, the heads, CV, and the saved model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from antbee.edge.preprocess import IMAGE_SIZE, preprocess
from synthetic import FOLDER_BAD, ZIP_BAD, ZIP_UNSAFE

METRIC_KEYS = ("accuracy", "precision", "recall", "f1", "per_class", "confusion_matrix", "classes",
               "n_train", "n_val", "n_test", "skipped", "config")
RUN_FILES = ("model.keras", "labels.txt", "split.json", "metrics.json", "history.json",
             "confusion_matrix.png", "training_curve.png")


@pytest.fixture(params=["folder_run", "flat_run", "zip_run"])
def run(request):
    return request.getfixturevalue(request.param)


def test_run_folder_has_every_file_and_nothing_else(run):
    assert sorted(p.name for p in run.out.iterdir()) == sorted(RUN_FILES)


def test_pngs_are_images(run):
    import cv2

    for name in ("confusion_matrix.png", "training_curve.png"):
        data = (run.out / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert pixels is not None and min(pixels.shape[:2]) > 100


def test_metrics_json_is_complete_and_consistent(run):
    m = run.metrics
    for key in METRIC_KEYS:
        assert key in m, key
    classes = m["classes"]
    labels = (run.out / "labels.txt").read_text().splitlines()
    assert labels == classes
    for key in ("accuracy", "precision", "recall", "f1"):
        assert 0.0 <= m[key] <= 1.0
    matrix = np.array(m["confusion_matrix"])
    assert matrix.shape == (len(classes), len(classes))
    assert matrix.sum() == m["n_test"]
    assert m["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert set(m["per_class"]) == set(classes)
    assert [m["per_class"][c]["support"] for c in classes] == matrix.sum(1).tolist()
    split = json.loads((run.out / "split.json").read_text())
    assert m["n_test"] == len(split["test"])
    assert m["n_train"] == len(split["train"])
    assert split["classes"] == classes


def test_config_is_recorded(run, datasets):
    config = run.metrics["config"]
    for key in ("data", "seed", "resize", "backbone", "weights"):
        assert key in config, key
    assert config["backbone"] == "mobilenet_v2:0.35"
    assert config["weights"] == "none"
    assert Path(config["data"]) in (datasets.folder.resolve(), datasets.flat.resolve(), datasets.zip.resolve())


def test_model_loads_safely_and_outputs_probabilities(run):
    import keras

    model = keras.saving.load_model(run.out / "model.keras", safe_mode=True)
    split = json.loads((run.out / "split.json").read_text())
    data = Path(split["data"])
    from antbee.train.data import DataSource

    with DataSource(data) as source:
        pixels = np.stack([preprocess(source.read(e["source"]), IMAGE_SIZE, split["resize"])
                           for e in split["test"][:4]])
    assert model.input_shape == (None, *IMAGE_SIZE, 3)
    scores = model.predict(pixels.astype(np.float32), verbose=0)
    assert scores.shape == (len(pixels), len(run.metrics["classes"]))
    assert np.all(scores >= 0)
    np.testing.assert_allclose(scores.sum(1), 1.0, atol=1e-5)
    # the model takes raw 0..255 pixels: it normalises inside itself
    assert any(isinstance(layer, keras.layers.Rescaling) for layer in model.layers)
    assert not any(type(layer).__name__ == "Lambda" for layer in model.layers)


# ---- the folder layout: pre-split, bad files, L-BFGS head


def test_folder_run_uses_the_train_val_folders(folder_run):
    m = folder_run.metrics
    assert m["classes"] == ["blue", "red"]
    assert m["config"]["presplit"] is True
    assert m["config"]["labels_from"] == "folder"
    assert m["n_test"] == 8  # val/: 4 red + 4 blue
    assert m["n_train"] == 16  # train/: 8 + 8 readable; the 4 bad files are not counted
    split = json.loads((folder_run.out / "split.json").read_text())
    assert sorted(e["source"] for e in split["test"]) == sorted(
        f"val/{c}/img_{i:03d}.png" for c in ("red", "blue") for i in range(4))


def test_folder_run_names_every_bad_file_with_a_reason(folder_run):
    skipped = {s["source"]: s["reason"] for s in folder_run.metrics["skipped"]}
    assert set(skipped) == set(FOLDER_BAD)
    assert "empty" in skipped["train/red/empty.jpg"]
    assert "truncated" in skipped["train/red/truncated.jpg"]
    assert "not a readable image" in skipped["train/blue/notes.jpg"]
    assert "unsupported file type '.gif'" in skipped["train/blue/anim.gif"]
    split = json.loads((folder_run.out / "split.json").read_text())
    assert not set(FOLDER_BAD) & {e["source"] for e in split["train"] + split["test"]}


def test_lbfgs_head_history(folder_run):
    h = folder_run.history
    assert h["C"] and len(h["cv_log_loss"]) == len(h["C"])
    assert h["best_C"] in h["C"]
    assert folder_run.metrics["n_val"] == 0  # C is chosen by CV on the training images, no hold-out
    assert folder_run.metrics["config"]["head"] == "lbfgs"
    assert folder_run.metrics["config"]["resize"] == "crop"  # the default


# ---- the flat layout through the CLI: file-name classes, stratified split, CV


def test_flat_run_splits_by_file_name_classes(flat_run):
    m = flat_run.metrics
    assert m["classes"] == ["blue", "green", "red"]
    assert m["config"]["labels_from"] == "filename"
    assert m["config"]["presplit"] is False
    assert m["config"]["seed"] == 3 and m["config"]["test_size"] == 0.2
    assert m["config"]["resize"] == "squash"
    assert m["n_test"] == 6 and m["n_train"] == 24
    assert [m["per_class"][c]["support"] for c in m["classes"]] == [2, 2, 2]
    assert m["skipped"] == []


def test_flat_run_split_matches_make_split_with_the_same_seed(flat_run, datasets):
    from antbee.train.data import make_split

    split = json.loads((flat_run.out / "split.json").read_text())
    again = make_split(datasets.flat, test_size=0.2, seed=3)
    assert [e["source"] for e in split["test"]] == [e.source for e in again.test]
    assert split["resize"] == "squash"


def test_flat_run_cross_validation(flat_run):
    cv = flat_run.metrics["cv"]
    assert cv["folds"] == 2 and cv["repeats"] == 1
    assert len(cv["fold_accuracy"]) == 2
    for key in ("accuracy", "precision", "recall", "f1"):
        interval = cv[key]
        assert interval["low"] <= interval["mean"] <= interval["high"]
        assert interval["n"] == 2
    assert cv["accuracy"]["mean"] == pytest.approx(np.mean(cv["fold_accuracy"]))


# ---- the ZIP: unsafe members, Adam head


def test_zip_run_skips_bad_and_unsafe_members(zip_run, datasets):
    m = zip_run.metrics
    assert m["classes"] == ["blue", "green", "red"]
    skipped = {s["source"]: s["reason"] for s in m["skipped"]}
    assert set(ZIP_BAD) | set(ZIP_UNSAFE) <= set(skipped)
    for name in ZIP_UNSAFE:
        assert "unsafe" in skipped[name]
    assert m["n_train"] + m["n_test"] == 30  # exactly the 30 good images
    for name in ("evil.jpg", "abs.jpg", "bs.jpg", "drive.jpg"):
        assert not (zip_run.out.parent / name).exists()
        assert not (datasets.root.parent / name).exists()
        assert not list(zip_run.out.rglob(name))
    assert not Path("/abs.jpg").exists()


def test_adam_head_history_has_a_loss_per_epoch(zip_run):
    h = zip_run.history
    assert 1 <= len(h["loss"]) <= 4
    assert len(h["val_loss"]) == len(h["loss"])
    assert all(np.isfinite(h["loss"]))
    m = zip_run.metrics
    assert 0 < m["n_val"] < m["n_train"]  # early stopping watched a held-out part of the training images
    assert m["config"]["head"] == "adam" and m["config"]["epochs"] == 4


def test_backbone_runs_once_per_image_not_per_epoch(zip_run):
    m = zip_run.metrics
    assert len(zip_run.history["loss"]) >= 2  # more than one epoch was trained...
    # ...on cached features: every training image and its mirror image once, every test image once
    assert zip_run.featurised == 2 * m["n_train"] + m["n_test"]
