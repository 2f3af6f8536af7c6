"""One benchmark run: find and convert the models, measure everything in order, write the report and plots."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path

from antbee.benchmarks import accuracy as acc
from antbee.benchmarks.endtoend import camera_frame, end_to_end, frame_overhead
from antbee.benchmarks.latency import latencies, thread_counts
from antbee.benchmarks.live import SECONDS, SMOKE_SECONDS, live_checks, live_ratios, live_runs
from antbee.benchmarks.serve import serve_checks, serve_ratios
from antbee.benchmarks.machine import machine
from antbee.benchmarks.models import DEFAULT_REFERENCE, keras_model, reference_model, tflite_models
from antbee.benchmarks.pipeline import pipeline_checks, pipeline_ratios
from antbee.benchmarks.results import Model, Report
from antbee.convert.verify import keras_scores, tflite_scores
from antbee.common.errors import UsageError
from antbee.common.runs import BENCH_DIR, KERAS_MODEL, RUN_DIR, model_file, split_file

SMOKE_REPEATS, SMOKE_WARMUP, SMOKE_IMAGES = 10, 2, 8


@dataclass(frozen=True)
class BenchOptions:
    """What to benchmark and how hard; antbee-bench's flags map onto these fields."""

    run_dir: Path = RUN_DIR
    data: str | None = None
    threads: tuple[int, ...] = (1, 2, 4)
    repeats: int = 200
    warmup: int = 20
    out: Path | None = None  # default: RUN_DIR/bench
    check: Path | None = None
    smoke: bool = False  # few repeats, the first thread count, a few images, no memory subprocesses
    reference: Path = DEFAULT_REFERENCE
    max_drop: float = 0.01  # antbee-convert's gate, applied to variants converted here (failures still run)

    def __post_init__(self) -> None:
        if not self.threads or min(self.threads) < 1:
            raise UsageError(f"--threads {','.join(map(str, self.threads))}: expected positive thread counts")
        if self.repeats < 1 or self.warmup < 0:
            raise UsageError("--repeats must be at least 1 and --warmup at least 0")
        if not self.run_dir.is_dir():
            raise UsageError(f"{self.run_dir}: no such run folder (expected a folder written by antbee-train, "
                             "or one holding .tflite files)")

    @property
    def out_dir(self) -> Path:
        """Where the report goes."""
        return self.out or self.run_dir / BENCH_DIR

    def effective(self) -> BenchOptions:
        """These options as run: --smoke cuts repeats, warm-up and thread counts."""
        if not self.smoke:
            return self
        return replace(self, threads=self.threads[:1], repeats=min(self.repeats, SMOKE_REPEATS),
                       warmup=min(self.warmup, SMOKE_WARMUP))


def _tracker_or_none(tracker):
    return tracker or (lambda description, total: (lambda advance=1: None))


def run_bench(options: BenchOptions, tracker=None) -> Report:
    """Measure every model of the run folder; `tracker(description, total)` returns a progress step."""
    options, tracker = options.effective(), _tracker_or_none(tracker)
    run_dir, out = options.run_dir, options.out_dir
    threads, capped = thread_counts(options.threads, os.cpu_count() or 1)
    notes = [f"thread counts {', '.join(map(str, capped))} capped at this machine's {os.cpu_count()} cores"] \
        if capped else []
    keras = keras_model(run_dir)
    facts = machine(with_keras=keras is not None)  # the load average before this run adds its own
    split, note = acc.find_split(run_dir, options.data)
    notes += [note] if note else []
    can_convert = keras is not None and split_file(run_dir).is_file()

    def convert(variant: str) -> tuple[Path, bool]:
        from antbee.convert.run import ConvertOptions, convert_run

        result = convert_run(ConvertOptions(model=run_dir, variant=variant, out=model_file(out, variant),
                                            max_drop=options.max_drop), tracker)
        return result.path, result.verification.passed

    tflites, more = tflite_models(run_dir, out, can_convert, convert)
    notes += more
    if keras is None:
        notes.append(f"Keras left out: no {KERAS_MODEL} in {run_dir}, so no Keras rows, no ratios to Keras, "
                     "no conversion of missing variants and no Keras memory figure")
    reference, note = reference_model(options.reference)
    notes += [note] if note else []
    if keras is None and not tflites:
        raise UsageError(f"{run_dir}: nothing to benchmark (no {KERAS_MODEL} and no .tflite files)")

    test = acc.read_test_images(split, tracker("decoding test images", len(split.test))) if split else None
    if test is not None and test.skipped:
        notes.append(f"{len(test.skipped)} unreadable test images left out: " + "; ".join(test.skipped[:5]))
    accuracy = _accuracy(keras, tflites, test, tracker)

    image = test.pixels[0] if test is not None else _synthetic_input()
    timed = [*tflites, *([reference] if reference else [])]
    latency = []
    step = tracker("latency, Keras and TFLite in turns", len(threads) * options.repeats)
    for t in threads:
        latency += latencies(timed, keras, t, options.repeats, options.warmup, image, step)

    encoded = test.encoded[:SMOKE_IMAGES] if test is not None and options.smoke else test.encoded if test else []
    deployed = next((m for m in tflites if m.name == "int8"), tflites[0] if tflites else None)
    e2e = []
    if encoded:
        step = tracker("end to end (edge runtime)", len(tflites) * len(encoded))
        e2e = [end_to_end(m, threads[-1], encoded, min(options.warmup, len(encoded)), step) for m in tflites]
    overhead, live, serve = None, [], None
    if deployed is not None:
        from antbee.edge.preprocess import load_bgr

        frame = camera_frame(load_bgr(test.encoded[0]) if test is not None else None)
        overhead = frame_overhead(deployed, threads[-1], frame, options.repeats, options.warmup,
                                  tracker("frame overhead", options.repeats))
        step = tracker("paced live source", 1)
        live = live_runs(Path(deployed.path), deployed.name, threads[-1], frame,
                         SMOKE_SECONDS if options.smoke else SECONDS)
        step()
        serve = _serve(deployed, threads[-1], frame, options, tracker, notes)
    big, folder = _pipeline(deployed, test, options, tracker)
    memory = _memory(keras, deployed, split, test, options, tracker, notes)
    return _report(options, facts, keras, tflites, reference, accuracy, latency, e2e, overhead, memory, notes,
                   live, serve, big, folder)


def _pipeline(deployed: Model | None, test, options: BenchOptions, tracker):
    """The big-photo and folder rows, on the deployed model and the test photos (or a synthetic one)."""
    from antbee.benchmarks import pipeline
    from antbee.edge.preprocess import load_bgr

    if deployed is None:
        return None, None
    picture = load_bgr(test.encoded[0]) if test is not None else None
    repeats = max(1, options.repeats // 10)  # each takes tens of milliseconds, not one
    big = pipeline.big_photo(deployed, picture, repeats, min(options.warmup, 2),
                             tracker("big photo, full and reduced decode", repeats))
    encoded = list(test.encoded) if test is not None else [_synthetic_jpeg()]
    images, rounds = (pipeline.SMOKE_FOLDER_IMAGES, pipeline.SMOKE_ROUNDS) if options.smoke else \
        (pipeline.FOLDER_IMAGES, pipeline.ROUNDS)
    folder = pipeline.folder_throughput(deployed, encoded, images, rounds, tracker("folder throughput", rounds))
    return big, folder


def _synthetic_jpeg() -> bytes:
    import cv2

    return cv2.imencode(".jpg", camera_frame(None))[1].tobytes()


def _serve(deployed, threads: int, frame, options: BenchOptions, tracker, notes: list[str]):
    import importlib.util
    import tempfile

    from antbee.benchmarks.serve import SECONDS as SERVE_SECONDS
    from antbee.benchmarks.serve import SMOKE_SECONDS as SERVE_SMOKE_SECONDS
    from antbee.benchmarks.serve import serve_rates

    if importlib.util.find_spec("uvicorn") is None:
        notes.append("--serve rate left out: the service libraries are not installed (pip install 'antbee[serve]')")
        return None
    step = tracker("live loop with --serve and a viewer", 1)
    with tempfile.TemporaryDirectory() as folder:
        rates = serve_rates(Path(deployed.path), deployed.name, threads, frame,
                            SERVE_SMOKE_SECONDS if options.smoke else SERVE_SECONDS, Path(folder))
    step()
    return rates


def _synthetic_input():
    # Without test images, the latency input is the synthetic camera frame prepared as the models take it.
    from antbee.edge.preprocess import IMAGE_SIZE, prepare

    return prepare(camera_frame(None), IMAGE_SIZE, "crop", bgr=True)


def _accuracy(keras: Model | None, tflites: list[Model], test, tracker) -> list:
    if test is None:
        return []
    rows, keras_top = [], None
    if keras is not None:
        from antbee.convert.tflite import load_keras_model

        step = tracker("Keras accuracy", 1)
        scores = keras_scores(load_keras_model(Path(keras.path)), test.pixels)
        keras_top = scores.argmax(1)
        rows.append(acc.accuracy(keras.name, scores, test, None))
        step()
    for model in tflites:
        scores = tflite_scores(model.path, test.pixels, progress=tracker(f"{model.name} accuracy", len(test.pixels)))
        rows.append(acc.accuracy(model.name, scores, test, keras_top))
    return rows


def _memory(keras, deployed, split, test, options: BenchOptions, tracker, notes: list[str]) -> list:
    from antbee.benchmarks.memory import peak_memory

    if options.smoke:
        notes.append("peak memory left out: --smoke skips the memory subprocesses")
        return []
    if test is None or split is None:
        return []
    sides = [("edge", deployed, f"edge runtime ({deployed.name})")] if deployed else []
    sides += [("keras", keras, "keras (compiled call)")] if keras else []
    step = tracker("peak memory (subprocesses)", len(sides))
    rows = []
    for side, model, label in sides:
        rows.append(peak_memory(side, Path(model.path), split.data, test.sources, split.resize, label))
        step()
    return rows


def _report(options, facts, keras, tflites, reference, accuracy, latency, e2e, overhead, memory, notes,
            live=(), serve=None, big=None, folder=None) -> Report:
    from antbee.benchmarks.acceptance import acceptance_checks
    from antbee.benchmarks.ratios import ratios

    models = [*([keras] if keras else []), *tflites, *([reference] if reference else [])]
    for model in tflites:
        if model.gate_passed is False:
            notes.append(f"{model.name} fails antbee-convert's accuracy gate; it is benchmarked all the same")
    if options.smoke:
        notes.append(f"--smoke: {options.repeats} repeats, {options.threads[0]} thread(s), at most "
                     f"{SMOKE_IMAGES} images end to end; the numbers only show that the pipeline works")
    notes.append("this machine is shared: compare ratios measured in one run, not absolute times across runs")
    plain = {f.name: (str(v) if isinstance(v := getattr(options, f.name), Path) else v) for f in fields(options)}
    return Report(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"), run_dir=str(options.run_dir), options=plain,
        machine=facts, models=tuple(models), accuracy=tuple(accuracy),
        latency=tuple(latency), end_to_end=tuple(e2e), frame_overhead=overhead, memory=tuple(memory),
        ratios=(*ratios(models, latency, overhead), *_pipeline_ratios(live, serve, big, folder, options.smoke)),
        acceptance_checks=(*acceptance_checks(latency, overhead), *live_checks(live), *serve_checks(serve),
                           *pipeline_checks(big, folder)),
        notes=tuple(notes), live=tuple(live), serve=serve, big_photo=big, folder=folder)


def _pipeline_ratios(live, serve, big, folder, smoke: bool) -> list:
    rows = [*live_ratios(live), *serve_ratios(serve), *pipeline_ratios(big, folder)]
    # A smoke run times one short round of each: far too noisy for the regression guard, which
    # these rows join only from a full run.
    return [replace(row, checked=False) for row in rows] if smoke else rows


def write_outputs(report: Report, folder: Path) -> list[Path]:
    """report.json, report.md and the PNG plots in `folder`; returns the files written."""
    from antbee.benchmarks.plots import draw_all
    from antbee.benchmarks.report import write_report

    folder.mkdir(parents=True, exist_ok=True)
    return [*write_report(report, folder), *draw_all(report, folder)]


def as_json(report: Report) -> dict:
    """The report as report.json holds it (for the regression check)."""
    return asdict(report)

