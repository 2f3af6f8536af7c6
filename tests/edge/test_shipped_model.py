"""The model shipped in the package scores on the reference val images what the converter measured for it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.preprocess import load_rgb

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
MODEL = REPO / "edge" / "models" / "antbee_int8.tflite"


@pytest.mark.shared
def test_shipped_model_matches_its_conversion_report():
    data = SHARED / "data" / "hymenoptera_data.zip"
    if not data.is_file():
        pytest.skip(f"{data} not present")
    report = json.loads(MODEL.with_suffix(".json").read_text())
    classifier = Classifier(ClassifierOptions(model=MODEL))
    assert classifier.labels == ("ants", "bees") and classifier.resize == "crop"
    correct = total = 0
    with zipfile.ZipFile(data) as archive:
        for name in archive.namelist():
            parts = name.split("/")
            if len(parts) != 4 or parts[1] != "val" or not parts[3]:
                continue
            image = load_rgb(archive.read(name), name, size=classifier.input.size, resize=classifier.resize)
            result = classifier.classify(image)  # decoded as antbee-edge and training decode it
            correct += result.top.label == parts[2]
            total += 1
    assert total == report["n"] == 153
    assert correct / total == pytest.approx(report["tflite_accuracy"], abs=1e-9)
    assert correct >= 149  # the shipped model's accuracy floor: at most 4 of the 153 validation images wrong


@pytest.mark.shared
def test_a_model_packing_only_labels_is_fed_like_a_plain_model(tmp_path):
    """TFLite Support packs just labels.txt: that states no normalisation, so the plain-model defaults apply."""
    import io
    import zipfile as zf

    google = SHARED / "models" / "tf2_mobilenet_v2_1.0_224_ptq.tflite"
    labels = SHARED / "models" / "imagenet_labels.txt"
    if not google.is_file():
        pytest.skip(f"{google} not present")
    packed = io.BytesIO()
    with zf.ZipFile(packed, "w") as archive:
        archive.writestr("labels.txt", labels.read_text())
    model = tmp_path / "google_with_labels.tflite"
    model.write_bytes(google.read_bytes() + packed.getvalue())
    photo = load_rgb(REPO / "edge" / "samples" / "bee_1.jpg")
    inside = Classifier(ClassifierOptions(model=model)).classify(photo)
    outside = Classifier(ClassifierOptions(model=google, labels=labels)).classify(photo)
    assert inside.top.label == outside.top.label == "bee"
    assert inside.scores.tolist() == outside.scores.tolist()
