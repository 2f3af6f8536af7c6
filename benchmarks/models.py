"""Find the models to benchmark in a run folder, converting any missing TFLite variant with antbee-convert."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from antbee.benchmarks.results import KERAS, REFERENCE, Model
from antbee.common.errors import AntbeeError
from antbee.common.runs import KERAS_MODEL, SPLIT, VARIANTS, model_file, report_file

REFERENCE_NAME = "tf2_mobilenet_v2_1.0_224_ptq.tflite"
# ../shared beside the checkout, where every developer and CI have Google's int8 MobileNetV2; relative
# to the working folder (the checkout), since an installed package does not sit beside it.
DEFAULT_REFERENCE = Path("..") / "shared" / "models" / REFERENCE_NAME


def keras_model(run_dir: Path) -> Model | None:
    """The run's Keras model, or None when the folder has none."""
    path = run_dir / KERAS_MODEL
    return Model(KERAS, str(path), path.stat().st_size, "run folder") if path.is_file() else None


def reference_model(path: Path) -> tuple[Model | None, str | None]:
    """Google's int8 MobileNetV2 as a Model, or None and a note saying why it is left out."""
    if not path.is_file():
        return None, f"reference int8 MobileNetV2 left out: {path} not found"
    return Model(REFERENCE, str(path), path.stat().st_size, "shared reference"), None


def tflite_models(run_dir: Path, cache: Path, can_convert: bool, convert: Callable[[str], tuple[Path, bool]],
                  ) -> tuple[list[Model], list[str]]:
    """Every variant found in `run_dir` or `cache` (or converted into `cache`), then any other .tflite in `run_dir`.

    A variant antbee-convert rejected is still benchmarked, marked as failing its gate, so a
    variant that loses accuracy shows up in the report instead of vanishing from it.
    """
    models, notes = [], []
    for variant in VARIANTS:
        found = _find(run_dir, variant, "run folder") or _find(cache, variant, "converted by antbee-bench earlier")
        if found is None and can_convert:
            try:
                path, passed = convert(variant)
            except AntbeeError as exc:
                notes.append(f"{variant} left out: conversion failed ({exc})")
                continue
            found = Model(variant, str(path), path.stat().st_size, "converted by antbee-bench", passed)
        if found is None:
            notes.append(f"{variant} left out: no {model_file(run_dir, variant).name} in {run_dir} and no "
                         f"{KERAS_MODEL} with {SPLIT} to convert it from")
            continue
        models.append(found)
    used = {Path(m.path).resolve() for m in models}
    for path in sorted(run_dir.glob("*.tflite")):
        if path.resolve() in used or path.name.startswith("."):
            continue
        name = path.stem if path.stem not in {m.name for m in models} else path.name
        models.append(Model(name, str(path), path.stat().st_size, "run folder"))
    return models, notes


def _find(folder: Path, variant: str, origin: str) -> Model | None:
    for rejected in (False, True):
        path = model_file(folder, variant, rejected)
        if path.is_file():
            passed = False if rejected else _gate(path)
            where = f"{origin}, rejected by antbee-convert's gate" if rejected else origin
            return Model(variant, str(path), path.stat().st_size, where, passed)
    return None


def _gate(path: Path) -> bool | None:
    # antbee-convert writes its verification next to the model; a hand-copied model has none.
    report = report_file(path)
    try:
        passed = json.loads(report.read_text()).get("passed")
    except (OSError, ValueError, AttributeError):
        return None
    return passed if isinstance(passed, bool) else None
