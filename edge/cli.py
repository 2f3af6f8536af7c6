"""antbee-edge: classify images, a camera or a video with a .tflite model (a thin Typer layer over loops and serve)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from antbee.common.command import Verbose, fail, new_app, printable, run
from antbee.common.errors import AntbeeError, UsageError
from antbee.common.runs import RUN_DIR
from antbee.edge.mqtt.options import DEFAULT_KEEPALIVE_S, DEFAULT_PREFIX

PROG = "antbee-edge"

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
        metavar="N", help="Interpreter threads. Default: for files, one single-thread interpreter per core (a "
        "single file: one interpreter with a thread per core); for a camera or video, one interpreter with a "
        "thread per core. For files, N gives cores/N interpreters of N threads.")] = None,
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
    mqtt_prefix: Annotated[str, typer.Option(
        metavar="PREFIX", help="The first level of every topic.")] = DEFAULT_PREFIX,
    mqtt_frames: Annotated[bool, typer.Option(
        "--mqtt-frames", help="Also publish every frame's result (QoS 0, not kept in the log).")] = False,
    mqtt_keepalive: Annotated[int, typer.Option(
        metavar="S", help="MQTT keepalive: the broker announces this device offline about 1.5x S after it "
        "stops answering.")] = DEFAULT_KEEPALIVE_S,
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
    from antbee.edge import loops
    from antbee.edge.classifier import Classifier, ClassifierOptions
    from antbee.edge.folder import default_plan
    from antbee.edge.interpreter import runtime_version
    from antbee.edge.modelswap import slot_of
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
        plan = None if options.live else default_plan(threads, files=len(items))
        classifier = Classifier(ClassifierOptions(
            model=model or default_model(), labels=labels, top_k=top_k, threshold=threshold,
            threads=plan.threads if plan else threads or os.cpu_count(),  # one frame at a time: every core on it
            runtime=runtime, reference_kernels=reference_kernels))
        _note(f"model {classifier.options.model} ({runtime_version(runtime)}, {len(classifier.labels)} classes, "
              f"input {classifier.input.size[0]}x{classifier.input.size[1]} {classifier.input.dtype})")
        sampling = loops.sampling_options(options.live, samples, sample_below, samples_per_minute, samples_keep,
                                          sample_share)
        debounce = loops.checked_debounce(debounce_frames, debounce_score)
        # --mqtt publishes from the event log, so that nothing is lost: it needs one, named or default.
        log = None if events is None and mqtt_options is None else loops.open_event_log(events, events_keep, _note)
        slot = None if mqtt_options is None else slot_of(classifier)
    except AntbeeError as exc:
        _fail(exc)
    stats = Stats()
    if items is not None:
        code = loops.run_files(classifier, items, plan.workers, options.json, stats, _note, log, mqtt_options, slot)
    else:
        if slot is not None:
            from antbee.edge.modelswap import SlotClassifier

            classifier = SlotClassifier(slot)  # a rollout swaps the model between two frames
        try:
            code = loops.run_frames(classifier, options, stats, _note,
                                    log, loops.recorders(log, classifier, sampling, debounce), mqtt_options, slot)
        except AntbeeError as exc:
            _fail(exc)
    summary = stats.summary()
    what = ("frame" if options.live else "image") + ("" if summary.results == 1 else "s")
    rate = f", {summary.mean_fps:.1f} fps mean" if options.live else ""
    dropped = f", {summary.dropped} dropped for a newer one" if options.live else ""
    _note(f"{summary.results} {what}, {summary.failures} failed{rate}, "
          f"{summary.mean_latency_ms:.1f} ms mean latency{dropped}")
    raise typer.Exit(code or (1 if summary.failures else 0))


def _mqtt_options(url, **flags):
    from antbee.edge.mqtt.options import MqttOptions, without_mqtt

    if url is None:
        without_mqtt(flags)  # an MQTT flag without --mqtt is a mistake worth a word
        return None
    from antbee.edge.mqtt.device import require_paho

    require_paho()
    return MqttOptions(url, **flags)


def _note(message: str) -> None:
    print(printable(f"{PROG}: {message}"), file=sys.stderr, flush=True)


def _fail(exc: AntbeeError) -> None:
    fail(PROG, exc)


def main() -> None:
    """Run the antbee-edge command."""
    # A device under systemd is stopped with SIGTERM: it ends a run as Ctrl-C does, so a live run stops
    # cleanly, the minute's counts are written and, with --mqtt, the backlog and `offline` go out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    run(app, PROG, writes_files=False)
