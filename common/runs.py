"""The run folder: the names antbee-train writes, the variants antbee-convert adds, the model the device picks."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from antbee.common.errors import UsageError

RUN_DIR = Path("artifacts")
KERAS_MODEL = "model.keras"
LABELS = "labels.txt"
SPLIT = "split.json"
METRICS = "metrics.json"
HISTORY = "history.json"
CONFUSION_PLOT = "confusion_matrix.png"
CURVE_PLOT = "training_curve.png"
TRAINING_FILES = (KERAS_MODEL, LABELS, SPLIT, METRICS, HISTORY, CONFUSION_PLOT, CURVE_PLOT)
BENCH_DIR = "bench"  # antbee-bench's report and the variants it converted, inside the run folder
VARIANTS = ("float32", "float16", "dynamic", "int8")  # also the order of the benchmark report's rows
REJECTED_MARK = ".rejected"


@dataclass(frozen=True)
class Example:
    """One image: where it is inside the data set, and its class index."""

    source: str
    label: int


@dataclass(frozen=True)
class Skipped:
    """A file left out, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class Split:
    """The data set's classes and its train/test examples; what `split.json` in a run folder holds."""

    data: str
    classes: tuple[str, ...]
    labels_from: str
    presplit: bool
    train: tuple[Example, ...]
    test: tuple[Example, ...]
    skipped: tuple[Skipped, ...]
    resize: str = "crop"  # the preprocessing the run trained with, which conversion and the device repeat

    def save(self, path: Path) -> None:
        """Write as JSON."""
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> Split:
        """Read a `split.json` written by `save`."""
        try:
            raw = json.loads(Path(path).read_text())
            return cls(data=raw["data"], classes=tuple(raw["classes"]), labels_from=raw["labels_from"],
                       presplit=raw["presplit"],
                       train=tuple(Example(**e) for e in raw["train"]),
                       test=tuple(Example(**e) for e in raw["test"]),
                       skipped=tuple(Skipped(**s) for s in raw["skipped"]), resize=raw["resize"])
        except FileNotFoundError:
            raise UsageError(f"{path}: no split info (expected the {SPLIT} antbee-train writes)") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path}: malformed split info ({exc})") from None


def split_file(run: Path) -> Path:
    """`<run>/split.json`: the classes, the train/test examples and the resize mode of a training run."""
    return Path(run) / SPLIT


def load_split(run: Path) -> Split:
    """The Split of a run folder; a UsageError names the file when it is missing or malformed."""
    return Split.load(split_file(run))


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


def converted_files(run: Path) -> list[Path]:
    """Everything converted from a run's Keras model: its variants, their reports, and antbee-bench's copies."""
    run = Path(run)
    return [*run.glob("model_*.tflite"), *run.glob("model_*.json"), *(run / BENCH_DIR).glob("model_*")]


def newest_model(run_dir: Path = RUN_DIR) -> Path | None:
    """The .tflite antbee-convert wrote last in `run_dir` that passed its gate, or None."""
    if not Path(run_dir).is_dir():
        return None
    candidates = [path for path in Path(run_dir).glob("*.tflite") if not is_rejected(path) and path.is_file()]
    return max(candidates, key=lambda path: path.stat().st_mtime) if candidates else None
