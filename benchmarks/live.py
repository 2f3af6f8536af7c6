"""A paced live source through the grabber and the live loop: fps achieved, age of each result, frames dropped.

Two runs of the deployed model on a paced camera: one at SOURCE_FPS (or slower, so that the
classifier keeps up: every frame should be classified), one delivering FAST_FRAMES frames per
classification (the newest frame is classified, the rest dropped, and the age must stay bounded;
a Pi 4 at 17 ms per frame on a 60 fps camera is the same case). The camera rates come from the
classification latency measured just before, in the same run.

    python -m antbee.benchmarks.live MODEL.tflite [--seconds 10] [--threads 2]
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from antbee.benchmarks.results import AcceptanceCheck, Ratio, Stats, stats

SOURCE_FPS = 30.0
FAST_FRAMES = 3.0  # camera frames per classification in the faster-camera run
MAX_FPS = 1000.0  # a sleep-paced camera stays accurate up to about this rate
CALIBRATION_RUNS = 20
SECONDS = 10.0
SMOKE_SECONDS = 2.0
WARM_UP_FRAMES = 3  # the first results include the interpreter's first invokes; left out of the figures
FASTER, SLOWER = "camera faster than the classifier", "camera slower than the classifier"
# The ratios' kind: like the latency ratios they are taken within one run, and check.py gives them
# the same 30% tolerance; unlike those they are not minima, so they carry no ".min" suffix.
LIVE = "live"


@dataclass(frozen=True)
class LiveRun:
    """One paced run: what was asked and what came out (ages and latencies in ms)."""

    scenario: str
    model: str
    threads: int
    source_fps: float
    seconds: float
    classified: int
    dropped: int
    fps: float  # results per second
    latency: Stats  # classification, per result
    age: Stats  # capture to result
    age_early_ms: float  # median age over the first third of the results, then the last third
    age_late_ms: float

    @property
    def age_bound_ms(self) -> float:
        """The bound on the median age: twice the classification latency plus one frame interval."""
        return 2 * self.latency.median_ms + 1e3 / self.source_fps


class PacedCamera:
    """A camera delivering `frame` every 1/fps seconds, filling OpenCV's reuse buffer in place."""

    def __init__(self, frame: np.ndarray, fps: float):
        self.frame, self.interval = frame, 1 / fps
        self.next = time.monotonic()

    def read(self, image=None):
        self.next += self.interval
        time.sleep(max(0.0, self.next - time.monotonic()))
        if image is None or image.shape != self.frame.shape:
            return True, self.frame.copy()
        np.copyto(image, self.frame)
        return True, image

    def release(self) -> None:
        pass


class _Recorder:
    def __init__(self, seconds: float):
        self.until = None
        self.seconds = seconds
        self.latency, self.age, self.times = [], [], []

    def result(self, result, frame) -> bool:
        now = time.monotonic()
        self.until = self.until or now + self.seconds
        self.latency.append(result.latency_ms)
        self.age.append(result.age_ms)
        self.times.append(now)
        return now >= self.until

    def event(self, event) -> None:
        pass


def paced_run(classifier, name: str, frame: np.ndarray, scenario: str, source_fps: float,
              seconds: float = SECONDS) -> LiveRun:
    """Run the live loop on a PacedCamera for `seconds` after the first result and summarise it."""
    from antbee.edge.capture import Opener
    from antbee.edge.live import LiveFrames
    from antbee.edge.pipeline import run_live

    frames = LiveFrames([Opener("paced camera", "0", True, lambda: PacedCamera(frame, source_fps))])
    recorder = _Recorder(seconds)
    try:
        run_live(classifier, frames, [recorder])
    finally:
        frames.close()
    latency, age, times = (x[WARM_UP_FRAMES:] for x in (recorder.latency, recorder.age, recorder.times))
    third = max(1, len(age) // 3)
    span = times[-1] - times[0]
    return LiveRun(scenario, name, classifier.options.threads or 0, source_fps, round(span, 3), len(age),
                   frames.dropped,
                   (len(times) - 1) / span if span > 0 else 0.0, stats(latency), stats(age),
                   float(np.median(age[:third])), float(np.median(age[-third:])))


def live_runs(model: Path, name: str, threads: int, frame: np.ndarray, seconds: float) -> list[LiveRun]:
    """Both scenarios, with camera rates set from the classification latency measured first."""
    from antbee.edge.classifier import Classifier, ClassifierOptions

    classifier = Classifier(ClassifierOptions(model=model, threads=threads))
    timings = []
    for _ in range(CALIBRATION_RUNS):
        start = time.perf_counter()
        classifier.classify_bgr(frame)
        timings.append(time.perf_counter() - start)
    latency_s = float(np.median(timings))
    slow_fps = min(SOURCE_FPS, 0.5 / latency_s)  # at least twice the latency between frames
    fast_fps = min(MAX_FPS, FAST_FRAMES / latency_s)
    return [paced_run(classifier, name, frame, SLOWER, slow_fps, seconds),
            paced_run(classifier, name, frame, FASTER, fast_fps, seconds)]


def live_ratios(runs: Sequence[LiveRun]) -> list[Ratio]:
    """Ratios the regression check compares: fps over the camera's (slower camera), age over its bound and late
    age over early age (faster camera)."""
    out = []
    for run in runs:
        if run.scenario == SLOWER:
            out.append(Ratio("live_fps_vs_source", run.fps / run.source_fps, LIVE, "higher", True))
        else:
            out.append(Ratio("live_age_vs_bound", run.age.median_ms / run.age_bound_ms, LIVE, "lower", True))
            out.append(Ratio("live_age_late_vs_early", run.age_late_ms / run.age_early_ms, LIVE, "lower", True))
    return out


def live_checks(runs: Sequence[LiveRun]) -> list[AcceptanceCheck]:
    """The live-source targets of acceptance.TARGETS: every frame of a slower camera classified; the age bounded
    and not growing with a faster one."""
    from antbee.benchmarks.acceptance import TARGETS

    checks = []
    for run in runs:
        if run.scenario == SLOWER:
            target = TARGETS["live_fps_vs_source"]
            checks.append(AcceptanceCheck(
                f"live, {run.scenario}: results per second = the camera's, none dropped",
                f"{run.fps:.1f} fps of {run.source_fps:.1f}, {run.dropped} dropped",
                target.stated, target.met(run.fps / run.source_fps) and run.dropped == 0))
        else:
            target = TARGETS["live_age_vs_bound"]
            checks.append(AcceptanceCheck(
                f"live, {run.scenario}: median age below 2x latency + one frame interval",
                f"{run.age.median_ms:.0f} ms of {run.age_bound_ms:.0f} ms (latency {run.latency.median_ms:.0f} ms, "
                f"{run.dropped} dropped)", target.stated, target.met(run.age.median_ms / run.age_bound_ms)))
            target = TARGETS["live_age_late_vs_early"]
            checks.append(AcceptanceCheck(
                f"live, {run.scenario}: the age does not grow over the run",
                f"{run.age_early_ms:.0f} ms early, {run.age_late_ms:.0f} ms late", target.stated,
                target.met(run.age_late_ms / run.age_early_ms)))
    return checks


def markdown_lines(runs: Sequence[LiveRun]) -> list[str]:
    """The report's section for the paced live source."""
    if not runs:
        return []
    lines = ["## A paced live source (grabber thread, newest frame; ms)", "",
             "| scenario | model | threads | camera fps | seconds | classified | dropped | fps | latency median | "
             "age median | age p90 | age early / late | bound on the median age |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r.scenario} | {r.model} | {r.threads} | {r.source_fps:.0f} | {r.seconds:.1f} | "
                     f"{r.classified} | {r.dropped} | "
                     f"{r.fps:.1f} | {r.latency.median_ms:.1f} | {r.age.median_ms:.1f} | {r.age.p90_ms:.1f} | "
                     f"{r.age_early_ms:.1f} / {r.age_late_ms:.1f} | {r.age_bound_ms:.1f} |")
    lines += ["", "Age is capture to result: the wait for the classifier plus the classification. The bound is "
              "the target: twice the classification latency plus one frame interval.", ""]
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """Run both scenarios on a model and print each as one JSON line."""
    import argparse

    from antbee.benchmarks.endtoend import camera_frame

    parser = argparse.ArgumentParser(prog="python -m antbee.benchmarks.live", description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the .tflite model")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="length of each run after its first result")
    parser.add_argument("--threads", type=int, default=2, help="interpreter threads")
    args = parser.parse_args(argv)
    for run in live_runs(args.model, args.model.stem, args.threads, camera_frame(None), args.seconds):
        print(json.dumps({**asdict(run), "age_bound_ms": run.age_bound_ms}))


if __name__ == "__main__":
    main()
