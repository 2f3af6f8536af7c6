"""The classification rate with --serve (the page's MJPEG stream and /events open in a viewer) against without it.

Both sides run the live loop on the same paced camera, faster than the classifier so that the rate is the
classifier's: without --serve the loop alone; with --serve the loop with the service's sink, the model slot,
uvicorn serving the app on a loopback port, and a viewer (another process, like a browser) reading
/stream.mjpg and /events. The sides alternate, PAIRS times, and the medians are compared.

    python -m antbee.benchmarks.serve MODEL.tflite [--seconds 10] [--threads 2]
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from antbee.benchmarks.live import FAST_FRAMES, MAX_FPS, WARM_UP_FRAMES, PacedCamera
from antbee.benchmarks.results import AcceptanceCheck, Ratio

SECONDS = 10.0
SMOKE_SECONDS = 2.0
PAIRS = 2
SERVE = "serve"  # the ratio's kind (taken within one run, like the live ones)


@dataclass(frozen=True)
class ServeRates:
    """Results per second of each run without and with --serve, and what the viewer received."""

    model: str
    threads: int
    source_fps: float
    seconds: float
    plain_fps: tuple[float, ...]
    serve_fps: tuple[float, ...]
    viewer_jpegs: int  # MJPEG parts the viewer read over all --serve runs
    viewer_events: int  # /events messages it read

    @property
    def ratio(self) -> float:
        """Median rate with --serve over the median rate without it."""
        return float(np.median(self.serve_fps) / np.median(self.plain_fps))


class _Rate:
    def __init__(self, seconds: float):
        self.seconds, self.times = seconds, []

    def result(self, result, frame) -> bool:
        now = time.monotonic()
        self.times.append(now)
        return len(self.times) > WARM_UP_FRAMES and now - self.times[WARM_UP_FRAMES] >= self.seconds

    def event(self, event) -> None:
        pass

    @property
    def fps(self) -> float:
        times = self.times[WARM_UP_FRAMES:]
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def _run(classifier, frame: np.ndarray, source_fps: float, seconds: float, sinks=()) -> float:
    from antbee.edge.capture import Opener
    from antbee.edge.live import LiveFrames
    from antbee.edge.pipeline import run_live

    frames = LiveFrames([Opener("paced camera", "0", True, lambda: PacedCamera(frame, source_fps))])
    rate = _Rate(seconds)
    try:
        run_live(classifier, frames, [rate, *sinks])
    finally:
        frames.close()
    return rate.fps


def view(port: int) -> None:
    """The viewer (run in its own process, like a browser): read /stream.mjpg and /events; say "open" on stdout
    once both answer, and when stdin closes print how many JPEG parts and events came, then exit."""
    import http.client
    import sys

    counts = [0, 0]
    opened = threading.Barrier(3)

    def read(path: str, index: int, marker: bytes) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path)
        response = connection.getresponse()
        opened.wait()
        while line := response.readline():
            counts[index] += line.startswith(marker)

    for args in (("/stream.mjpg", 0, b"Content-Type: image/jpeg"), ("/events", 1, b"data: ")):
        threading.Thread(target=read, args=args, daemon=True).start()
    opened.wait()
    print("open", flush=True)
    sys.stdin.read()
    print(counts[0], counts[1], flush=True)


def _served_run(classifier, slot, frame: np.ndarray, source_fps: float, seconds: float, events_path: Path):
    """One run with the service: uvicorn on a thread here, the viewer in a process; (fps, jpegs, events)."""
    import uvicorn

    from antbee.edge.events import EventLog
    from antbee.edge.modelswap import SlotClassifier
    from antbee.edge.service.app import build_app
    from antbee.edge.service.core import Service
    from antbee.edge.service.sink import ServiceSink

    events = EventLog(events_path)
    service = Service(slot, events, "benchmark")
    sink = ServiceSink(service)
    sink.register("0", "paced camera")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    # log_config=None: uvicorn would otherwise point the process's logging at the sys.stderr of this moment,
    # which under antbee-bench's callers (a test runner, say) may be a stream closed before the process ends.
    server = uvicorn.Server(uvicorn.Config(build_app(service, None, 1 << 20), log_config=None,
                                           access_log=False, lifespan="off"))
    serving = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    serving.start()
    port = listener.getsockname()[1]
    viewer = subprocess.Popen([sys.executable, "-c", f"from antbee.benchmarks.serve import view; view({port})"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if viewer.stdout.readline().strip() != "open":  # both streams open before the run starts
            raise RuntimeError("the benchmark's viewer could not open /stream.mjpg and /events")
        fps = _run(SlotClassifier(slot), frame, source_fps, seconds, [sink])
        jpegs, messages = map(int, viewer.communicate("", timeout=30)[0].split())
    finally:
        if viewer.poll() is None:
            viewer.kill()
            viewer.wait()
        service.broadcast.close()
        service.frames.close()
        server.should_exit = True
        serving.join(10)
        listener.close()
        events.close()
    return fps, jpegs, messages


def serve_rates(model: Path, name: str, threads: int, frame: np.ndarray, seconds: float, folder: Path) -> ServeRates:
    """PAIRS alternating runs without and with --serve on a camera FAST_FRAMES times faster than the classifier."""
    import hashlib

    from antbee.edge.classifier import Classifier, ClassifierOptions
    from antbee.edge.modelswap import ModelSlot

    classifier = Classifier(ClassifierOptions(model=model, threads=threads))
    slot = ModelSlot(classifier, hashlib.sha256(model.read_bytes()).hexdigest())
    start = time.perf_counter()
    for _ in range(10):
        classifier.classify_bgr(frame)
    source_fps = min(MAX_FPS, FAST_FRAMES * 10 / (time.perf_counter() - start))
    plain, served, jpegs, messages = [], [], 0, 0
    for index in range(PAIRS):
        plain.append(_run(classifier, frame, source_fps, seconds))
        fps, j, m = _served_run(classifier, slot, frame, source_fps, seconds, folder / f"serve-{index}.db")
        served.append(fps)
        jpegs, messages = jpegs + j, messages + m
    return ServeRates(name, threads, round(source_fps, 1), seconds, tuple(plain), tuple(served), jpegs, messages)


def serve_ratios(rates: ServeRates | None) -> list[Ratio]:
    """The ratio the regression check compares: the rate with --serve over the rate without."""
    return [] if rates is None else [Ratio("serve_rate_vs_plain", rates.ratio, SERVE, "higher", True)]


def serve_checks(rates: ServeRates | None) -> list[AcceptanceCheck]:
    """The --serve target of acceptance.TARGETS, with the viewer shown to have received frames."""
    from antbee.benchmarks.acceptance import TARGETS

    if rates is None:
        return []
    target = TARGETS["serve_rate_vs_plain"]
    return [AcceptanceCheck(
        "classification rate with --serve and a viewer on the page's stream, over the rate without --serve",
        f"{np.median(rates.serve_fps):.1f} fps vs {np.median(rates.plain_fps):.1f} fps = {rates.ratio:.2f}x "
        f"(viewer: {rates.viewer_jpegs} JPEGs, {rates.viewer_events} events)", target.stated,
        target.met(rates.ratio) and rates.viewer_jpegs > 0)]


def markdown_lines(rates: ServeRates | None) -> list[str]:
    """The report's section for --serve."""
    if rates is None:
        return []
    return ["## The live loop with --serve and a viewer", "",
            "| model | threads | camera fps | seconds | fps without --serve | fps with --serve | ratio | "
            "viewer JPEGs | viewer events |", "|---|---|---|---|---|---|---|---|---|",
            f"| {rates.model} | {rates.threads} | {rates.source_fps:.0f} | {rates.seconds:.1f} | "
            f"{' / '.join(f'{x:.1f}' for x in rates.plain_fps)} | {' / '.join(f'{x:.1f}' for x in rates.serve_fps)} | "
            f"{rates.ratio:.2f} | {rates.viewer_jpegs} | {rates.viewer_events} |", "",
            "The runs alternate (without, with, ...); the ratio is of their medians. The viewer is another "
            "process reading /stream.mjpg and /events, as the page does.", ""]


def main(argv: Sequence[str] | None = None) -> None:
    """Measure the rates on a model and print them as one JSON line."""
    import argparse
    import tempfile

    from antbee.benchmarks.endtoend import camera_frame

    parser = argparse.ArgumentParser(prog="python -m antbee.benchmarks.serve", description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the .tflite model")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="length of each run after its warm-up")
    parser.add_argument("--threads", type=int, default=2, help="interpreter threads")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        rates = serve_rates(args.model, args.model.stem, args.threads, camera_frame(None), args.seconds, Path(folder))
    print(json.dumps({**asdict(rates), "ratio": rates.ratio,
                      "passed": all(check.passed for check in serve_checks(rates))}))


if __name__ == "__main__":
    main()
