"""The benchmark's typed results: small frozen dataclasses that become report.json through dataclasses.asdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from antbee.benchmarks.live import LiveRun
    from antbee.benchmarks.serve import ServeRates

KERAS = "keras"
REFERENCE = "reference_int8"  # Google's int8 MobileNetV2, the yardstick
COMPILED = "compiled call"  # tf.function of model(x, training=False)
PREDICT = "model.predict"
INVOKE = "set_input+invoke"  # the bare TFLite interpreter


@dataclass(frozen=True)
class Stats:
    """Summary of repeated timings in milliseconds."""

    n: int
    median_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float


def stats(samples_ms) -> Stats:
    """Median, p90, p99 (numpy's linear percentiles), mean, min and max of timings in ms."""
    values = np.asarray(samples_ms, np.float64)
    if values.size == 0:
        raise ValueError("no timings to summarise")
    median, p90, p99 = np.percentile(values, [50, 90, 99])
    return Stats(int(values.size), float(median), float(p90), float(p99), float(values.mean()),
                 float(values.min()), float(values.max()))


@dataclass(frozen=True)
class Model:
    """One benchmarked model file: its variant name, path, size, and where it came from."""

    name: str  # keras, float32, float16, dynamic, int8, reference_int8
    path: str
    size_bytes: int
    origin: str  # "run folder", "converted by antbee-bench", "shared reference"
    gate_passed: bool | None = None  # antbee-convert's accuracy gate; None when not judged


@dataclass(frozen=True)
class Accuracy:
    """Test-split metrics of one model; agreement is top-1 agreement with Keras (None without Keras)."""

    model: str
    accuracy: float
    precision: float
    recall: float
    f1: float
    correct: int
    n: int
    confusion_matrix: list
    classes: list
    agreement: float | None


@dataclass(frozen=True)
class Latency:
    """Batch-1 latency of one model, one call style, one thread count."""

    model: str
    call: str  # INVOKE, COMPILED or PREDICT
    threads: int
    load_ms: float  # opening the model (and allocating, for TFLite)
    first_ms: float  # the first call (tracing / allocation included)
    stats: Stats  # after warm-up


@dataclass(frozen=True)
class EndToEnd:
    """Per-image time through the edge runtime over the test images, split into its parts."""

    model: str
    threads: int
    decode: Stats
    preprocess: Stats
    inference: Stats
    postprocess: Stats
    total: Stats


@dataclass(frozen=True)
class FrameOverhead:
    """Classifier.classify_bgr on an already-decoded frame against bare invoke(), sampled alternately."""

    model: str
    threads: int
    frame: str  # e.g. "640x480 BGR"
    classify: Stats  # wall time of the whole classify_bgr call
    invoke: Stats  # interpreter.invoke() alone on an already-set input
    set_input_invoke: Stats
    overhead_pct: float  # (classify median - invoke median) / invoke median, in percent
    # classify_bgr's own Timings: its inference can be slower than back-to-back bare invokes, whose
    # weights stay in the core's cache; after preprocessing a frame they must come back from memory.
    classify_preprocess: Stats
    classify_inference: Stats


@dataclass(frozen=True)
class BigPhoto:
    """One big JPEG from bytes to a result through the edge runtime: decoded at full size against reduced."""

    model: str
    threads: int
    photo: str  # e.g. "4032x3024 JPEG, 1.1 MB"
    reduction: int  # the libjpeg scale-down the loader chose (4: 1/4)
    full: Stats  # load_bgr at full size + classify_bgr
    reduced: Stats  # load_bgr(size=..., resize=...) + classify_bgr, what antbee-edge does


@dataclass(frozen=True)
class FolderThroughput:
    """Images per second through edge.folder over a folder of photos, against the all-cores work bound."""

    model: str
    images: int
    cores: int
    workers: int  # of the default plan
    threads: int | None  # per interpreter, of the default plan
    invoke: Stats  # bare invoke() at one thread
    decode: Stats  # load_bgr of each file (read + decode), as the folder runner decodes it
    bound_per_s: float  # cores / (median invoke + mean decode)
    default_per_s: float  # default plan, the fastest of the rounds
    sequential_per_s: float  # one interpreter, the runtime's threads, one file after another


@dataclass(frozen=True)
class Memory:
    """Peak resident memory of a separate process classifying the test images."""

    process: str  # "edge (<model>)" or "keras"
    peak_rss_mb: float
    images: int
    seconds: float


@dataclass(frozen=True)
class Ratio:
    """A ratio between two measurements; `better` says which direction is an improvement."""

    name: str  # e.g. speedup_compiled.int8.t2 (of medians) or speedup_compiled.int8.t2.min (of minima)
    value: float
    kind: str  # latency, size, decode, throughput, live or serve (size alone has its own tolerance)
    better: str  # higher or lower
    checked: bool  # whether the regression check compares it (see ratios.ratios)


@dataclass(frozen=True)
class AcceptanceCheck:
    """One acceptance check of the benchmark (see acceptance.TARGETS), with the measured value."""

    name: str
    measured: str
    target: str
    passed: bool | None  # None: reported only, no target


@dataclass(frozen=True)
class Machine:
    """Where the numbers were measured."""

    slug: str
    cpu: str
    cores: int
    platform: str
    python: str
    tensorflow: str | None
    keras: str | None
    interpreter: str
    numpy: str
    opencv: str
    load_average: tuple[float, float, float]


@dataclass(frozen=True)
class Report:
    """Everything one antbee-bench run measured."""

    created: str
    run_dir: str
    options: dict
    machine: Machine
    models: tuple[Model, ...]
    accuracy: tuple[Accuracy, ...]
    latency: tuple[Latency, ...]
    end_to_end: tuple[EndToEnd, ...]
    frame_overhead: FrameOverhead | None
    memory: tuple[Memory, ...]
    ratios: tuple[Ratio, ...]
    acceptance_checks: tuple[AcceptanceCheck, ...]
    notes: tuple[str, ...]  # what was left out and why, and how to read the numbers
    live: tuple[LiveRun, ...] = ()  # the paced live source (antbee.benchmarks.live)
    big_photo: BigPhoto | None = None
    folder: FolderThroughput | None = None
    serve: ServeRates | None = None  # the live loop with and without --serve (antbee.benchmarks.serve)
