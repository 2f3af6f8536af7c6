"""A real client reads antbee's models: MediaPipe Tasks' ImageClassifier, installed in its own venv, names the classes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from venvs import fresh_venv, install_failure

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SAMPLES = REPO / "edge" / "samples"
SHIPPED = REPO / "edge" / "models" / "antbee_int8.tflite"

pytestmark = pytest.mark.slow

# Run inside the MediaPipe venv: every sample photo through ImageClassifier, all categories by index.
CLASSIFY = """
import json, sys
import mediapipe as mp
from mediapipe.tasks.python import BaseOptions, vision

options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=sys.argv[1]), max_results=-1)
with vision.ImageClassifier.create_from_options(options) as classifier:
    for path in sys.argv[2:]:
        categories = classifier.classify(mp.Image.create_from_file(path)).classifications[0].categories
        print(json.dumps({"source": path, "top": categories[0].category_name,
                          "names": {c.index: c.category_name for c in categories}}))
"""


@pytest.fixture(scope="module")
def mediapipe_python(tmp_path_factory) -> Path:
    """The Python of a fresh venv holding only `pip install mediapipe` (it brings its own OpenCV and NumPy)."""
    home, done = fresh_venv(tmp_path_factory.mktemp("mediapipe") / "venv", "mediapipe")
    if "No matching distribution found for mediapipe" in done.stderr:
        pytest.skip(f"MediaPipe has no wheel for this platform and Python {sys.version_info[:2]}")
    if done.returncode != 0:
        pytest.fail(install_failure("pip install mediapipe", done))
    return home / "bin" / "python"


@pytest.fixture(scope="module")
def float32_model(tmp_path_factory) -> Path:
    """`antbee-train` on the shared ants/bees ZIP and weights, then `antbee-convert --float32`."""
    from typer.testing import CliRunner

    from antbee.convert.cli import app as convert_app
    from antbee.train.cli import app as train_app

    data = SHARED / "data" / "hymenoptera_data.zip"
    weights = SHARED / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    if not (data.is_file() and weights.is_file()):
        pytest.skip(f"shared data not found at {SHARED} (expected the ants/bees ZIP and the MobileNetV2 weights)")
    out = tmp_path_factory.mktemp("mediapipe_run") / "run"
    trained = CliRunner().invoke(train_app, [str(data), "--weights", str(weights), "--out", str(out)])
    assert trained.exit_code == 0, (trained.output, trained.exception)
    converted = CliRunner().invoke(convert_app, [str(out), "--float32"])
    assert converted.exit_code == 0, (converted.output, converted.exception)
    return out / "model_float32.tflite"


def mediapipe_results(python: Path, model: Path) -> dict[str, dict]:
    photos = sorted(str(p) for p in SAMPLES.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    done = subprocess.run([python, "-c", CLASSIFY, str(model), *photos], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == len(photos) >= 4
    return {Path(row["source"]).name: row for row in rows}


def antbee_edge_top1(model: Path) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-m", "antbee.edge", "--json", "--model", str(model), str(SAMPLES)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "DISPLAY": ""})
    assert done.returncode == 0, done.stderr
    return {Path(row["source"]).name: row["label"] for row in map(json.loads, done.stdout.splitlines())}


def check_client_agrees(python: Path, model: Path) -> None:
    from antbee.edge import metadata

    labels = metadata.read(model.read_bytes(), str(model)).labels
    seen = mediapipe_results(python, model)
    for row in seen.values():
        assert {int(i): name for i, name in row["names"].items()} == dict(enumerate(labels))
    assert {name: row["top"] for name, row in seen.items()} == antbee_edge_top1(model)


def test_mediapipe_names_the_shipped_int8_models_classes(mediapipe_python):
    check_client_agrees(mediapipe_python, SHIPPED)


@pytest.mark.shared
def test_mediapipe_names_a_freshly_converted_float32_models_classes(mediapipe_python, float32_model):
    check_client_agrees(mediapipe_python, float32_model)
