"""Frame sources of one run: parse --camera/--video, open each with its grabber, hand out frames round robin."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from antbee.common.errors import UsageError
from antbee.edge.capture import RETRY_SLEEP_S, STALL_S, Backoff, Grabber, Hub, Opener, SourceEvent
from antbee.edge.sources import (PI_MODEL_FILE, PICAM, Frame, open_capture, open_picamera,
                                 opencv_source, parse_camera, video_capture)

# A NAME= prefix: a short word, so that URLs (whose '=' comes after "://" or "?") are never split.
NAMED = re.compile(r"^([A-Za-z][A-Za-z0-9_-]{0,31})=(.+)$")
WATCH_S = 0.25  # how often the consumer checks the grabbers for stuck reads while it waits


class SourceSpec(NamedTuple):
    """One --camera or --video value: its short id (position or NAME), the flag, and the value."""

    source_id: str
    flag: str
    value: str


def parse_sources(cameras: Sequence[str], videos: Sequence[str]) -> list[SourceSpec]:
    """--camera then --video values as specs; ids are positions (0, 1, ...) unless given as NAME=VALUE."""
    specs = []
    for flag, values in (("--camera", cameras), ("--video", videos)):
        for value in values:
            match = NAMED.match(value)
            name, value = (match.group(1), match.group(2)) if match else (str(len(specs)), value)
            if not value.strip():
                raise UsageError(f"{flag} {value!r}: expected " + (
                    "a camera index, a device or picam" if flag == "--camera" else "a video file or a stream URL"))
            specs.append(SourceSpec(name, flag, value))
    ids = [spec.source_id for spec in specs]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise UsageError(f"source id {repeated[0]!r} given twice: expected a different NAME in each "
                         "--camera/--video NAME=VALUE")
    return specs


def opener(spec: SourceSpec, factory: Callable[[Any], Any] = video_capture,
           pi_model_file: Path = PI_MODEL_FILE) -> Opener:
    """How to open (and later reopen) the source a spec names."""
    if spec.flag == "--camera":
        source = parse_camera(spec.value)
        if source == PICAM:
            return Opener(f"camera {PICAM}", spec.source_id, True, open_picamera)
    else:
        source = spec.value
    name, live = opencv_source(source)
    return Opener(name, spec.source_id, live, lambda: open_capture(source, factory, pi_model_file))


class LiveFrames:
    """The grabbers of one run; next() returns the newest frame of the next source that has one, or an event."""

    def __init__(self, openers: Sequence[Opener], reconnect: int | None = None, stall_s: float = STALL_S,
                 retry_sleep: float = RETRY_SLEEP_S, backoff_first_s: float | None = None):
        self.hub = Hub()
        self.grabbers: list[Grabber] = []
        self._turn = 0
        backoff = Backoff(reconnect) if backoff_first_s is None else Backoff(reconnect, backoff_first_s)
        captures: list[Any] = []
        try:
            for o in openers:  # every source opens (or fails, naming itself) before any grabbing starts
                captures.append(o.open())
        except BaseException:
            for capture in captures:
                capture.release()
            raise
        for o, capture in zip(openers, captures, strict=True):
            self.grabbers.append(Grabber(o, capture, self.hub, backoff, stall_s, retry_sleep))

    def next(self) -> Frame | SourceEvent | None:
        """The next event, else a frame (round robin over sources with a fresh one); None when all have ended
        or stop() was called."""
        hub = self.hub
        with hub.condition:
            while True:
                if hub.events:
                    return hub.events.popleft()
                count = len(self.grabbers)
                for step in range(count):
                    grabber = self.grabbers[(self._turn + step) % count]
                    frame = grabber.take()
                    if frame is not None:
                        self._turn = (self._turn + step + 1) % count
                        return frame
                if all(g.finished for g in self.grabbers) or hub.stopping.is_set():
                    return None
                hub.condition.wait(WATCH_S)
                now = time.monotonic()
                for grabber in self.grabbers:
                    grabber.watch(now)

    @property
    def dropped(self) -> int:
        """Frames replaced by a newer one before the classifier took them, over all sources."""
        return sum(g.dropped for g in self.grabbers)

    def threads_alive(self) -> int:
        """Grabber threads still running."""
        return sum(g.threads_alive() for g in self.grabbers)

    def stop(self) -> None:
        """Make next() return None from now on (from any thread); close() still releases the sources."""
        with self.hub.condition:
            self.hub.stopping.set()
            self.hub.condition.notify_all()

    def close(self) -> int:
        """Stop every grabber and release its source; how many threads stay stuck in a read (left as daemons)."""
        self.hub.stopping.set()
        return sum(g.close() for g in self.grabbers)


def open_live(cameras: Sequence[str], videos: Sequence[str], reconnect: int | None = None,
              factory: Callable[[Any], Any] = video_capture, pi_model_file: Path = PI_MODEL_FILE,
              **timing: Any) -> LiveFrames:
    """Open every --camera and --video source (errors now, as UsageError) and start their grabbers."""
    openers = [opener(spec, factory, pi_model_file) for spec in parse_sources(cameras, videos)]
    return LiveFrames(openers, reconnect, **timing)
