"""Per-image time through the edge runtime (decode, preprocess, inference, postprocess) and its overhead."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from antbee.benchmarks.latency import open_classifier, time_invoke
from antbee.benchmarks.results import EndToEnd, FrameOverhead, Model, stats

FRAME_SIZE = (480, 640)  # (height, width): a VGA camera frame, what a Pi camera loop typically captures


def end_to_end(model: Model, threads: int, encoded: Sequence[bytes], warmup: int, progress=None) -> EndToEnd:
    """Decode each encoded image as antbee-edge does (load_bgr) and classify it (classify_bgr), timing each part."""
    from antbee.edge.preprocess import load_bgr

    classifier = open_classifier(model.path, threads)
    size, resize = classifier.input.size, classifier.resize
    for data in encoded[:warmup]:
        classifier.classify_bgr(load_bgr(data, size=size, resize=resize))
    decode, parts, total = [], [], []
    for data in encoded:
        start = time.perf_counter()
        image = load_bgr(data, size=size, resize=resize)
        decoded = time.perf_counter()
        timings = classifier.classify_bgr(image).timings
        total.append(1e3 * (time.perf_counter() - start))
        decode.append(1e3 * (decoded - start))
        parts.append(timings)
        if progress is not None:
            progress()
    columns = np.array(parts, np.float64)  # Timings rows: preprocess, inference, postprocess
    return EndToEnd(model.name, threads, stats(decode), stats(columns[:, 0]), stats(columns[:, 1]),
                    stats(columns[:, 2]), stats(total))


def frame_overhead(model: Model, threads: int, frame: np.ndarray, repeats: int, warmup: int,
                   progress=None) -> FrameOverhead:
    """classify_bgr(frame) against bare invoke() and set_input+invoke, one of each per round.

    Alternating the three within each round exposes them to the same background load, so the
    overhead (classify median over invoke median) is not an artefact of when each was sampled.
    """
    from antbee.edge.preprocess import prepare

    classifier = open_classifier(model.path, threads)
    prepared = prepare(frame, classifier.input.size, classifier.resize, bgr=True)
    interpreter = classifier.interpreter

    parts = []

    def classify() -> float:
        start = time.perf_counter()
        timings = classifier.classify_bgr(frame).timings
        elapsed = 1e3 * (time.perf_counter() - start)
        parts.append(timings)
        return elapsed

    def invoke() -> float:
        start = time.perf_counter()
        interpreter.invoke()  # the input set by the previous call stays in the tensor
        return 1e3 * (time.perf_counter() - start)

    calls = (classify, invoke, lambda: time_invoke(classifier, prepared))
    for _ in range(warmup):
        for call in calls:
            call()
    samples: list[list[float]] = [[], [], []]
    parts.clear()
    for _ in range(repeats):
        for call, timings in zip(calls, samples):
            timings.append(call())
        if progress is not None:
            progress()
    classify_stats, invoke_stats, set_invoke_stats = (stats(s) for s in samples)
    overhead = 100 * (classify_stats.median_ms - invoke_stats.median_ms) / invoke_stats.median_ms
    height, width = frame.shape[:2]
    columns = np.array(parts, np.float64)
    return FrameOverhead(model.name, threads, f"{width}x{height} BGR", classify_stats, invoke_stats,
                         set_invoke_stats, overhead, stats(columns[:, 0]), stats(columns[:, 1]))


def camera_frame(bgr: np.ndarray | None) -> np.ndarray:
    """A FRAME_SIZE BGR frame: the given decoded image resized to it, or a smooth synthetic picture."""
    import cv2

    height, width = FRAME_SIZE
    if bgr is not None:
        return cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([(x * 255 // width), (y * 255 // height), ((x + y) * 255 // (width + height))]).astype(np.uint8)
