"""Soak the edge frame loop: N frames from a fake capture through open_frames -> classify_frame -> Stats -> JSON.

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
from antbee.edge.runner import EdgeOptions, Stats, classify_frame, open_frames

WARM_UP = 2000
SAMPLE_EVERY = 1000
WINDOW = 2000


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


class Capture:
    """A camera that delivers `count` 480x640 frames, filling OpenCV's reuse buffer in place."""

    def __init__(self, count: int):
        self.count, self.reads = count, 0
        self.frames = [np.full((480, 640, 3), colour, np.uint8) for colour in ((20, 30, 220), (220, 30, 20))]

    def isOpened(self):  # noqa: N802
        return True

    def set(self, *args):
        return True

    def read(self, image=None):
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


def soak(model: Path, frames: int) -> dict:
    classifier = Classifier(ClassifierOptions(model=model, threads=1))
    options = EdgeOptions(camera="0", json=True)
    stats = Stats()
    # Preallocated: a growing list of floats would itself be a 32-byte-per-frame "leak".
    samples, latencies, errors, lines = [], np.zeros(frames), 0, 0
    stream = open_frames(options, factory=lambda source: Capture(frames), retry_sleep=0.0)
    start = time.perf_counter()
    for frame in stream:
        began = time.perf_counter()
        result = classify_frame(classifier, frame)
        stats.add(result)
        lines += len(format_json(result, classifier)) > 0  # the CLI's per-frame output, built and dropped
        latencies[frame.index] = time.perf_counter() - began
        errors += result.error is not None
        if (frame.index + 1) % SAMPLE_EVERY == 0:
            samples.append((frame.index + 1, rss_kb()))
        if frame.index + 1 >= frames:
            break
    elapsed = time.perf_counter() - start
    after = [(n, kb) for n, kb in samples if n > WARM_UP]
    slope = float(np.polyfit([n for n, _ in after], [kb for _, kb in after], 1)[0]) * 1000
    early = float(np.median(latencies[WARM_UP:WARM_UP + WINDOW])) * 1e3
    late = float(np.median(latencies[-WINDOW:])) * 1e3
    return {"frames": stats.results, "errors": errors, "lines": lines, "seconds": round(elapsed, 1),
            "rss_kb": samples, "slope_kb_per_1000_frames": round(slope, 3),
            "rss_growth_kb_after_warm_up": after[-1][1] - after[0][1],
            "median_latency_ms_early": round(early, 4), "median_latency_ms_late": round(late, 4)}


if __name__ == "__main__":
    print(json.dumps(soak(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 20_000)))
