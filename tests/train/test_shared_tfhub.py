"""The TF Hub backbone path on the real data, with the local feature-vector module from ../shared. Slow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DATA = SHARED / "data" / "hymenoptera_data.zip"
MODULE = SHARED / "models" / "mobilenet_v2_100_224_feature_vector"


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.skipif(not (DATA.is_file() and MODULE.is_dir()),
                    reason=f"needs the real data and the TF Hub module in {SHARED} (absent here)")
def test_tfhub_backbone_trains_on_the_reference_data(tmp_path):
    import keras
    import numpy as np

    from antbee.train.cli import app

    out = tmp_path / "run"
    result = CliRunner().invoke(app, [str(DATA), "--backbone", f"tfhub:{MODULE}", "--out", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    m = json.loads((out / "metrics.json").read_text())
    assert m["config"]["backbone"] == f"tfhub:{MODULE}"
    assert m["n_test"] == 153
    assert m["accuracy"] >= 0.92, f"test accuracy {m['correct']}/{m['n']}"
    # the saved model holds the registered Hub layer, not a Lambda, and loads with safe_mode
    import antbee.train.backbones  # noqa: F401  registers the layer

    model = keras.saving.load_model(out / "model.keras", safe_mode=True)
    assert any(type(layer).__name__ == "HubFeatureVector" for layer in model.layers)
    scores = model.predict(np.full((1, 224, 224, 3), 128, np.float32), verbose=0)
    assert scores.shape == (1, 2) and abs(float(scores.sum()) - 1) < 1e-5
