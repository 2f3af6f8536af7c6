"""Soak the edge frame loop: N frames from a fake camera through its grabber thread -> run_live -> Stats -> JSON.

Usage: python soak.py MODEL [FRAMES]. Prints one JSON line: frames, errors, rss_kb samples every 1000
frames, the fitted RSS slope after warm-up (KB per 1000 frames), and median latencies early and late.
Runs in its own process so pytest's own allocations do not blur the measurement.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.output import format_json
from antbee.edge.pipeline import run_live
from antbee.edge.runner import EdgeOptions, Stats, open_frames

WARM_UP = 2000
SAMPLE_EVERY = 1000
WINDOW = 2000
READ_INTERVAL_S = 0.0002  # a camera faster than the tiny model, so the grabber drops frames too


def rss_kb(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


class Capture:
    """A camera delivering 480x640 frames about every READ_INTERVAL_S, filling OpenCV's reuse buffer in place."""

    def __init__(self, count: int):
        self.count, self.reads = count, 0
        self.frames = [np.full((480, 640, 3), colour, np.uint8) for colour in ((20, 30, 220), (220, 30, 20))]

    def isOpened(self):  # noqa: N802
        return True

    def set(self, *args):
        return True

    def read(self, image=None):
        time.sleep(READ_INTERVAL_S)
        if self.reads >= self.count:
            return False, None
        frame = self.frames[self.reads % 2]
        self.reads += 1
        if image is None:
            return True, frame.copy()
        np.copyto(image, frame)
        return True, image

    def release(self):
        pass


class Recorder:
    """The sink: counts results, builds the CLI's JSON line for each, samples RSS every SAMPLE_EVERY results."""

    def __init__(self, classifier, stats: Stats, frames: int):
        self.classifier, self.stats = classifier, stats
        # Preallocated: a growing list of floats would itself be a 32-byte-per-frame "leak". And filled
        # now: np.zeros may get lazily mapped zero pages from the kernel, which become resident as the
        # run writes them, an 8-byte-per-frame "leak" of the harness's own.
        self.latencies, self.samples, self.mapped = np.full(frames, np.nan), [], []
        self.count = self.errors = self.lines = 0

    def result(self, result, frame) -> bool:
        self.stats.add(result)
        self.lines += len(format_json(result, self.classifier)) > 0  # the CLI's per-frame output, built and dropped
        self.latencies[self.count] = result.latency_ms / 1e3
        self.errors += result.error is not None
        self.count += 1
        if self.count % SAMPLE_EVERY == 0:
            self.samples.append((self.count, rss_kb()))
            self.mapped.append((self.count, rss_kb("VmSize")))
        return False

    def event(self, event) -> None:
        pass


def soak(model: Path, frames: int) -> dict:
    classifier = Classifier(ClassifierOptions(model=model, threads=1))
    stats = Stats()
    recorder = Recorder(classifier, stats, frames)
    # The camera has frames to spare: whatever the classifier is too slow for is dropped by the grabber.
    stream = open_frames(EdgeOptions(camera=("0",), json=True), factory=lambda source: Capture(4 * frames))
    start = time.perf_counter()
    try:
        run_live(classifier, stream, [recorder], frames)
    finally:
        stream.close()
    elapsed = time.perf_counter() - start
    samples, latencies = recorder.samples, recorder.latencies
    after = [(n, kb) for n, kb in samples if n > WARM_UP]
    slope = float(np.polyfit([n for n, _ in after], [kb for _, kb in after], 1)[0]) * 1000
    early = float(np.median(latencies[WARM_UP:WARM_UP + WINDOW])) * 1e3
    late = float(np.median(latencies[-WINDOW:])) * 1e3
    return {"frames": stats.results, "errors": recorder.errors, "lines": recorder.lines, "dropped": stream.dropped,
            "grabber_threads_left": stream.threads_alive(), "seconds": round(elapsed, 1),
            "rss_kb": samples, "slope_kb_per_1000_frames": round(slope, 3),
            "rss_growth_kb_after_warm_up": after[-1][1] - after[0][1],
            "mapped_growth_kb_after_warm_up": max(kb for n, kb in recorder.mapped if n > WARM_UP)
            - min(kb for n, kb in recorder.mapped if n > WARM_UP),
            "median_latency_ms_early": round(early, 4), "median_latency_ms_late": round(late, 4)}


if __name__ == "__main__":
    print(json.dumps(soak(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 20_000)))
