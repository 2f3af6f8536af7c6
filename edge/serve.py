"""antbee-edge --serve: check the serve flags, assemble the service (model slot, event log, watcher) and run uvicorn."""

from __future__ import annotations

import ipaddress
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from antbee.common.errors import UsageError
from antbee.edge.debounce import DEFAULT_FRAMES, DEFAULT_MIN_SCORE, Debouncer
from antbee.edge.events import DEFAULT_KEEP, parse_age
from antbee.edge.modelswap import DEFAULT_MAX_DROP

DEFAULT_HOST = "127.0.0.1"
DEFAULT_MAX_UPLOAD_MB = 20
LOOPBACK_NAMES = frozenset({"localhost"})
SHUTDOWN_S = 10  # how long a stop waits for requests under way (systemd's TimeoutStopSec is 30)


@dataclass(frozen=True)
class ServeOptions:
    """The service's settings; the edge CLI's serve flags map onto these fields."""

    serve: str | None
    token: str | None = None
    no_auth: bool = False
    events: Path | None = None
    events_keep: str = DEFAULT_KEEP
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    verify: Path | None = None
    max_drop: float = DEFAULT_MAX_DROP
    debounce_frames: int = DEFAULT_FRAMES
    debounce_score: float = DEFAULT_MIN_SCORE
    print_systemd_unit: bool = False
    samples: Path | None = None
    sample_below: float = 0.6
    samples_per_minute: int = 6
    samples_keep: int = 1000
    sample_share: float = 0.01

    def __post_init__(self) -> None:
        if self.serve is None:
            raise UsageError("--print-systemd-unit: expected --serve [HOST:]PORT too")
        host, _ = parse_address(self.serve)
        if self.token is not None and not self.token.strip():
            raise UsageError("--token '': expected a secret (or leave it out and set ANTBEE_TOKEN)")
        if self.token is not None and self.no_auth:
            raise UsageError("--token and --no-auth given together: expected one of them")
        if not is_loopback(host) and self.token is None and not self.no_auth:
            raise UsageError(f"--serve {self.serve} listens beyond this machine, so it needs a token: give --token "
                             "TOKEN or set ANTBEE_TOKEN (or, to let anyone on the network in, --no-auth)")
        Debouncer(self.debounce_frames, self.debounce_score)  # refuses bad settings, naming the flag
        parse_age(self.events_keep)
        if not 0.0 <= self.max_drop <= 1.0:
            raise UsageError(f"--max-drop {self.max_drop:g}: expected a share between 0 and 1")
        if not self.max_upload_mb > 0:
            raise UsageError(f"--max-upload {self.max_upload_mb:g}: expected a positive number of megabytes")
        self.sampling()

    def sampling(self):
        """The --samples settings (SampleOptions), or None without --samples; UsageError for bad ones."""
        from antbee.edge.sampling import SampleOptions

        if self.samples is None:
            return None
        return SampleOptions(self.samples, self.sample_below, self.samples_per_minute, self.samples_keep,
                             self.sample_share)

    @property
    def max_upload(self) -> int:
        """The upload limit in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)

SERVE_LIBRARIES = {"uvicorn", "starlette", "multipart", "python_multipart", "prometheus_client"}


def parse_address(text: str) -> tuple[str, int]:
    """`[HOST:]PORT` (an IPv6 host in brackets) as (host, port); the host defaults to 127.0.0.1."""
    host, colon, port = text.rpartition(":")
    host = host.strip("[]") if colon else DEFAULT_HOST
    if not port.isdigit() or not 0 <= int(port) <= 65535 or (colon and not host):
        raise UsageError(f"--serve {text!r}: expected [HOST:]PORT, such as 8080 or 0.0.0.0:8080")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def serve_command(options: ServeOptions, classifier_options, model_given: bool, note, live=None, mqtt=None) -> int:
    """antbee-edge --serve: print the systemd unit, or serve until stopped; returns the exit code.

    `live` (the edge run's EdgeOptions, or None for the API alone) names the cameras and videos to classify;
    `mqtt` (MqttOptions, or None) the broker to put the service on.
    """
    if options.print_systemd_unit:
        from antbee.edge.systemd import systemd_unit

        print(systemd_unit(sys.argv[1:]), end="")
        return 0
    return run_service(options, classifier_options, model_given, note, live, mqtt)


def run_service(options: ServeOptions, classifier_options, model_given: bool, note, live=None, mqtt=None) -> int:
    """Serve the HTTP API (and classify `live`'s sources on a worker thread) until SIGTERM or Ctrl-C, or until
    every source has ended; returns the exit code. UsageError/ModelError if it cannot start."""
    # Imported here: a run without --serve never loads the web stack.
    from antbee.edge.classifier import Classifier
    from antbee.edge.events import EventLog, default_path
    from antbee.edge.modelswap import ModelWatcher, load_verify_set, slot_of
    from antbee.edge.runner import open_frames

    try:
        import uvicorn

        from antbee.edge.service.app import build_app
        from antbee.edge.service.core import Service
        from antbee.edge.service.liveloop import LiveLoop
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] not in SERVE_LIBRARIES:
            raise  # a bug in antbee itself, not a missing extra
        raise UsageError(f"--serve needs the service libraries ({exc.name} is not installed): "
                         "pip install 'antbee[serve]'") from None

    keep_s = parse_age(options.events_keep)
    host, port = parse_address(options.serve)
    classifier = Classifier(classifier_options)
    verify = None if options.verify is None else load_verify_set(options.verify, classifier.labels)
    slot = slot_of(classifier, verify, options.max_drop)
    frames = None if live is None else open_frames(live)  # errors now, before anything listens
    try:
        listener = _listen(host, port, options.serve)
    except UsageError:
        if frames is not None:
            frames.close()
        raise
    events_path = options.events or default_path()
    events = EventLog(events_path, keep_s)
    if options.events is None:
        note(f"event log: {events_path} (--events to choose)")
    service = Service(slot, events, str(classifier_options.model), classifier_options.runtime)
    watcher = ModelWatcher(Path(classifier_options.model), slot, _reporter(service, note))
    closed = []
    device = None

    def close() -> None:  # from the app's shutdown, and again after the server: once is enough
        if not closed:
            closed.append(True)
            watcher.stop()
            if loop is not None:
                loop.stop()
                loop.join()  # its last events are in the log before the backlog is waited for and the log closed
            if device is not None:
                device.link.close()
            events.close()

    app = build_app(service, options.token, options.max_upload,
                    Path(classifier_options.model) if model_given else None, close)
    server = _server_class(uvicorn)(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                                   timeout_graceful_shutdown=SHUTDOWN_S))

    def end_streams() -> None:  # open /events and /stream.mjpg streams would otherwise hold the shutdown
        service.broadcast.close()
        service.frames.close()
        if loop is not None:
            loop.stop()

    def sources_ended() -> None:  # the live loop ended by itself: the whole service ends with it
        end_streams()
        server.should_exit = True

    loop = None if frames is None else LiveLoop(service, frames, live.json, live.max_frames, sources_ended,
                                                options.sampling(), (options.debounce_frames, options.debounce_score))
    server.on_exit = end_streams
    # A stop signal from here on ends the run cleanly, also one that comes before uvicorn has put in
    # its own handlers (a broker or a test may see the device up by then). uvicorn puts these back when
    # it ends and raises what it caught again into them, which then changes nothing.
    previous = {number: signal.signal(number, lambda *_: setattr(server, "should_exit", True))
                for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        if mqtt is not None:
            from antbee.edge.mqtt.device import start_device

            sources = [] if frames is None else [grabber.opener.source_id for grabber in frames.grabbers]
            device = start_device(mqtt, events, slot, sources, note, service.model_outcome)
            if loop is not None:
                loop.sinks += device.sinks
        shown = f"[{host}]" if ":" in host else host
        watcher.start()
        what = "API only: no source given" if loop is None else f"{len(frames.grabbers)} live source(s)"
        note(f"serving on http://{shown}:{listener.getsockname()[1]}/ ({what})")
        if loop is not None:
            loop.start()
        server.run(sockets=[listener])
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        close()  # the live loop first, then the MQTT backlog, then the log
        listener.close()
    if loop is None:
        note("stopped")
        return 0
    summary = loop.stats.summary()
    note(f"stopped: {summary.results} frames, {summary.failures} failed, {summary.mean_fps:.1f} fps mean, "
         f"{loop.stats.dropped} dropped for a newer one")
    if loop.stuck:
        note(f"{loop.stuck} source read(s) still blocked at exit; left to the operating system")
    return 1 if loop.ending is not None and loop.ending.gave_up else 0


def _server_class(uvicorn):
    class Server(uvicorn.Server):
        """uvicorn's server, calling `on_exit` first when a signal asks it to stop."""

        on_exit = staticmethod(lambda: None)

        def handle_exit(self, sig, frame) -> None:
            self.on_exit()
            super().handle_exit(sig, frame)

    return Server


def _listen(host: str, port: int, text: str) -> socket.socket:
    # Bound here rather than by uvicorn, so that a busy port is a one-line usage error (exit 2).
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        raise UsageError(f"--serve {text}: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    return listener


def _reporter(service, note):
    def report(outcome) -> None:
        service.model_outcome(outcome)
        what = "swapped in" if outcome.accepted else f"refused: {outcome.reason}"
        note(f"new model {outcome.sha256[:12]} from {outcome.origin}: {what}")
    return report
