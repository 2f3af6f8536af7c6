"""Write report.md (tables first, then the ratios in words and the acceptance checks) and report.json."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from antbee.benchmarks.live import markdown_lines
from antbee.benchmarks.pipeline import markdown as pipeline_markdown
from antbee.benchmarks.serve import markdown_lines as serve_lines
from antbee.benchmarks.ratios import sentences
from antbee.benchmarks.results import Report
from antbee.common.files import write_atomic

METHOD = (
    "TFLite latency is the bare interpreter: `set_input` + `invoke()` of one already-prepared 224x224 test image "
    "(the same image for every model), timed in blocks of up to 10 calls, the models taking turns, so that "
    "background load on this shared machine hits them alike.",
    "Keras latency runs in a worker process per thread count (TensorFlow fixes its thread pools when it starts; "
    "intra- and inter-op threads both set to the count), driven over a pipe so that Keras and the TFLite models "
    "take turns block by block and never run at the same time. *compiled call* is a `tf.function` of "
    "`model(x, training=False)` on a tensor, timed after tracing and warm-up, including `.numpy()`; "
    "*model.predict* is `model.predict(x)` on a NumPy batch of one, what most users call.",
    "Load is opening the model (Keras: `keras.saving.load_model`; TFLite: reading, checking and allocating the "
    "interpreter); first is the first call (tracing included); median, p90 and p99 are numpy percentiles "
    "after warm-up.",
    "End-to-end decodes each test image's bytes with `load_bgr` and classifies with `Classifier.classify_bgr`, "
    "whose own Timings give preprocess, inference (set_input + invoke) and postprocess.",
    "Peak memory is the peak RSS (VmHWM, read by the process itself at the end) of a separate process that "
    "opens the model and classifies "
    "the test images one by one: the edge runtime (no TensorFlow) against Keras' compiled call.",
    "Speedups and overheads above are ratios of medians, which move with the load from other jobs. "
    "`antbee-bench --check` compares ratios of minima instead (report.json `ratios` with `checked: true`), "
    "which repeat from run to run: other jobs only ever add time.",
)


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def markdown(report: Report) -> str:
    """The report as Markdown."""
    m = report.machine
    lines = ["# antbee-bench report", "",
             f"Run folder `{report.run_dir}`, measured {report.created} on {m.cpu} ({m.cores} cores, {m.platform}; "
             f"load average {' '.join(str(v) for v in m.load_average)} at the start). Python {m.python}, "
             f"TensorFlow {m.tensorflow or '–'}, Keras {m.keras or '–'}, {m.interpreter}, NumPy {m.numpy}, "
             f"OpenCV {m.opencv}.", ""]
    scores = {a.model: a for a in report.accuracy}
    lines += ["## Models", ""]
    lines += _table(["model", "file", "size (MB)", "origin", "convert gate", "accuracy", "precision", "recall",
                     "F1", "agrees with Keras"],
                    [[x.name, f"`{Path(x.path).name}`", f"{x.size_bytes / 1e6:.2f}", x.origin,
                      {True: "passed", False: "FAILED", None: "–"}[x.gate_passed],
                      *([_pct(a.accuracy), _pct(a.precision), _pct(a.recall), _pct(a.f1), _pct(a.agreement)]
                        if (a := scores.get(x.name)) else ["–"] * 5)] for x in report.models])
    lines += ["## Latency at batch 1 (ms)", ""]
    lines += _table(["model", "call", "threads", "load", "first", "median", "p90", "p99", "runs"],
                    [[r.model, r.call, r.threads, _ms(r.load_ms), _ms(r.first_ms), _ms(r.stats.median_ms),
                      _ms(r.stats.p90_ms), _ms(r.stats.p99_ms), r.stats.n] for r in report.latency])
    if report.end_to_end:
        n = report.end_to_end[0].total.n
        lines += [f"## End to end through the edge runtime (ms per image, median over {n} test images)", ""]
        lines += _table(["model", "threads", "decode", "preprocess", "inference", "postprocess", "total", "p90 total"],
                        [[e.model, e.threads, _ms(e.decode.median_ms), _ms(e.preprocess.median_ms),
                          _ms(e.inference.median_ms), _ms(e.postprocess.median_ms), _ms(e.total.median_ms),
                          _ms(e.total.p90_ms)] for e in report.end_to_end])
    if (f := report.frame_overhead) is not None:
        lines += [f"## An already-decoded {f.frame} frame: the runtime against bare invoke (ms)", ""]
        lines += _table(["model", "threads", "classify_bgr", "its preprocess", "its inference", "bare invoke()",
                         "bare set_input+invoke", "overhead over invoke"],
                        [[f.model, f.threads, _ms(f.classify.median_ms), _ms(f.classify_preprocess.median_ms),
                          _ms(f.classify_inference.median_ms), _ms(f.invoke.median_ms),
                          _ms(f.set_input_invoke.median_ms), f"{f.overhead_pct:+.1f}%"]])
        lines += ["Medians. The three calls take turns in one loop. Back-to-back bare invokes keep the model's "
                  "working set in the core's cache; inside classify_bgr the invoke follows the resize of a "
                  "640x480 frame and runs with a colder cache, so *its inference* can exceed *bare invoke()*.", ""]
    lines += pipeline_markdown(report.big_photo, report.folder)
    if report.memory:
        lines += ["## Peak memory (RSS) classifying the test images", ""]
        lines += _table(["process", "peak RSS (MB)", "images", "wall time (s)"],
                        [[x.process, f"{x.peak_rss_mb:.0f}", x.images, f"{x.seconds:.1f}"] for x in report.memory])
        if len(report.memory) == 2:
            edge, keras = report.memory
            lines += [f"The edge runtime peaks at {edge.peak_rss_mb:.0f} MB, "
                      f"{keras.peak_rss_mb / edge.peak_rss_mb:.1f}x less than Keras' {keras.peak_rss_mb:.0f} MB.", ""]
    lines += markdown_lines(report.live)
    lines += serve_lines(report.serve)
    said = sentences(report.models, report.latency, report.accuracy)
    if said:
        lines += ["## Against Keras", "", *(f"- {s}" for s in said), ""]
    if report.acceptance_checks:
        lines += ["## Acceptance checks", ""]
        lines += _table(["check", "measured", "target", "verdict"],
                        [[c.name, c.measured, c.target, {True: "yes", False: "**no**", None: "–"}[c.passed]]
                         for c in report.acceptance_checks])
    if report.notes:
        lines += ["## Left out and caveats", "", *(f"- {n}" for n in report.notes), ""]
    lines += ["## How the numbers were taken", "", *(f"- {s}" for s in METHOD), ""]
    return "\n".join(lines)


def write_report(report: Report, folder: Path) -> tuple[Path, Path]:
    """Write report.json (every number) and report.md into `folder`."""
    data = json.dumps(asdict(report), indent=1)
    return write_atomic(folder / "report.json", data + "\n"), write_atomic(folder / "report.md", markdown(report))
