"""Standard TFLite Metadata on the device: models from other tools are fed as their metadata says; old models still read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import flatbuffers
import numpy as np
import pytest

from antbee.common.errors import ModelError
from antbee.edge import metadata
from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.preprocess import prepare
from antbee.edge.standard_metadata import read_standard

SIZE = 16
# A float model that averages its (already normalised) input per channel, then Dense + Softmax: its
# scores depend on the input's scale and offset, so feeding the wrong normalisation shows.
KERNEL = np.array([[1.0, -1.0], [-1.0, 1.0], [0.5, 0.5]], np.float32)
BIAS = np.array([0.1, -0.1], np.float32)
NORMALISATIONS = {"mobilenet": (127.5, 127.5), "unit": (0.0, 255.0)}


@pytest.fixture(scope="module")
def float_model(tmp_path_factory) -> bytes:
    """The plain float32 .tflite (no metadata) of the averaging model."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    inputs = keras.Input((SIZE, SIZE, 3), dtype="float32")
    dense = keras.layers.Dense(2)
    outputs = keras.layers.Softmax()(dense(keras.layers.GlobalAveragePooling2D()(inputs)))
    model = keras.Model(inputs, outputs)
    dense.set_weights([KERNEL, BIAS])
    folder = tmp_path_factory.mktemp("standard") / "saved"
    model.export(str(folder), verbose=False)
    return tf.lite.TFLiteConverter.from_saved_model(str(folder)).convert()


def other_tool_model(float_model: bytes, path: Path, mean: float, std: float, labels=("cat", "dog")) -> Path:
    """The model as another tool would write it: standard metadata and a labels file, no antbee.json."""
    from antbee.convert.metadata_writer import ModelCard, with_metadata

    info = metadata.ModelInfo(labels=labels, mean=mean, std=std)
    card = ModelCard("averaging classifier", "test model", "1", author="tests")
    path.write_bytes(with_metadata(float_model, info, card, contract=False))
    return path


def reference_scores(rgb: np.ndarray, mean: float, std: float) -> np.ndarray:
    """What the model must output for `rgb`: squash to SIZE, normalise, average per channel, Dense, Softmax."""
    pixels = prepare(rgb, (SIZE, SIZE), "squash").astype(np.float64)
    logits = ((pixels - mean) / std).mean(axis=(0, 1)) @ KERNEL + BIAS
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


@pytest.fixture
def photo() -> np.ndarray:
    """A noisy RGB image whose channel means are far from mid-grey (so normalisations differ)."""
    rng = np.random.default_rng(5)
    return np.clip(rng.normal((200, 60, 120), 30, (37, 53, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("kind", sorted(NORMALISATIONS))
def test_float_model_is_fed_as_its_metadata_says(float_model, tmp_path, photo, kind):
    mean, std = NORMALISATIONS[kind]
    path = other_tool_model(float_model, tmp_path / f"{kind}.tflite", mean, std)
    assert read_standard(path.read_bytes()) == ("averaging classifier", "labels.txt", mean, std)
    classifier = Classifier(ClassifierOptions(model=path, top_k=2))
    assert classifier.labels == ("cat", "dog") and classifier.resize == "squash"
    scores = classifier.classify(photo).scores
    np.testing.assert_allclose(scores, reference_scores(photo, mean, std), atol=1e-5)
    other_mean, other_std = next(v for k, v in NORMALISATIONS.items() if k != kind)
    assert np.abs(scores - reference_scores(photo, other_mean, other_std)).max() > 0.05


def test_labels_flag_still_overrides_the_models_labels(float_model, tmp_path, photo):
    import cv2

    path = other_tool_model(float_model, tmp_path / "m.tflite", 0.0, 255.0)
    labels = tmp_path / "mine.txt"
    labels.write_text("first\nsecond\n")
    assert Classifier(ClassifierOptions(model=path, labels=labels)).labels == ("first", "second")
    image = tmp_path / "photo.png"
    assert cv2.imwrite(str(image), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    done = subprocess.run([sys.executable, "-m", "antbee.edge", "--json", "--model", str(path), "--labels",
                           str(labels), str(image)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)
    expected = ("first", "second")[int(np.argmax(reference_scores(photo, 0.0, 255.0)))]
    assert row["label"] == expected


def test_model_written_before_the_standard_metadata_still_reads(tiny_models):
    # tiny_models packs labels and antbee.json with the old `attach`: a ZIP and no TFLITE_METADATA.
    content = tiny_models.int8.read_bytes()
    assert read_standard(content) is None
    info = metadata.read(content, "old.tflite")
    assert info.labels == ("ant", "bee") and info.size == (32, 32) and info.resize == "crop"
    assert (info.mean, info.std) == (0.0, 1.0)


def test_antbee_model_carries_both_the_standard_metadata_and_its_contract(float_model, tmp_path):
    from antbee.convert.metadata_writer import ModelCard, with_metadata

    info = metadata.ModelInfo(labels=("ant", "bee"), size=(SIZE, SIZE), resize="crop", mean=0.0, std=1.0,
                              extra={"variant": "float32"})
    content = with_metadata(float_model, info, ModelCard("antbee", "d", "1"))
    assert read_standard(content) == ("antbee", "labels.txt", 0.0, 1.0)
    assert metadata.read(content) == info
    assert metadata.read(content).extra == {"variant": "float32"}


def test_metadata_naming_a_labels_file_that_is_not_packed_gives_numbered_scores(float_model, tmp_path):
    from antbee.convert.metadata_writer import ModelCard, image_classifier_metadata, populate

    info = metadata.ModelInfo(labels=("cat", "dog"), mean=0.0, std=255.0)
    written = image_classifier_metadata(info, ModelCard("m", "d", "1"), integer_input=False, contract=False)
    path = tmp_path / "m.tflite"
    path.write_bytes(populate(float_model, written, {}))  # the metadata names labels.txt; no file is packed
    assert read_standard(path.read_bytes()).labels_file == "labels.txt"
    assert metadata.read(path.read_bytes()) == metadata.ModelInfo(labels=(), mean=0.0, std=255.0)
    assert Classifier(ClassifierOptions(model=path)).labels == ("0", "1")


def test_quantized_input_takes_raw_pixels_whatever_the_normalisation_says(tiny_models):
    # MediaPipe and the Task Library apply the metadata's normalisation to float inputs only.
    from antbee.convert.metadata_writer import ModelCard, with_metadata

    plain = tiny_models.plain.read_bytes()  # a uint8 input
    info = metadata.ModelInfo(labels=("ant", "bee"), mean=127.5, std=127.5)
    content = with_metadata(plain, info, ModelCard("m", "d", "1"), contract=False)
    assert read_standard(content)[2:] == (None, None)
    assert metadata.read(content) == metadata.ModelInfo(labels=("ant", "bee"))


def test_per_channel_normalisation_is_refused_with_a_reason(float_model):
    from antbee.convert.metadata_writer import ModelCard, image_classifier_metadata, populate
    from antbee.edge import metadata_schema_py_generated as fb

    info = metadata.ModelInfo(labels=("cat", "dog"), mean=0.0, std=255.0)
    written = image_classifier_metadata(info, ModelCard("m", "d", "1"), integer_input=False, contract=False)
    edited = fb.ModelMetadataT.InitFromObj(fb.ModelMetadata.GetRootAs(written, 0))
    edited.subgraphMetadata[0].inputTensorMetadata[0].processUnits[0].options.mean = [123.675, 116.28, 103.53]
    builder = flatbuffers.Builder(1024)
    builder.Finish(edited.Pack(builder), file_identifier=b"M001")
    content = populate(float_model, bytes(builder.Output()), {"labels.txt": "cat\ndog\n"})
    with pytest.raises(ModelError, match="m.tflite: its metadata normalises each colour channel differently"):
        metadata.read(content, "m.tflite")


@pytest.mark.shared
def test_googles_imagenet_model_shows_the_labels_its_metadata_names(shared_dir):
    from antbee.edge.preprocess import load_rgb

    google = shared_dir / "models" / "tf2_mobilenet_v2_1.0_224_ptq.tflite"
    if not google.is_file():
        pytest.skip(f"{google} not present")
    assert read_standard(google.read_bytes()).labels_file == "imagenet_labels.txt"
    info = metadata.read(google.read_bytes(), str(google))
    assert info.labels == tuple(metadata.read_labels_file(shared_dir / "models" / "imagenet_labels.txt"))
    assert (info.mean, info.std) == (None, None)  # a uint8 input: raw pixels, as MediaPipe feeds it
    photo = load_rgb(Path(__file__).resolve().parents[2] / "edge" / "samples" / "bee_1.jpg")
    assert Classifier(ClassifierOptions(model=google)).classify(photo).top.label == "bee"


def test_the_device_side_loads_no_mediapipe_and_no_tensorflow():
    code = ("import sys, antbee.edge.cli, antbee.edge.classifier, antbee.edge.metadata; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'mediapipe')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
