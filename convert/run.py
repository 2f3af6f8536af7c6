"""Convert a training run's model to one TFLite variant, verify it, and keep it only if it passes."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version as package_version
from pathlib import Path

import numpy as np

from antbee.convert.metadata_writer import ModelCard
from antbee.convert.quantization import QuantizationConfig
from antbee.convert.verify import Verification, keras_scores, verify
from antbee.common.errors import UsageError
from antbee.common.files import write_atomic
from antbee.common.runs import KERAS_MODEL, RUN_DIR, VARIANTS, load_split, model_file, rejected_twin, report_file
from antbee.edge.metadata import ModelInfo
from antbee.edge.preprocess import IMAGE_SIZE

@dataclass(frozen=True)
class ConvertOptions:
    """What to convert and how; antbee-convert's flags map onto these fields."""

    model: Path = RUN_DIR
    variant: str = "int8"
    out: Path | None = None
    calibration: int = 200
    max_drop: float = 0.01
    seed: int = 0


@dataclass(frozen=True)
class ConvertResult:
    """Where the model went and how it verified."""

    path: Path
    report: Path
    verification: Verification


def resolve_run(model: Path) -> tuple[Path, Path]:
    """(Keras model file, run folder) for a run folder or a .keras file inside one."""
    if model.is_dir():
        return model / KERAS_MODEL, model
    if model.suffix != ".keras":
        raise UsageError(f"{model}: expected a .keras file or a run folder written by antbee-train")
    return model, model.parent


def stratified_sample(labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Indices of `count` examples, every class in proportion and at least one of each."""
    if count >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    picked = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        share = max(1, round(count * len(members) / len(labels)))
        picked.extend(rng.choice(members, min(share, len(members)), replace=False))
    return np.sort(np.array(picked))


def model_card(classes, variant: str) -> ModelCard:
    """The name, description and version written into the model's standard metadata."""
    try:
        version = package_version("antbee")
    except PackageNotFoundError:
        version = "unknown"
    return ModelCard(name=f"antbee image classifier ({', '.join(classes)})",
                     description=f"Classifies an RGB image as one of {len(classes)} classes: {', '.join(classes)}. "
                                 f"A transfer-learning model, {variant} TFLite, made by antbee-convert.",
                     version=f"antbee {version}", author="antbee")


def convert_run(options: ConvertOptions, tracker=None) -> ConvertResult:
    """Convert, write under a temporary name, verify on the test split, then rename to the final or rejected name."""
    from antbee.convert.tflite import convert, load_keras_model, write_model
    from antbee.train.data import DataSource, read_images

    if options.variant not in VARIANTS:
        raise UsageError(f"variant {options.variant!r}: expected one of {', '.join(VARIANTS)}")
    if options.calibration < 1 or options.max_drop < 0:
        raise UsageError("--calibration must be at least 1 and --max-drop at least 0")
    tracker = tracker or (lambda description, total: None)
    keras_path, run = resolve_run(options.model)
    split = load_split(run)
    if not Path(split.data).exists():
        raise UsageError(f"{split.data}: the run's data is gone; conversion needs its training and test images")
    model = load_keras_model(keras_path)
    with DataSource(split.data) as source:
        test = read_images(source, split.test, IMAGE_SIZE, split.resize, tracker("decoding test images", len(split.test)))
        if options.variant == "int8":
            # Calibration comes from the training images only, stratified over the classes.
            train_labels = np.array([e.label for e in split.train])
            chosen = [split.train[i] for i in stratified_sample(train_labels, options.calibration, options.seed)]
            calibration = read_images(source, chosen, IMAGE_SIZE, split.resize,
                                      tracker("decoding calibration", len(chosen))).pixels
            # One black and one white pixel pin the input range to exactly 0..255, so the uint8
            # input tensor gets scale 1 and zero point 0: raw camera pixels are its values.
            calibration[0, 0, 0], calibration[0, 0, 1] = 0, 255
            config = QuantizationConfig.for_int8(lambda: iter(calibration))
        else:
            config = {"float16": QuantizationConfig.for_float16, "dynamic": QuantizationConfig.for_dynamic,
                      "float32": QuantizationConfig.for_float32}[options.variant]()
    content = convert(model, config)
    info = ModelInfo(labels=split.classes, size=IMAGE_SIZE, resize=split.resize, mean=0.0, std=1.0,
                     extra={"variant": options.variant, "source": str(keras_path)})
    final = options.out or model_file(run, options.variant)
    candidate = final.with_name(f".{final.name}.verifying")
    try:
        write_model(content, info, model_card(split.classes, options.variant), candidate)
        result = verify(candidate, options.variant, test.pixels, test.labels, keras_scores(model, test.pixels),
                        options.max_drop)
        target = final if result.passed else rejected_twin(final)
        os.replace(candidate, target)
    finally:
        candidate.unlink(missing_ok=True)
    report = write_atomic(report_file(target), json.dumps(
        {**asdict(result), "drop": result.drop, "passed": result.passed, "model": str(target),
         "calibration": options.calibration if options.variant == "int8" else None}, indent=2).encode())
    return ConvertResult(target, report, result)
