"""Each TFLite variant converts, verifies, and carries its labels and input contract inside."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from antbee.convert.cli import app
from antbee.edge import metadata
from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.preprocess import IMAGE_SIZE, preprocess
from run_folders import copy_run, leftovers
from synthetic import CLASSES


@pytest.fixture(scope="session")
def tiny_conversions(tiny_run):
    """`antbee-convert --<variant>` with no other argument, from the folder holding `artifacts/`."""
    results = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tiny_run.out.parent)
        for variant in ("int8", "float16", "dynamic", "float32"):
            results[variant] = CliRunner().invoke(app, [f"--{variant}"])
    return results


def images_of(split: dict) -> tuple[np.ndarray, np.ndarray]:
    """A run's test images through the shared preprocessing, and their labels."""
    from antbee.train.data import DataSource

    with DataSource(split["data"]) as source:
        pixels = np.stack([preprocess(source.read(e["source"]), IMAGE_SIZE, split["resize"]) for e in split["test"]])
    return pixels, np.array([e["label"] for e in split["test"]])


@pytest.mark.parametrize("variant", ["int8", "float16", "dynamic", "float32"])
def test_variant_converts_and_passes_verification(tiny_conversions, tiny_run, variant):
    result = tiny_conversions[variant]
    assert result.exit_code == 0, (result.output, result.exception)
    assert "passed" in result.stdout
    path = tiny_run.out / f"model_{variant}.tflite"
    assert path.is_file()
    report = json.loads(path.with_suffix(".json").read_text())
    split = json.loads((tiny_run.out / "split.json").read_text())
    assert report["variant"] == variant
    assert report["passed"] is True
    assert (tiny_run.out.parent / report["model"]).resolve() == path.resolve()  # relative to where it ran
    assert report["n"] == len(split["test"]) == tiny_run.metrics["n_test"]
    assert report["keras_accuracy"] == pytest.approx(tiny_run.metrics["accuracy"])
    assert report["size_bytes"] == path.stat().st_size
    for key in ("tflite_accuracy", "agreement", "max_score_diff", "drop", "max_drop"):
        assert key in report
    assert report["calibration"] == (200 if variant == "int8" else None)
    assert not list(tiny_run.out.glob(f"model_{variant}.rejected*"))
    assert leftovers(tiny_run.out) == []


@pytest.mark.parametrize("variant", ["int8", "float16", "dynamic", "float32"])
def test_variant_carries_labels_and_input_contract(tiny_conversions, tiny_run, variant):
    assert tiny_conversions[variant].exit_code == 0
    path = tiny_run.out / f"model_{variant}.tflite"
    info = metadata.read(path.read_bytes(), str(path))
    assert info is not None
    labels = (tiny_run.out / "labels.txt").read_text().splitlines()
    assert list(info.labels) == labels == list(CLASSES)
    split = json.loads((tiny_run.out / "split.json").read_text())
    assert info.resize == split["resize"] == "crop"
    assert tuple(info.size) == IMAGE_SIZE
    assert (info.mean, info.std) == (0.0, 1.0)  # raw RGB pixels in
    assert info.extra["variant"] == variant


@pytest.mark.parametrize("variant", ["int8", "float16", "dynamic", "float32"])
def test_variant_carries_standard_tflite_metadata(tiny_conversions, tiny_run, variant):
    # Read with TensorFlow Lite's own flatbuffer tools, independently of the device's reader.
    from tensorflow.lite.tools import flatbuffer_utils

    from antbee.edge import metadata_schema_py_generated as fb

    assert tiny_conversions[variant].exit_code == 0
    content = (tiny_run.out / f"model_{variant}.tflite").read_bytes()
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    [entry] = [m for m in model.metadata if m.name == b"TFLITE_METADATA"]
    buffer = bytes(model.buffers[entry.buffer].data)
    assert fb.ModelMetadata.ModelMetadataBufferHasIdentifier(buffer, 0)
    meta = fb.ModelMetadataT.InitFromObj(fb.ModelMetadata.GetRootAs(buffer, 0))
    assert meta.name == b"antbee image classifier (blue, green, red)"
    assert meta.version.startswith(b"antbee ") and meta.author == b"antbee" and variant.encode() in meta.description
    assert meta.minParserVersion == b"1.0.0"
    assert [f.name for f in meta.associatedFiles] == [b"antbee.json"]
    [image], [scores] = meta.subgraphMetadata[0].inputTensorMetadata, meta.subgraphMetadata[0].outputTensorMetadata
    assert image.content.contentProperties.colorSpace == fb.ColorSpaceType.RGB
    [unit] = image.processUnits
    assert unit.optionsType == fb.ProcessUnitOptions.NormalizationOptions
    assert list(unit.options.mean) == [0.0] * 3 and list(unit.options.std) == [1.0] * 3  # raw pixels in
    assert (list(image.stats.min), list(image.stats.max)) == ([0.0], [255.0])
    [labels] = scores.associatedFiles
    assert (labels.name, labels.type) == (b"labels.txt", fb.AssociatedFileType.TENSOR_AXIS_LABELS)
    # The packed file the metadata names holds the run's labels.
    assert metadata.read(content).labels == CLASSES


@pytest.mark.parametrize("variant", ["int8", "float16", "dynamic", "float32"])
def test_variant_runs_in_the_edge_classifier(tiny_conversions, tiny_run, variant):
    assert tiny_conversions[variant].exit_code == 0
    path = tiny_run.out / f"model_{variant}.tflite"
    classifier = Classifier(ClassifierOptions(model=path, top_k=3))
    assert classifier.labels == ("blue", "green", "red")
    assert classifier.resize == "crop"
    assert classifier.input.size == IMAGE_SIZE
    inputs = classifier.interpreter.get_input_details()
    outputs = classifier.interpreter.get_output_details()
    expected = np.uint8 if variant == "int8" else np.float32
    assert inputs[0]["dtype"] == expected and outputs[0]["dtype"] == expected
    if variant == "int8":
        scale, zero_point = inputs[0]["quantization"]  # camera pixels go in (nearly) as they are
        assert zero_point == 0 and scale == pytest.approx(1.0, abs=0.01)
    split = json.loads((tiny_run.out / "split.json").read_text())
    pixels, _ = images_of(split)
    for rgb in pixels[:3]:
        result = classifier.classify(rgb)
        assert len(result.categories) == 3
        tolerance = 3 / 256 if variant == "int8" else 1e-4  # ends in Softmax: probabilities
        assert result.scores.sum() == pytest.approx(1.0, abs=tolerance)


def test_quantized_variants_are_smaller(tiny_conversions, tiny_run):
    assert all(r.exit_code == 0 for r in tiny_conversions.values())
    size = {v: (tiny_run.out / f"model_{v}.tflite").stat().st_size for v in tiny_conversions}
    assert size["int8"] < 0.4 * size["float32"]
    assert size["dynamic"] < 0.4 * size["float32"]
    assert size["float16"] < 0.7 * size["float32"]


def test_int8_model_is_fully_integer(tiny_conversions, tiny_run):
    from ai_edge_litert.interpreter import Interpreter

    assert tiny_conversions["int8"].exit_code == 0
    interpreter = Interpreter(model_path=str(tiny_run.out / "model_int8.tflite"))
    float_tensors = [d["name"] for d in interpreter.get_tensor_details()
                     if d["dtype"] == np.float32 and d["shape"].size and d["shape"].prod() > 64]
    assert float_tensors == []  # no float weights or activations of any size inside


# ---- a model that separates the colours: agreement with Keras means something here


@pytest.fixture(scope="session")
def colour_float32(colour_run):
    from antbee.convert.run import ConvertOptions, convert_run

    return convert_run(ConvertOptions(model=colour_run.out / "model.keras", variant="float32"))


def test_float32_agrees_with_keras_on_every_test_image(colour_run, colour_float32):
    import cv2
    import keras

    from antbee.train.data import DataSource

    assert colour_float32.path == colour_run.out / "model_float32.tflite"
    v = colour_float32.verification
    assert v.passed and v.disagreements == 0 and v.agreement == 1.0
    assert v.keras_accuracy == v.tflite_accuracy == 1.0
    # and independently of the converter's own verification:
    split = json.loads((colour_run.out / "split.json").read_text())
    pixels, labels = images_of(split)
    keras_scores = keras.saving.load_model(colour_run.out / "model.keras", safe_mode=True).predict(
        pixels.astype(np.float32), verbose=0)
    classifier = Classifier(ClassifierOptions(model=colour_float32.path))
    tflite_scores = np.stack([classifier.classify(rgb).scores for rgb in pixels])
    assert len(pixels) == 9
    np.testing.assert_array_equal(tflite_scores.argmax(1), keras_scores.argmax(1))
    np.testing.assert_array_equal(tflite_scores.argmax(1), labels)
    np.testing.assert_allclose(tflite_scores, keras_scores, atol=1e-4)
    assert v.max_score_diff == pytest.approx(np.abs(tflite_scores - keras_scores).max(), abs=1e-5)
    assert keras_scores.max(1).min() > 0.4  # the scores really depend on the image
    # the device gets the original frames: the model's metadata makes it resize them as training did
    assert classifier.resize == "squash"
    with DataSource(split["data"]) as source:
        frames = [cv2.imdecode(np.frombuffer(source.read(e["source"]), np.uint8), cv2.IMREAD_COLOR)
                  for e in split["test"]]
    assert frames[0].shape[:2] == (44, 60)
    device_scores = np.stack([classifier.classify_bgr(frame).scores for frame in frames])
    np.testing.assert_allclose(device_scores, keras_scores, atol=1e-4)


def test_int8_of_a_good_model_passes_the_gate(colour_run, tmp_path):
    from antbee.convert.run import ConvertOptions, convert_run

    run = copy_run(colour_run.out, tmp_path / "run")
    result = convert_run(ConvertOptions(model=run, variant="int8", calibration=12))
    assert result.path == run / "model_int8.tflite"
    v = result.verification
    assert v.passed and v.tflite_accuracy == 1.0 and v.agreement == 1.0
    report = json.loads((run / "model_int8.json").read_text())
    assert report["calibration"] == 12 and report["passed"] is True
    classifier = Classifier(ClassifierOptions(model=result.path))
    assert classifier.interpreter.get_input_details()[0]["dtype"] == np.uint8
    assert leftovers(run) == []


def test_custom_out_path(colour_run, tmp_path):
    out = tmp_path / "deploy" / "colours.tflite"
    result = CliRunner().invoke(app, [str(colour_run.out), "--dynamic", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and (tmp_path / "deploy" / "colours.json").is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["colours.json", "colours.tflite"]
    assert metadata.read(out.read_bytes()).labels == CLASSES


def test_stratified_calibration_sample():
    from antbee.convert.run import stratified_sample

    labels = np.array([0] * 30 + [1] * 10 + [2] * 2)
    picked = stratified_sample(labels, 8, seed=0)
    assert len(set(picked.tolist())) == len(picked)
    counts = np.bincount(labels[picked], minlength=3)
    assert counts.tolist() == [6, 2, 1]  # in proportion, and at least one of each class
    assert np.array_equal(stratified_sample(labels, 8, seed=0), picked)
    assert np.array_equal(stratified_sample(labels, 100, seed=0), np.arange(42))


def test_converted_model_has_ordinary_file_permissions(tiny_conversions, tiny_run):
    assert tiny_conversions["float32"].exit_code == 0
    reference = tiny_run.out / "permission-reference"
    reference.write_bytes(b"")  # created the ordinary way, under the current umask
    try:
        expected = reference.stat().st_mode & 0o777
    finally:
        reference.unlink()
    assert (tiny_run.out / "model.keras").stat().st_mode & 0o777 == expected
    assert (tiny_run.out / "model_float32.tflite").stat().st_mode & 0o777 == expected
