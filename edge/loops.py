"""antbee-edge without --serve: image files in input order, or live sources until they end, each with the event log,
samples and MQTT link its flags ask for."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from antbee.common.command import INTERRUPTED
from antbee.common.errors import AntbeeError, UsageError
from antbee.edge.display import open_window
from antbee.edge.output import result_record

Note = Callable[[str], None]


def sampling_options(live: bool, folder: Path | None, *settings):
    """The --samples settings as SampleOptions (None without --samples); UsageError without a live source."""
    if folder is None:
        return None
    if not live:
        raise UsageError("--samples without --camera or --video: expected a live source to sample")
    from antbee.edge.sampling import SampleOptions

    return SampleOptions(folder, *settings)


def checked_debounce(frames: int, score: float) -> tuple[int, float]:
    """(frames, score) once Debouncer has accepted them: bad settings exit before anything opens."""
    from antbee.edge.debounce import Debouncer

    Debouncer(frames, score)
    return frames, score


def open_event_log(path: Path | None, keep: str, note: Note):
    """The event log at `path`, or at the default path (named through `note`) when none is given."""
    from antbee.edge.events import EventLog, default_path, parse_age

    if path is None:
        path = default_path()
        note(f"event log: {path} (--events to choose)")
    return EventLog(path, parse_age(keep))


def recorders(log, classifier, sampling, debounce: tuple[int, float]) -> list:
    """A live run's sinks beyond the terminal: the event log's (with a log) and the sampler (with --samples)."""
    sinks = []
    if log is not None:
        from antbee.edge.eventsink import EventSink

        sinks.append(EventSink(log, classifier, debounce))
    if sampling is not None:
        from antbee.edge.sampling import Sampler

        sinks.append(Sampler(sampling, classifier, log))
    return sinks


def run_files(classifier, items, workers: int, as_json: bool, stats, note: Note, log=None, mqtt=None,
              slot=None) -> int:
    """Classify `items` on `workers` interpreters, print each result in input order and log it; with `mqtt`, the
    log goes on the broker (no rollouts: the run ends). Closes the log; returns 0, or INTERRUPTED after Ctrl-C."""
    from antbee.edge.folder import classify_files
    from antbee.edge.terminal import emit

    quiet_opencv()  # an error result names the file and reason; OpenCV's own log lines only add noise
    device = None
    try:
        if mqtt is not None:
            device = _start_device(mqtt, log, slot, (), note, rollouts=False)
        for result in classify_files(classifier, items, workers):
            stats.add(result)
            emit(result, classifier, as_json)
            if log is not None:
                _log_file_result(log, result, classifier)
    except KeyboardInterrupt:
        note("interrupted")
        return INTERRUPTED
    except BrokenPipeError:
        quiet_stdout()
    finally:
        if device is not None:
            device.link.close()
        if log is not None:
            log.close()
    return 0


def run_frames(classifier, options, stats, note: Note, log=None, sinks: Sequence = (), mqtt=None, slot=None) -> int:
    """Classify the live sources of `options` until they end, --max-frames or Ctrl-C, with `sinks` (the event log's,
    the sampler) beside the terminal; with `mqtt`, the log and `slot` go on the broker. Closes the log; returns the
    exit code. AntbeeError if a window or source cannot be opened."""
    import cv2

    from antbee.edge.pipeline import run_live
    from antbee.edge.runner import open_frames
    from antbee.edge.terminal import Terminal, Window

    quiet_opencv()
    try:
        window = open_window(options.display)  # before the sources: a failure here must not leave them open
        frames = open_frames(options)
    except AntbeeError:
        if log is not None:
            log.close()
        raise
    terminal = Terminal(classifier, stats, options.json)
    # The log's sinks first: a result printed is a result logged, even if a signal cuts in between.
    sinks = [*sinks, terminal, *([Window(stats, len(frames.grabbers) > 1)] if window else [])]
    device = None
    code = 0
    try:
        if mqtt is not None:
            device = _start_device(mqtt, log, slot, [grabber.opener.source_id for grabber in frames.grabbers], note)
            sinks += device.sinks
        ending = run_live(classifier, frames, sinks, options.max_frames)
        code = 1 if ending.gave_up else 0
    except KeyboardInterrupt:
        # Ctrl-C is how a camera or stream run ends; for video files only it cuts the run short.
        code = 0 if any(grabber.opener.live for grabber in frames.grabbers) else INTERRUPTED
        if code:
            terminal.close()
            note("interrupted")
    except BrokenPipeError:
        quiet_stdout()
    finally:
        stuck = frames.close()
        stats.dropped = frames.dropped
        terminal.close()
        if device is not None:
            device.link.close()
        if log is not None:
            log.close()
        if stuck:
            note(f"{stuck} source read(s) still blocked at exit; left to the operating system")
        if window:
            cv2.destroyAllWindows()
    return code


def _log_file_result(log, result, classifier) -> None:
    from antbee.edge.events import FILES_SOURCE, log_classification  # only with a log: a plain run stays light

    log_classification(log, result_record(result, classifier), FILES_SOURCE)


def _start_device(mqtt, log, slot, sources, note: Note, rollouts: bool = True):
    from antbee.edge.mqtt.device import start_device

    return start_device(mqtt, log, slot, sources, note, rollouts=rollouts)


def quiet_stdout() -> None:
    """Send the rest of stdout nowhere: its reader went away (e.g. `| head`), and Python must not fail at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def quiet_opencv() -> None:
    """Keep OpenCV's own log lines (decoder warnings) off stderr; errors still come through."""
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # OpenCV 5
    except AttributeError:
        cv2.setLogLevel(2)  # OpenCV 4.x (what numpy<2 installs get): 2 is LOG_LEVEL_ERROR
