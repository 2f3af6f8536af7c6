"""Grabbers: a thread per frame source keeping only its newest frame, reopening a live source that stops."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

import cv2
import numpy as np

from antbee.common.errors import AntbeeError
from antbee.edge.sources import Frame

FAILED_READS = 5  # failed reads in a row that make a live source offline
RETRY_SLEEP_S = 0.2
STALL_S = 10.0  # a read or open blocked this long makes the source offline (Frigate uses 20 s)
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
JOIN_S = 2.0  # how long close() waits for each grabber thread

OFFLINE, ONLINE, GAVE_UP, ENDED = "offline", "online", "gave up", "ended"


class SourceEvent(NamedTuple):
    """A change of a source's state: offline (with why), online again, gave up reconnecting, or ended."""

    source: str
    source_id: str
    kind: str
    detail: str = ""


class Opener(NamedTuple):
    """How to (re)open one source: `open()` returns a capture with read() and release(), or raises AntbeeError."""

    source: str
    source_id: str
    live: bool
    open: Callable[[], Any]


class Backoff:
    """Delays before reopening: `first` doubling up to `cap` seconds; `attempts` caps the reopenings (None: forever)."""

    def __init__(self, attempts: int | None = None, first: float = BACKOFF_FIRST_S, cap: float = BACKOFF_MAX_S):
        self.attempts, self.first, self.cap = attempts, first, cap

    def delay(self, attempt: int) -> float | None:
        """Seconds to wait before the 1-based `attempt`, or None when the attempts are used up."""
        if self.attempts is not None and attempt > self.attempts:
            return None
        return min(self.cap, self.first * 2 ** (attempt - 1))


class Hub:
    """What the grabbers of one run share: one condition to wake the consumer, and the events in order."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.events: deque[SourceEvent] = deque()
        self.stopping = threading.Event()


class Grabber:
    """Reads one source on its own thread into a one-frame slot.

    A live source keeps only the newest frame (a frame replaced before it was taken counts as
    dropped); a video file waits for each frame to be taken, so every frame is classified in
    order. A live source that fails FAILED_READS reads in a row, or blocks in open or read
    longer than `stall_s`, goes offline and is reopened with back-off. A blocked read cannot be
    interrupted, so `watch()` (called by the consumer, never by the grabber itself) abandons the
    stuck thread (it releases its capture and ends if the read ever returns) and starts a new one.
    """

    def __init__(self, opener: Opener, capture: Any, hub: Hub, backoff: Backoff | None = None,
                 stall_s: float = STALL_S, retry_sleep: float = RETRY_SLEEP_S):
        self.opener, self.hub = opener, hub
        self.backoff = backoff or Backoff()
        self.stall_s, self.retry_sleep = stall_s, retry_sleep
        self.slot: Frame | None = None
        self.dropped = 0
        self.finished = False
        self.online = True
        self._index = 0
        self._generation = 0
        self._busy: tuple[int, float] | None = None  # (generation, since) while in open or read
        self._attempt = 0
        self._threads: list[threading.Thread] = []
        # Pixel buffers go round (read into, waiting, being classified): at most three per source,
        # rather than a new one per frame.
        self._spare: list[np.ndarray] = []
        self._given: Frame | None = None
        self._start(capture)

    def _start(self, capture: Any) -> None:
        thread = threading.Thread(target=self._run, args=(self._generation, capture),
                                  name=f"antbee-grab {self.opener.source_id}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    # ------------------------------------------------------------------ consumer side (holds hub.condition)
    def take(self) -> Frame | None:
        """The waiting frame, if any (call with the hub's condition held).

        Taking a frame hands the pixels of this source's previous one back to the grabber to
        read into, so a frame's image is valid until the next frame of its source is taken.
        """
        frame, self.slot = self.slot, None
        if frame is None:
            return None
        if self._given is not None:
            self._spare.append(self._given.image)
        self._given = frame
        if not self.opener.live:
            self.hub.condition.notify_all()  # the video file's grabber waits for the slot to empty
        return frame

    def watch(self, now: float) -> None:
        """Abandon a live source's thread stuck in open or read for longer than stall_s (call with the condition
        held); a video file is never reopened, since that would start it again from its first frame."""
        busy = self._busy
        if not self.opener.live or self.finished or busy is None:
            return
        if busy[0] != self._generation or now - busy[1] < self.stall_s:
            return
        self._generation += 1
        self._busy = None
        if self.online:
            self._went_offline(f"no frame for {self.stall_s:g} s (a read is stuck)")
        self._start(None)

    def close(self) -> int:
        """Stop the thread(s); how many are still stuck in a read after JOIN_S each (daemons, left behind)."""
        with self.hub.condition:
            self._generation += 1
            self.hub.condition.notify_all()
        for thread in self._threads:
            thread.join(JOIN_S)
        return self.threads_alive()

    def threads_alive(self) -> int:
        """How many of this grabber's threads are still running."""
        return sum(thread.is_alive() for thread in self._threads)

    # ------------------------------------------------------------------ grabber thread
    def _current(self, generation: int) -> bool:
        return generation == self._generation and not self.hub.stopping.is_set()

    def _mark_busy(self, generation: int, busy: bool) -> None:
        # An abandoned thread whose read finally returns must not clear its successor's mark.
        if generation == self._generation:
            self._busy = (generation, time.monotonic()) if busy else None

    def _run(self, generation: int, capture: Any) -> None:
        try:
            while self._current(generation):
                if capture is None:
                    capture = self._reopen(generation)
                    if capture is None:
                        return
                    if capture is _FAILED:
                        capture = None
                        continue
                reason = self._read_until_failure(generation, capture)
                capture.release()
                capture = None
                if reason is None or not self._current(generation):
                    return
                if not self.opener.live:
                    self._finish(ENDED, "")
                    return
                with self.hub.condition:
                    if self.online:
                        self._went_offline(reason)
        finally:
            if capture is not None:
                capture.release()

    def _reopen(self, generation: int) -> Any:
        """A reopened capture, _FAILED for a failed attempt, or None when this thread should end."""
        self._attempt += 1
        delay = self.backoff.delay(self._attempt)
        if delay is None:
            tries = self._attempt - 1
            self._finish(GAVE_UP, f"no frame after {tries} reconnect attempt{'s' if tries != 1 else ''} "
                                  f"(--reconnect {self.backoff.attempts})")
            return None
        with self.hub.condition:
            self.hub.condition.wait_for(lambda: not self._current(generation), delay)
        if not self._current(generation):
            return None
        self._mark_busy(generation, True)
        try:
            capture = self.opener.open()
        except (AntbeeError, cv2.error, OSError, RuntimeError):  # Picamera2 raises its own errors when reopened
            capture = _FAILED
        self._mark_busy(generation, False)
        if not self._current(generation):  # abandoned while opening, or the run ended
            capture.release()
            return None
        return capture

    def _read_until_failure(self, generation: int, capture: Any) -> str | None:
        """Read into the slot until the source fails (the reason) or this thread should stop (None)."""
        failures = 0
        while self._current(generation):
            with self.hub.condition:
                buffer = self._spare.pop() if self._spare else None
            self._mark_busy(generation, True)
            try:
                ok, image = capture.read(buffer)  # OpenCV fills the buffer in place when the size still fits
                problem = ""
            except (cv2.error, RuntimeError, OSError) as exc:  # Picamera2 raises rather than returning False
                ok, image, problem = False, None, f": {str(exc).strip() or type(exc).__name__}"
            captured = time.monotonic()
            self._mark_busy(generation, False)
            if not self._current(generation):
                return None
            if not ok or image is None:
                if not self.opener.live:
                    return "end of file"
                failures += 1
                if failures >= FAILED_READS:
                    return f"{FAILED_READS} reads failed in a row{problem}"
                time.sleep(self.retry_sleep)
                continue
            failures = 0
            self._put(generation, Frame(self._index, image, self.opener.source, self.opener.source_id,
                                        time.time(), captured))
            self._index += 1
        return None

    def _put(self, generation: int, frame: Frame) -> None:
        with self.hub.condition:
            if not self.opener.live:
                self.hub.condition.wait_for(lambda: self.slot is None or not self._current(generation))
                if not self._current(generation):
                    return
            if self.slot is not None:
                self.dropped += 1
                self._spare.append(self.slot.image)
            self.slot = frame
            if not self.online:
                self.online = True
                self._attempt = 0
                self.hub.events.append(SourceEvent(self.opener.source, self.opener.source_id, ONLINE))
            self.hub.condition.notify_all()

    def _went_offline(self, reason: str) -> None:
        self.online = False
        self.hub.events.append(SourceEvent(self.opener.source, self.opener.source_id, OFFLINE, reason))
        self.hub.condition.notify_all()

    def _finish(self, kind: str, detail: str) -> None:
        with self.hub.condition:
            self.finished = True
            self.hub.events.append(SourceEvent(self.opener.source, self.opener.source_id, kind, detail))
            self.hub.condition.notify_all()


class _FailedOpen:
    """What _reopen returns for an attempt whose open failed (a capture with nothing to read or release)."""

    def read(self, image: Any = None) -> tuple[bool, None]:
        return False, None

    def release(self) -> None:
        pass


_FAILED = _FailedOpen()
