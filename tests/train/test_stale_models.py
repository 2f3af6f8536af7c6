"""Retraining into a run folder removes models converted from the model it replaces."""

from __future__ import annotations
from run_folders import TINY


def test_retraining_removes_stale_converted_models(datasets, tmp_path):
    from antbee.train.run import TrainOptions, train

    out = tmp_path / "run"
    out.mkdir()
    stale = [out / "model_int8.tflite", out / "model_int8.json", out / "model_float16.rejected.tflite"]
    for path in stale:
        path.write_bytes(b"from the previous model")
    keep = out / "notes.txt"
    keep.write_text("mine")
    train(TrainOptions(data=str(datasets.folder), out=str(out), seed=0, **TINY))
    assert not any(path.exists() for path in stale)
    assert keep.read_text() == "mine" and (out / "model.keras").is_file()
