"""antbee-edge: classify images, a camera or a video with a .tflite model (a thin Typer layer over runner)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from antbee.common.errors import AntbeeError
from antbee.edge.display import Status, open_window, show
from antbee.edge.output import format_human, format_json, printable

PROG = "antbee-edge"
INTERRUPTED = 130

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command(help="Classify image files, folders and globs, a camera or a video with a .tflite model: "
                  "one result per image or frame, as a readable line or (--json) one JSON object per line.")
def edge(
    inputs: Annotated[list[str] | None, typer.Argument(
        metavar="INPUTS", help="Image files, folders (searched recursively) or globs.", show_default=False)] = None,
    model: Annotated[Path | None, typer.Option(
        metavar="FILE.tflite",
        help="The .tflite model. Default: the newest artifacts/*.tflite, else the packaged model.")] = None,
    labels: Annotated[Path | None, typer.Option(
        metavar="FILE", help="A labels file (one per line) instead of the labels inside the model.")] = None,
    camera: Annotated[str | None, typer.Option(
        metavar="INDEX|picam",
        help="A camera: an OpenCV index (0, 1, ...), a /dev/video device, or 'picam' (Picamera2).")] = None,
    video: Annotated[str | None, typer.Option(metavar="PATH_OR_URL", help="A video file or stream URL.")] = None,
    threads: Annotated[int | None, typer.Option(
        metavar="N", help="Interpreter threads. Default: for files, one single-thread interpreter per core; "
        "for a camera or video, one interpreter with a thread per core. For files, N gives cores/N interpreters "
        "of N threads.")] = None,
    top_k: Annotated[int, typer.Option(metavar="K", help="How many of the best classes to report.")] = 1,
    threshold: Annotated[float, typer.Option(
        metavar="T", help="Report only classes scoring at least this (0..1).")] = 0.0,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per line on stdout.")] = False,
    display: Annotated[bool | None, typer.Option(
        "--display/--no-display", help="Show frames with the label and FPS in a window. "
        "Default: on for a camera or video when DISPLAY or WAYLAND_DISPLAY is set.", show_default=False)] = None,
    max_frames: Annotated[int | None, typer.Option(metavar="N", help="Stop after this many frames.")] = None,
    runtime: Annotated[str, typer.Option(
        metavar="auto|litert|tflite-runtime|tensorflow", help="The TFLite interpreter to use.")] = "auto",
    reference_kernels: Annotated[bool, typer.Option(
        help="Use TFLite's slow portable reference kernels.")] = False,
) -> None:
    """Classify image files, folders and globs, a camera or a video with a .tflite model."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):  # a non-UTF-8 terminal gets escapes rather than a crash
            stream.reconfigure(errors="backslashreplace")
    # Imported here so --help does not load numpy, OpenCV or an interpreter.
    from antbee.edge.classifier import Classifier, ClassifierOptions
    from antbee.edge.folder import default_plan
    from antbee.edge.interpreter import runtime_version
    from antbee.edge.runner import EdgeOptions, Stats, default_model
    from antbee.edge.sources import expand_inputs

    try:
        options = EdgeOptions(inputs=tuple(inputs or ()), camera=camera, video=video, json=json_lines,
                              display=display, max_frames=max_frames)
        items = None if options.live else expand_inputs(options.inputs)
        plan = None if options.live else default_plan(threads)
        classifier = Classifier(ClassifierOptions(
            model=model or default_model(), labels=labels, top_k=top_k, threshold=threshold,
            threads=plan.threads if plan else threads or os.cpu_count(),  # one frame at a time: every core on it
            runtime=runtime, reference_kernels=reference_kernels))
        _note(f"model {classifier.options.model} ({runtime_version(runtime)}, {len(classifier.labels)} classes, "
              f"input {classifier.input.size[0]}x{classifier.input.size[1]} {classifier.input.dtype})")
    except AntbeeError as exc:
        _fail(exc)
    stats = Stats()
    _quiet_opencv()  # our error result names the file and reason; OpenCV's own log lines only add noise
    code = _run_files(classifier, items, plan.workers, options, stats) if items is not None else \
        _run_frames(classifier, options, stats)
    summary = stats.summary()
    what = ("frame" if options.live else "image") + ("" if summary.results == 1 else "s")
    rate = f", {summary.mean_fps:.1f} fps mean" if options.live else ""
    _note(f"{summary.results} {what}, {summary.failures} failed{rate}, "
          f"{summary.mean_latency_ms:.1f} ms mean latency")
    raise typer.Exit(code or (1 if summary.failures else 0))


def _run_files(classifier, items, workers, options, stats) -> int:
    from antbee.edge.folder import classify_files

    try:
        for result in classify_files(classifier, items, workers):
            stats.add(result)
            _emit(result, classifier, options)
    except KeyboardInterrupt:
        _note("interrupted")
        return INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
    return 0


def _run_frames(classifier, options, stats) -> int:
    import cv2

    from antbee.edge.runner import classify_frame, open_frames

    try:
        window = open_window(options.display)  # before the source: a failure here must not leave it open
        frames = open_frames(options)
    except AntbeeError as exc:
        _fail(exc)
    status = Status(sys.stderr.isatty(), sys.stdout.isatty())
    code = 0
    try:
        for frame in frames:
            result = classify_frame(classifier, frame)
            stats.add(result)
            status.clear(force=result.error is not None and not options.json)  # an error line comes next
            _emit(result, classifier, options)
            status.show(result, stats)
            if window and result.error is None and show(frame.image, result, stats.fps):
                break
    except AntbeeError as exc:  # the camera or stream stopped delivering frames
        status.clear(force=True)
        _note(str(exc))
        code = exc.exit_code
    except KeyboardInterrupt:
        status.clear(force=True)
        # Ctrl-C is how a camera run ends; for a video it cuts the run short.
        code = 0 if options.camera is not None else INTERRUPTED
        if code:
            _note("interrupted")
    except BrokenPipeError:
        _quiet_stdout()
    finally:
        frames.close()
        status.clear(force=True)
        if window:
            cv2.destroyAllWindows()
    return code


def _emit(result, classifier, options) -> None:
    if options.json:
        print(printable(format_json(result, classifier)), flush=True)
    elif result.error is not None:
        _note(result.error)
    else:
        print(printable(format_human(result, classifier)), flush=True)


def _note(message: str) -> None:
    print(printable(f"{PROG}: {message}"), file=sys.stderr, flush=True)


def _fail(exc: AntbeeError) -> None:
    print(printable(f"{PROG}: error: {exc}"), file=sys.stderr, flush=True)
    raise typer.Exit(exc.exit_code)


def _quiet_stdout() -> None:
    # The reader went away (e.g. `| head`); stop writing, and keep Python from failing at exit flush.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main() -> None:
    """Run the antbee-edge command."""
    app(prog_name=PROG)


def _quiet_opencv() -> None:
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # OpenCV 5
    except AttributeError:
        cv2.setLogLevel(2)  # OpenCV 4.x (what numpy<2 installs get): 2 is LOG_LEVEL_ERROR
