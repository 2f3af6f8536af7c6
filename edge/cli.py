"""antbee-edge: classify images, a camera or a video with a .tflite model (a thin Typer layer over runner)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from antbee.common.command import Verbose, fail, new_app, printable, run
from antbee.common.errors import AntbeeError, UsageError
from antbee.common.runs import RUN_DIR
from antbee.edge.display import open_window
from antbee.edge.output import format_json

PROG = "antbee-edge"
INTERRUPTED = 130

app = new_app()


def _config(ctx: typer.Context, path: Path | None) -> None:
    # Eager, so it runs before the other options are read: the file's values become their defaults.
    if path is None:
        return
    from antbee.edge.config import load_config

    flags = {option.opts[0].lstrip("-"): option.name for option in ctx.command.params
             if option.param_type_name == "option" and option.name not in ("config", "help", "print_systemd_unit")}
    try:
        ctx.default_map = {**(ctx.default_map or {}), **load_config(path, flags)}
    except AntbeeError as exc:
        _fail(exc)


EXIT_CODES = """\b
Exit codes:
  0    done: every input or video file ended, --max-frames reached, q pressed,
       or Ctrl-C on a run with a camera or stream
  1    some image or frame could not be classified, or a live source gave up
       (no frame after its --reconnect attempts)
  2    a usage error: a bad flag, model or labels file, an input that names
       nothing, or a source that cannot be opened at the start
  130  Ctrl-C on a run of files or video files only"""


@app.command(help="Classify image files, folders and globs, cameras or videos with a .tflite model: "
                  "one result per image or frame, as a readable line or (--json) one JSON object per line. "
                  "Cameras and streams are read on their own threads: the newest frame is classified (frames "
                  "replaced before that are counted as dropped) and a source that stops is reopened with "
                  "back-off (0.5 s doubling to 30 s).", epilog=EXIT_CODES)
def edge(
    inputs: Annotated[list[str] | None, typer.Argument(
        metavar="INPUTS", help="Image files, folders (searched recursively) or globs.", show_default=False)] = None,
    model: Annotated[Path | None, typer.Option(
        metavar="FILE.tflite",
        help=f"The .tflite model. Default: the newest {RUN_DIR}/*.tflite, else the packaged model.")] = None,
    labels: Annotated[Path | None, typer.Option(
        metavar="FILE", help="A labels file (one per line) instead of the labels inside the model.")] = None,
    camera: Annotated[list[str] | None, typer.Option(
        metavar="[NAME=]INDEX|picam",
        help="A camera: an OpenCV index (0, 1, ...), a /dev/video device, or 'picam' (Picamera2). Repeatable; "
             "NAME= gives the source's id in results (default: its position, cameras first).",
        show_default=False)] = None,
    video: Annotated[list[str] | None, typer.Option(
        metavar="[NAME=]PATH_OR_URL", help="A video file (every frame, in order) or a stream URL (live, like a "
        "camera). Repeatable.", show_default=False)] = None,
    reconnect: Annotated[int | None, typer.Option(
        metavar="N", help="Reopen attempts for a camera or stream that stops, per outage, before giving up. "
        "Default: forever.", show_default=False)] = None,
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
    max_frames: Annotated[int | None, typer.Option(
        metavar="N", help="Stop after classifying this many frames (over all sources).")] = None,
    runtime: Annotated[str, typer.Option(
        metavar="auto|litert|tflite-runtime|tensorflow", help="The TFLite interpreter to use.")] = "auto",
    reference_kernels: Annotated[bool, typer.Option(
        help="Use TFLite's slow portable reference kernels.")] = False,
    serve: Annotated[str | None, typer.Option(
        metavar="[HOST:]PORT",
        help="Serve the HTTP API and page (host default 127.0.0.1); see docs/service.md.")] = None,
    token: Annotated[str | None, typer.Option(
        metavar="TOKEN", envvar="ANTBEE_TOKEN", show_envvar=True,
        help="The token every request but /healthz must carry; needed to listen beyond 127.0.0.1.")] = None,
    no_auth: Annotated[bool, typer.Option(
        "--no-auth", help="Listen beyond 127.0.0.1 without a token (anyone on the network can use it).")] = False,
    events: Annotated[Path | None, typer.Option(
        metavar="PATH.db",
        help="The SQLite event log (classifications of files; label changes, minute counts and outages of live "
             "sources). Default with --serve: $XDG_STATE_HOME/antbee/events.db; else none.")] = None,
    events_keep: Annotated[str, typer.Option(
        metavar="AGE", help="Delete events older than this (30d, 12h, 90m, 3600s).")] = "30d",
    max_upload: Annotated[float, typer.Option(metavar="MB", help="The largest image upload.")] = 20,
    verify: Annotated[Path | None, typer.Option(
        metavar="DIR", help="A labelled folder (a subfolder per class) a new model must do well on.")] = None,
    max_drop: Annotated[float, typer.Option(
        metavar="SHARE", help="How much lower than the running model's a new model's --verify accuracy may be.")
    ] = 0.02,
    debounce_frames: Annotated[int, typer.Option(
        metavar="N", help="Frames a label must hold before the event log records a change.")] = 5,
    debounce_score: Annotated[float, typer.Option(
        metavar="S", help="The score those frames must reach.")] = 0.6,
    samples: Annotated[Path | None, typer.Option(
        metavar="DIR", help="With a camera or stream: keep frames worth relabelling as "
        "DIR/<label>/<time>_<source>.jpg (see docs/deploy-pi.md).")] = None,
    sample_below: Annotated[float, typer.Option(
        metavar="S", help="Keep a frame whose top score is below this.")] = 0.6,
    samples_per_minute: Annotated[int, typer.Option(metavar="N", help="At most this many samples a minute.")] = 6,
    samples_keep: Annotated[int, typer.Option(
        metavar="N", help="Keep at most this many samples; the oldest are deleted first.")] = 1000,
    sample_share: Annotated[float, typer.Option(
        metavar="SHARE", help="Also keep this random share of the other frames.")] = 0.01,
    mqtt: Annotated[str | None, typer.Option(
        metavar="URL", help="Publish the event log, status, state and model to an MQTT broker (mqtt://HOST[:PORT] "
        "or mqtts://; a user may be in the URL, never a password) and take model rollouts from it; see "
        "docs/commands.md. Without --events the log goes to $XDG_STATE_HOME/antbee/events.db.")] = None,
    mqtt_ca: Annotated[Path | None, typer.Option(
        metavar="FILE", help="The CA certificate (PEM) that signed an mqtts:// broker's.")] = None,
    mqtt_user: Annotated[str | None, typer.Option(metavar="USER", help="The broker user (else the URL's).")] = None,
    mqtt_password_file: Annotated[Path | None, typer.Option(
        metavar="FILE", help="A file holding the broker password (else ANTBEE_MQTT_PASSWORD).")] = None,
    device_id: Annotated[str | None, typer.Option(
        metavar="ID", help="This device's topic level (no /, + or #). Default: the host name.",
        show_default=False)] = None,
    group: Annotated[str | None, typer.Option(
        metavar="NAME", help="Also take model rollouts sent to this group.")] = None,
    mqtt_prefix: Annotated[str, typer.Option(metavar="PREFIX", help="The first level of every topic.")] = "antbee",
    mqtt_frames: Annotated[bool, typer.Option(
        "--mqtt-frames", help="Also publish every frame's result (QoS 0, not kept in the log).")] = False,
    mqtt_keepalive: Annotated[int, typer.Option(
        metavar="S", help="MQTT keepalive: the broker announces this device offline about 1.5x S after it "
        "stops answering.")] = 30,
    print_systemd_unit: Annotated[bool, typer.Option(
        "--print-systemd-unit", help="Print a systemd unit running this command as a service, and exit.")] = False,
    config: Annotated[Path | None, typer.Option(
        metavar="FILE.toml", is_eager=True, callback=_config,
        help="Settings as in the flags (events-keep = \"7d\"); flags given on the command line win.")] = None,
    verbose: Verbose = False,
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
        mqtt_options = _mqtt_options(mqtt, mqtt_ca=mqtt_ca, mqtt_user=mqtt_user, mqtt_password_file=mqtt_password_file,
                                     device_id=device_id, group=group, mqtt_prefix=mqtt_prefix,
                                     mqtt_frames=mqtt_frames, mqtt_keepalive=mqtt_keepalive)
    except AntbeeError as exc:
        _fail(exc)
    if serve is not None or print_systemd_unit:
        from antbee.edge.serve import ServeOptions, serve_command

        try:
            if inputs:
                raise UsageError("--serve with INPUTS: expected --camera or --video (or neither, for the API alone)")
            if samples is not None and camera is None and video is None:
                raise UsageError("--samples without --camera or --video: expected a live source to sample")
            live = None if camera is None and video is None else EdgeOptions(
                camera=tuple(camera or ()), video=tuple(video or ()), json=json_lines, display=False,
                max_frames=max_frames, reconnect=reconnect)
            code = serve_command(ServeOptions(
                serve=serve, token=token, no_auth=no_auth, events=events, events_keep=events_keep,
                max_upload_mb=max_upload, verify=verify, max_drop=max_drop, debounce_frames=debounce_frames,
                debounce_score=debounce_score, print_systemd_unit=print_systemd_unit, samples=samples,
                sample_below=sample_below, samples_per_minute=samples_per_minute, samples_keep=samples_keep,
                sample_share=sample_share), ClassifierOptions(
                model=model or default_model(), labels=labels, threads=threads, top_k=top_k, threshold=threshold,
                runtime=runtime, reference_kernels=reference_kernels), model is not None, _note, live, mqtt_options)
        except AntbeeError as exc:
            _fail(exc)
        raise typer.Exit(code)
    try:
        options = EdgeOptions(inputs=tuple(inputs or ()), camera=tuple(camera or ()), video=tuple(video or ()),
                              json=json_lines, display=display, max_frames=max_frames, reconnect=reconnect)
        items = None if options.live else expand_inputs(options.inputs)
        plan = None if options.live else default_plan(threads)
        classifier = Classifier(ClassifierOptions(
            model=model or default_model(), labels=labels, top_k=top_k, threshold=threshold,
            threads=plan.threads if plan else threads or os.cpu_count(),  # one frame at a time: every core on it
            runtime=runtime, reference_kernels=reference_kernels))
        _note(f"model {classifier.options.model} ({runtime_version(runtime)}, {len(classifier.labels)} classes, "
              f"input {classifier.input.size[0]}x{classifier.input.size[1]} {classifier.input.dtype})")
        sampling = _sampling(options, samples, sample_below, samples_per_minute, samples_keep, sample_share)
        debounce = _debounce(debounce_frames, debounce_score)
        log = None if events is None and mqtt_options is None else _event_log(events, events_keep)
        slot = None if mqtt_options is None else _slot(classifier)
    except AntbeeError as exc:
        _fail(exc)
    stats = Stats()
    _quiet_opencv()  # our error result names the file and reason; OpenCV's own log lines only add noise
    if items is not None:
        code = _run_files(classifier, items, plan.workers, options, stats, log, mqtt_options, slot)
    else:
        if slot is not None:
            from antbee.edge.modelswap import SlotClassifier

            classifier = SlotClassifier(slot)  # a rollout swaps the model between two frames
        code = _run_frames(classifier, options, stats, log, _recorders(log, classifier, sampling, debounce),
                           mqtt_options, slot)
    summary = stats.summary()
    what = ("frame" if options.live else "image") + ("" if summary.results == 1 else "s")
    rate = f", {summary.mean_fps:.1f} fps mean" if options.live else ""
    dropped = f", {summary.dropped} dropped for a newer one" if options.live else ""
    _note(f"{summary.results} {what}, {summary.failures} failed{rate}, "
          f"{summary.mean_latency_ms:.1f} ms mean latency{dropped}")
    raise typer.Exit(code or (1 if summary.failures else 0))


def _run_files(classifier, items, workers, options, stats, log=None, mqtt=None, slot=None) -> int:
    from antbee.edge.folder import classify_files

    device = None if mqtt is None else _mqtt_device(mqtt, log, slot, (), rollouts=False)
    try:
        for result in classify_files(classifier, items, workers):
            stats.add(result)
            _emit(result, classifier, options)
            if log is not None:
                _log(log, result, classifier)
    except KeyboardInterrupt:
        _note("interrupted")
        return INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
    finally:
        if device is not None:
            device.link.close()
        if log is not None:
            log.close()
    return 0


def _event_log(path, keep):
    from antbee.edge.events import EventLog, default_path, parse_age

    if path is None:  # --mqtt publishes from the log, so that nothing is lost
        path = default_path()
        _note(f"event log: {path} (--events to choose)")
    return EventLog(path, parse_age(keep))


def _mqtt_options(url, **flags):
    from antbee.edge.mqtt.options import MqttOptions, without_mqtt

    if url is None:
        without_mqtt(flags)
        return None
    from antbee.edge.mqtt.device import require_paho

    require_paho()
    return MqttOptions(url, **flags)


def _slot(classifier):
    from antbee.edge.mqtt.device import slot_of

    return slot_of(classifier)


def _mqtt_device(mqtt, log, slot, sources, rollouts=True):
    from antbee.edge.mqtt.device import start_device

    return start_device(mqtt, log, slot, sources, _note, rollouts=rollouts)


def _sampling(options, folder, *settings):
    if folder is None:
        return None
    if not options.live:
        raise UsageError("--samples without --camera or --video: expected a live source to sample")
    from antbee.edge.sampling import SampleOptions

    return SampleOptions(folder, *settings)


def _debounce(frames, score) -> tuple[int, float]:
    from antbee.edge.debounce import Debouncer

    Debouncer(frames, score)  # refuses bad settings, naming the flag, before anything opens
    return frames, score


def _recorders(log, classifier, sampling, debounce) -> list:
    """A live run's sinks beyond the terminal: the event log's (with --events) and the sampler (with --samples)."""
    sinks = []
    if log is not None:
        from antbee.edge.eventsink import EventSink

        sinks.append(EventSink(log, classifier, debounce))
    if sampling is not None:
        from antbee.edge.sampling import Sampler

        sinks.append(Sampler(sampling, classifier, log))
    return sinks


def _log(log, result, classifier) -> None:
    import json

    from antbee.edge.events import FILES_SOURCE, log_classification

    log_classification(log, json.loads(format_json(result, classifier)), FILES_SOURCE)


def _run_frames(classifier, options, stats, log=None, recorders=(), mqtt=None, slot=None) -> int:
    """Classify the live sources until they end or Ctrl-C; `recorders` are sinks that write the event log
    and samples; with `mqtt`, the log and `slot` go on the broker (SIGTERM ends the run like Ctrl-C); the log
    is closed here."""
    import cv2

    from antbee.edge.pipeline import run_live
    from antbee.edge.runner import open_frames
    from antbee.edge.terminal import Terminal, Window

    try:
        window = open_window(options.display)  # before the sources: a failure here must not leave them open
        frames = open_frames(options)
    except AntbeeError as exc:
        if log is not None:
            log.close()
        _fail(exc)
    terminal = Terminal(classifier, stats, options.json)
    sinks = [terminal, *([Window(stats, len(frames.grabbers) > 1)] if window else [])]
    sinks += recorders
    device = None
    if mqtt is not None:
        import signal

        # A device under systemd is stopped with SIGTERM: end as after Ctrl-C, so the backlog and `offline` go out.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        device = _mqtt_device(mqtt, log, slot, [grabber.opener.source_id for grabber in frames.grabbers])
        sinks += device.sinks
    code = 0
    try:
        ending = run_live(classifier, frames, sinks, options.max_frames)
        code = 1 if ending.gave_up else 0
    except KeyboardInterrupt:
        # Ctrl-C is how a camera or stream run ends; for video files only it cuts the run short.
        code = 0 if any(grabber.opener.live for grabber in frames.grabbers) else INTERRUPTED
        if code:
            terminal.close()
            _note("interrupted")
    except BrokenPipeError:
        _quiet_stdout()
    finally:
        stuck = frames.close()
        stats.dropped = frames.dropped
        terminal.close()
        if device is not None:
            device.link.close()
        if log is not None:
            log.close()
        if stuck:
            _note(f"{stuck} source read(s) still blocked at exit; left to the operating system")
        if window:
            cv2.destroyAllWindows()
    return code


def _emit(result, classifier, options) -> None:
    from antbee.edge.terminal import emit

    emit(result, classifier, options.json)


def _note(message: str) -> None:
    print(printable(f"{PROG}: {message}"), file=sys.stderr, flush=True)


def _fail(exc: AntbeeError) -> None:
    fail(PROG, exc)


def _quiet_stdout() -> None:
    # The reader went away (e.g. `| head`); stop writing, and keep Python from failing at exit flush.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main() -> None:
    """Run the antbee-edge command."""
    run(app, PROG, writes_files=False)


def _quiet_opencv() -> None:
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # OpenCV 5
    except AttributeError:
        cv2.setLogLevel(2)  # OpenCV 4.x (what numpy<2 installs get): 2 is LOG_LEVEL_ERROR
