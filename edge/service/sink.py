"""The service as a sink of the live loop: each frame's result feeds the counts, metrics, debounced label log and
the live view; each source event its online/offline state."""

from __future__ import annotations

import time

from antbee.edge.events import iso_time
from antbee.edge.output import result_record
from antbee.edge.service.core import Service

ONLINE_KINDS = frozenset({"online"})  # the live layer's SourceEvent kinds: offline, online, gave up, ended
FPS_SMOOTHING = 0.1  # weight of the newest interval in a source's smoothed interval (an exponential moving average)
# The page's live label needs no more; each message costs the server's event loop, which would
# otherwise take time from the classifier at hundreds of frames a second.
PUBLISH_EVERY_S = 0.1


class ServiceSink:
    """Plugs the service into the live loop: `result(result, frame)` and `event(event)`, as every sink has."""

    def __init__(self, service: Service):
        self.service = service
        self._last: dict[str, float] = {}  # source_id -> monotonic time of its last result
        self._interval: dict[str, float] = {}  # source_id -> its smoothed time between results
        self._published: dict[str, float] = {}  # source_id -> monotonic time of its last /events message

    def register(self, source_id: str, source: str) -> None:
        """Name a source before its first frame: it counts as starting (not yet online) until one arrives."""
        self.service.sources[source_id] = {"source": source, "online": False, "state": "starting",
                                           "since": iso_time(time.time()), "detail": "", "frames": 0, "fps": 0.0,
                                           "label": None}

    def result(self, result, frame) -> bool:
        """Count one frame's result, keep a copy of its frame for the live view and tell the page (at most every
        PUBLISH_EVERY_S per source); never asks the loop to stop."""
        service = self.service
        source_id = getattr(result, "source_id", None) or "0"
        if frame is not None:
            service.frames.put(source_id, frame.image)
        state = service.sources.get(source_id)
        if state is None or not state["online"]:
            state = {**(state or {"frames": 0, "fps": 0.0, "label": None}), "source": result.source, "online": True,
                     "state": "online", "since": iso_time(time.time()), "detail": ""}
            service.sources[source_id] = state
        now = time.monotonic()
        last = self._last.get(source_id)
        self._last[source_id] = now
        if last is not None and now > last:
            # Smooth the interval, not its inverse: the mean of 1/interval overstates the rate of a jittery source.
            interval = now - last
            previous = self._interval.get(source_id)
            if previous is not None:
                interval = (1 - FPS_SMOOTHING) * previous + FPS_SMOOTHING * interval
            self._interval[source_id] = interval
            state["fps"] = round(1 / interval, 2)
        state["frames"] += 1
        record = result_record(result, service.slot.classifier)
        record["fps"] = state["fps"]
        publish = now - self._published.get(source_id, -PUBLISH_EVERY_S) >= PUBLISH_EVERY_S or \
            result.error is not None
        if publish:
            self._published[source_id] = now
        service.live_result(result, record, source_id, publish)
        state["label"] = record.get("label")
        return False

    def event(self, event) -> None:
        """Record a source going offline or online (with since when) for /api/status, /healthz and /metrics."""
        online = event.kind in ONLINE_KINDS
        state = self.service.sources.get(event.source_id) or {"frames": 0, "fps": 0.0}
        self.service.sources[event.source_id] = {**state, "source": event.source, "online": online,
                                                 "since": iso_time(time.time()), "state": event.kind,
                                                 "detail": event.detail}
        if not online:
            self._last.pop(event.source_id, None)
            self._interval.pop(event.source_id, None)
        self.service.metrics.source_up.labels(event.source_id).set(1 if online else 0)
        self.service.broadcast.publish({"source_id": event.source_id, "state": self.service.sources[event.source_id]})
