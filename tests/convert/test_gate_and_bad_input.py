"""The --max-drop gate on a model made to fail it, and antbee-convert on bad input."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from antbee.convert.cli import app
from run_folders import copy_run, leftovers, snapshot


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_usage_error(result, *fragments):
    """Exit 2 through SystemExit, one 'antbee-convert: error:' message with `fragments`, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("antbee-convert: error: ")]
    assert len(errors) == 1, result.stderr
    message = " ".join(result.stderr.split())  # joined again: Rich may wrap it (see the one-line test)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


# ---- the gate


@pytest.fixture(scope="module")
def offset_run(colour_run, tmp_path_factory):
    """The colour run with a large common offset added to every logit.

    Softmax ignores a common offset, so the Keras model decides exactly as before (accuracy 1.0). Full-integer
    quantization cannot: the logits' int8 range must include 0, so at an offset of 10^4 one step is about 40,
    far coarser than the logits' differences, and every class gets the same quantized score.
    """
    import keras

    run = copy_run(colour_run.out, tmp_path_factory.mktemp("offset") / "run")
    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    logits = model.get_layer("logits")
    kernel, bias = logits.get_weights()
    logits.set_weights([kernel, bias + 1e4])
    model.save(run / "model.keras")
    return run


def test_offset_model_is_still_right_in_keras(offset_run, colour_run):
    import keras

    split = json.loads((offset_run / "split.json").read_text())
    from antbee.edge.preprocess import IMAGE_SIZE, preprocess
    from antbee.train.data import DataSource

    with DataSource(split["data"]) as source:
        pixels = np.stack([preprocess(source.read(e["source"]), IMAGE_SIZE, split["resize"]) for e in split["test"]])
    labels = np.array([e["label"] for e in split["test"]])
    before = keras.saving.load_model(colour_run.out / "model.keras", safe_mode=True).predict(pixels, verbose=0)
    after = keras.saving.load_model(offset_run / "model.keras", safe_mode=True).predict(pixels, verbose=0)
    np.testing.assert_array_equal(after.argmax(1), labels)
    np.testing.assert_allclose(after, before, atol=1e-3)


def test_max_drop_gate_rejects_a_model_that_fails_it(offset_run):
    before = snapshot(offset_run)
    result = invoke(offset_run, "--int8", "--calibration", "6")
    assert result.exit_code == 1, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert "FAILED" in result.stderr and "exceeds --max-drop" in " ".join(result.stderr.split())
    rejected = offset_run / "model_int8.rejected.tflite"
    assert rejected.is_file()
    assert not (offset_run / "model_int8.tflite").exists()  # never under the name a user would deploy
    report = json.loads((offset_run / "model_int8.rejected.json").read_text())
    assert report["passed"] is False
    assert report["keras_accuracy"] == 1.0
    assert report["drop"] > 0.01 and report["tflite_accuracy"] < 1.0
    assert Path(report["model"]).name == "model_int8.rejected.tflite"
    after = snapshot(offset_run)
    assert {k: v for k, v in after.items() if k in before} == before  # the run itself is untouched
    assert sorted(set(after) - set(before)) == ["model_int8.rejected.json", "model_int8.rejected.tflite"]
    assert leftovers(offset_run) == []


def test_max_drop_is_the_threshold(offset_run, tmp_path):
    # the same model, allowed to lose everything, passes and is kept under the deployable name
    run = copy_run(offset_run, tmp_path / "run")
    result = invoke(run, "--int8", "--calibration", "6", "--max-drop", "1.0")
    assert result.exit_code == 0, result.output
    assert (run / "model_int8.tflite").is_file()
    assert not list(run.glob("*.rejected.*"))
    report = json.loads((run / "model_int8.json").read_text())
    assert report["passed"] is True and report["drop"] > 0.01


def test_a_crash_during_verification_leaves_nothing(colour_run, tmp_path, monkeypatch):
    import antbee.convert.run as convert_run_module

    run = copy_run(colour_run.out, tmp_path / "run")
    before = snapshot(run)

    def crash(*args, **kwargs):
        raise RuntimeError("interpreter crashed")

    monkeypatch.setattr(convert_run_module, "verify", crash)
    with pytest.raises(RuntimeError, match="interpreter crashed"):
        convert_run_module.convert_run(convert_run_module.ConvertOptions(model=run, variant="float16"))
    assert snapshot(run) == before
    assert leftovers(run) == []


# ---- bad input: one-line error, exit 2, nothing half-written


def test_two_variant_flags(colour_run, tmp_path):
    run = copy_run(colour_run.out, tmp_path / "run")
    before = snapshot(run)
    result = invoke(run, "--int8", "--float16")
    assert_usage_error(result, "choose one variant", "--int8 --float16")
    assert snapshot(run) == before


def test_three_variant_flags(tmp_path):
    assert_usage_error(invoke(tmp_path, "--dynamic", "--float32", "--int8"), "choose one variant")


def test_missing_run_folder(tmp_path):
    assert_usage_error(invoke(tmp_path / "no-such-run", "--int8"), "no-such-run")
    assert list(tmp_path.iterdir()) == []


def test_missing_model_file_in_a_run(colour_run, tmp_path):
    run = copy_run(colour_run.out, tmp_path / "run")
    (run / "model.keras").unlink()
    before = snapshot(run)
    assert_usage_error(invoke(run, "--int8"), "model.keras", "not found")
    assert snapshot(run) == before


def test_not_a_keras_file(colour_run, tmp_path):
    weights = tmp_path / "model.h5"
    shutil.copy(colour_run.out / "model.keras", weights)
    assert_usage_error(invoke(weights, "--float32"), "model.h5", "expected a .keras file or a run folder")


@pytest.mark.parametrize("content", ["random", "empty", "truncated"])
def test_corrupt_model_file(colour_run, tmp_path, content):
    run = copy_run(colour_run.out, tmp_path / "run")
    good = (run / "model.keras").read_bytes()
    data = {"random": os.urandom(20_000), "empty": b"", "truncated": good[: len(good) // 2]}[content]
    (run / "model.keras").write_bytes(data)
    before = snapshot(run)
    assert_usage_error(invoke(run, "--int8"), "model.keras", "not a loadable Keras model")
    assert snapshot(run) == before
    assert leftovers(run) == []


def test_model_needing_unsafe_deserialization(colour_run, tmp_path):
    import keras

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(colour_run.out / "split.json", run / "split.json")
    marker = tmp_path / "lambda-ran"
    inputs = keras.Input((224, 224, 3))
    where = str(marker)
    x = keras.layers.Lambda(lambda t: (open(where, "a").close(), t / 255.0)[1], name="scale")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    keras.Model(inputs, outputs).save(run / "model.keras")
    assert marker.exists()  # the Lambda's code runs whenever the layer is called...
    marker.unlink()
    before = snapshot(run)
    result = invoke(run / "model.keras", "--float32")
    assert_usage_error(result, "model.keras", "unsafe deserialization")
    assert snapshot(run) == before
    assert not marker.exists()  # ...and loading it did not call it


def test_run_without_split_info(colour_run, tmp_path):
    run = copy_run(colour_run.out, tmp_path / "run")
    (run / "split.json").unlink()
    before = snapshot(run)
    assert_usage_error(invoke(run, "--int8"), "split.json", "no split info")
    assert snapshot(run) == before


def test_run_with_malformed_split_info(colour_run, tmp_path):
    run = copy_run(colour_run.out, tmp_path / "run")
    (run / "split.json").write_text('{"classes": ["a"')
    assert_usage_error(invoke(run, "--float16"), "split.json", "malformed split info")
    assert not list(run.glob("*.tflite"))


def test_run_whose_data_is_gone(colour_run, tmp_path):
    run = copy_run(colour_run.out, tmp_path / "run")
    split = json.loads((run / "split.json").read_text())
    split["data"] = str(tmp_path / "moved-away")
    (run / "split.json").write_text(json.dumps(split))
    assert_usage_error(invoke(run, "--float16"), "moved-away", "data is gone")
    assert not list(run.glob("*.tflite"))


@pytest.mark.parametrize("flag, value", [("--calibration", "0"), ("--max-drop", "-0.5")])
def test_bad_option_values(colour_run, tmp_path, flag, value):
    run = copy_run(colour_run.out, tmp_path / "run")
    assert_usage_error(invoke(run, "--int8", flag, value), flag)
    assert not list(run.glob("*.tflite"))


def test_error_is_one_line_even_when_long(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # a log file, a CI console or an 80-column terminal
    missing = tmp_path / ("a-rather-long-folder-name-" * 3) / "model.h5"
    result = invoke(missing, "--int8")
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("antbee-convert: error: ") and lines[0].rstrip().endswith("antbee-train")
