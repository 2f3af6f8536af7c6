"""The edge run: choose the model, classify files or frames into typed results, keep running statistics."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import cv2

from antbee.edge.classifier import Classification, Classifier
from antbee.common.errors import ImageError, ModelError, UsageError
from antbee.common.runs import RUN_DIR, newest_model
from antbee.edge.live import LiveFrames, open_live
from antbee.edge.preprocess import load_bgr
from antbee.edge.sources import PI_MODEL_FILE, Frame, Unreadable, video_capture

PACKAGE = "antbee.edge"
PACKAGED_MODEL = "models/antbee_int8.tflite"


@dataclass(frozen=True)
class EdgeOptions:
    """What to classify and how to report it; the edge CLI's flags map onto these fields."""

    inputs: tuple[str, ...] = ()
    camera: tuple[str, ...] = ()
    video: tuple[str, ...] = ()
    json: bool = False
    display: bool | None = None  # None: on when a window can be shown and frames are live
    max_frames: int | None = None
    reconnect: int | None = None  # reopen attempts per outage of a live source; None: forever

    def __post_init__(self) -> None:
        if not (self.inputs or self.camera or self.video):
            raise UsageError("no inputs: expected image files, folders or globs, --camera INDEX|picam, "
                             "or --video PATH_OR_URL")
        if self.inputs and (self.camera or self.video):
            given = " and ".join(flag for flag, values in (("--camera", self.camera), ("--video", self.video))
                                 if values)
            raise UsageError(f"INPUTS and {given} given together: expected image files, or frame sources")
        if self.max_frames is not None and self.max_frames < 1:
            raise UsageError(f"--max-frames {self.max_frames}: expected a positive number")
        if self.reconnect is not None and self.reconnect < 0:
            raise UsageError(f"--reconnect {self.reconnect}: expected 0 or more attempts")
        for value in self.video:
            if not value.strip():
                raise UsageError(f"--video {value!r}: expected a video file or a stream URL")

    @property
    def live(self) -> bool:
        """Whether the input is a frame source (camera or video) rather than image files."""
        return not self.inputs


class Result(NamedTuple):
    """One classified image or frame, or why it could not be classified.

    `latency_ms` is the whole per-input cost: decoding plus classification for files,
    classification alone for frames (the capture has already decoded them). A frame's
    `age_ms` adds the time it waited since capture.
    """

    source: str
    classification: Classification | None = None
    error: str | None = None
    latency_ms: float = 0.0
    frame: int | None = None
    source_id: str | None = None
    time: float | None = None  # capture time, seconds since the epoch
    age_ms: float | None = None  # from capture to result


class Summary(NamedTuple):
    """A run's totals, for the closing line."""

    results: int
    failures: int
    mean_fps: float
    mean_latency_ms: float
    dropped: int = 0


class Stats:
    """Running counts and rates over results, for the live status and the summary."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self._clock = clock
        self.results = self.failures = 0
        self._latency = 0.0
        self._first = self._last = 0.0
        self.fps = 0.0  # smoothed over about the last ten results
        self.dropped = 0  # live frames replaced by a newer one before being classified

    def add(self, result: Result) -> None:
        """Count one result."""
        now = self._clock()
        if self.results:
            interval = now - self._last
            if interval > 0:
                self.fps = 1 / interval if self.results == 1 else 0.9 * self.fps + 0.1 / interval
        else:
            self._first = now
        self._last = now
        self.results += 1
        if result.error is not None:
            self.failures += 1
        else:
            self._latency += result.latency_ms

    def summary(self) -> Summary:
        """Totals so far; mean fps counts the intervals between the first and the last result."""
        span = self._last - self._first
        mean_fps = (self.results - 1) / span if self.results > 1 and span > 0 else 0.0
        done = self.results - self.failures
        return Summary(self.results, self.failures, mean_fps, self._latency / done if done else 0.0, self.dropped)


def default_model(run_dir: Path = RUN_DIR) -> Path:
    """The model antbee-convert wrote last in `run_dir`, else the one shipped in the package."""
    newest = newest_model(run_dir)
    if newest is not None:
        return newest
    resource = resources.files(PACKAGE).joinpath(PACKAGED_MODEL)
    if resource.is_file():
        return Path(os.fspath(resource))  # installed as a plain folder, so this is a real file
    raise ModelError(f"no model given and none found: {run_dir}/ has no .tflite and the package ships no "
                     f"{PACKAGED_MODEL}; pass --model FILE.tflite")


def classify_file(classifier: Classifier, item: Path | Unreadable) -> Result:
    """Decode and classify one image file; an unusable file gives a Result with its error."""
    if isinstance(item, Unreadable):
        return Result(str(item.path), error=f"{item.path}: {item.reason}")
    start = time.perf_counter()
    try:
        image = load_bgr(item, size=classifier.input.size, resize=classifier.resize)
        classification = classifier.classify_bgr(image)
    except ImageError as exc:
        return Result(str(item), error=str(exc))
    return Result(str(item), classification, latency_ms=1e3 * (time.perf_counter() - start))


def classify_frame(classifier: Classifier, frame: Frame) -> Result:
    """Classify one captured BGR frame; a frame of the wrong dtype/shape gives a Result with its error."""
    where = dict(frame=frame.index, source_id=frame.source_id, time=frame.time or None)
    try:
        classification = classifier.classify_bgr(frame.image)
    except (ImageError, cv2.error) as exc:  # cv2.error: shapes prepare() passes on but OpenCV refuses
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return Result(frame.source, error=f"{frame.source} frame {frame.index}: {message}", **where)
    age = None if frame.captured is None else 1e3 * (time.monotonic() - frame.captured)
    return Result(frame.source, classification, latency_ms=classification.timings.total_ms, age_ms=age, **where)


def open_frames(options: EdgeOptions, factory: Callable[[Any], Any] = video_capture,
                pi_model_file: Path = PI_MODEL_FILE, **timing: Any) -> LiveFrames:
    """Open every camera and video the options name (errors now, not at the first frame) with its grabber.

    `timing` passes the grabbers' stall_s, retry_sleep and backoff_first_s (tests shorten them).
    """
    return open_live(options.camera, options.video, options.reconnect, factory, pi_model_file, **timing)
