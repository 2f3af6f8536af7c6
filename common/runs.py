"""The run folder: the names antbee-train writes, the variants antbee-convert adds, the model the device picks."""

from __future__ import annotations

from pathlib import Path

RUN_DIR = Path("artifacts")
KERAS_MODEL = "model.keras"
LABELS = "labels.txt"
SPLIT = "split.json"
METRICS = "metrics.json"
HISTORY = "history.json"
VARIANTS = ("float32", "float16", "dynamic", "int8")  # also the order of the benchmark report's rows
REJECTED_MARK = ".rejected"


def model_file(run: Path, variant: str, rejected: bool = False) -> Path:
    """`<run>/model_<variant>.tflite`, or its `model_<variant>.rejected.tflite` twin for a model that failed."""
    return Path(run) / f"model_{variant}{REJECTED_MARK if rejected else ''}.tflite"


def rejected_twin(path: Path) -> Path:
    """Where a model that failed verification is kept: `X.tflite` -> `X.rejected.tflite`."""
    return path.with_name(f"{path.stem}{REJECTED_MARK}{path.suffix}")


def is_rejected(path: Path) -> bool:
    """Whether `path` names a model antbee-convert kept only because it failed its gate."""
    return REJECTED_MARK in Path(path).name


def report_file(model: Path) -> Path:
    """The verification report antbee-convert writes beside a model: `X.tflite` -> `X.json`."""
    return Path(model).with_suffix(".json")


def newest_model(run_dir: Path = RUN_DIR) -> Path | None:
    """The .tflite antbee-convert wrote last in `run_dir` that passed its gate, or None."""
    if not Path(run_dir).is_dir():
        return None
    candidates = [path for path in Path(run_dir).glob("*.tflite") if not is_rejected(path) and path.is_file()]
    return max(candidates, key=lambda path: path.stat().st_mtime) if candidates else None
