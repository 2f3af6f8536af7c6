"""The reference task end to end on the real data and weights in ../shared: train, then int8 and verify.

Slow (about a minute and a half on 2 cores): `pytest -m "not slow"` leaves it out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DATA = SHARED / "data" / "hymenoptera_data.zip"
WEIGHTS = SHARED / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.shared,
    pytest.mark.skipif(not (DATA.is_file() and WEIGHTS.is_file()),
                       reason=f"needs the real data and weights in {SHARED} (absent here)"),
]


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """`antbee-train ZIP --weights H5` with every other option at its default, then `antbee-convert RUN --int8`."""
    from antbee.convert.cli import app as convert_app
    from antbee.train.cli import app as train_app

    out = tmp_path_factory.mktemp("reference") / "run"
    trained = CliRunner().invoke(train_app, [str(DATA), "--weights", str(WEIGHTS), "--out", str(out)])
    assert trained.exit_code == 0, (trained.output, trained.exception)
    converted = CliRunner().invoke(convert_app, [str(out), "--int8"])
    return out, trained, converted


def test_training_reaches_the_accuracy_floor(reference_run):
    out, _, _ = reference_run
    m = json.loads((out / "metrics.json").read_text())
    assert m["classes"] == ["ants", "bees"]
    assert m["config"]["presplit"] is True and m["config"]["resize"] == "crop" and m["config"]["head"] == "lbfgs"
    assert m["n_test"] == 153 and m["n"] == 153
    assert m["correct"] >= 149, f"test accuracy {m['correct']}/153"
    assert m["accuracy"] >= 149 / 153
    assert m["n_train"] == 244  # 245 training files less the GIF placeholder


def test_bad_files_are_skipped_and_named(reference_run):
    out, trained, _ = reference_run
    m = json.loads((out / "metrics.json").read_text())
    skipped = {s["source"]: s["reason"] for s in m["skipped"]}
    assert "hymenoptera_data/train/ants/imageNotFound.gif" in skipped
    assert "imageNotFound.gif" in trained.stderr  # named in the log too
    split = json.loads((out / "split.json").read_text())
    assert "hymenoptera_data/train/ants/formica.jpeg" in {e["source"] for e in split["train"]}  # .jpeg is fine


def test_int8_model_is_small_accurate_and_self_contained(reference_run):
    from antbee.edge import metadata

    out, _, converted = reference_run
    assert converted.exit_code == 0, (converted.output, converted.exception)
    model = out / "model_int8.tflite"
    assert model.stat().st_size <= 3.0e6
    report = json.loads((out / "model_int8.json").read_text())
    assert report["passed"] is True and report["n"] == 153
    assert round(report["tflite_accuracy"] * 153) >= 149
    assert report["drop"] <= 0.01 + 1e-9
    assert round(report["agreement"] * 153) >= 152
    info = metadata.read(model.read_bytes(), str(model))
    assert info.labels == ("ants", "bees")
    assert info.resize == "crop" and tuple(info.size) == (224, 224)


def test_int8_model_classifies_a_real_photo(reference_run):
    import zipfile

    import cv2
    import numpy as np

    from antbee.edge.classifier import Classifier, ClassifierOptions

    out, _, _ = reference_run
    split = json.loads((out / "split.json").read_text())
    classifier = Classifier(ClassifierOptions(model=out / "model_int8.tflite"))
    correct = 0
    with zipfile.ZipFile(DATA) as archive:
        for example in split["test"][::15]:
            bgr = cv2.imdecode(np.frombuffer(archive.read(example["source"]), np.uint8), cv2.IMREAD_COLOR)
            result = classifier.classify_bgr(bgr)
            correct += result.top.label == split["classes"][example["label"]]
    assert correct >= len(split["test"][::15]) - 1
