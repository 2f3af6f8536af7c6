"""What the service serves: the model slot, the event log and the metrics, and how an upload becomes a result."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, NamedTuple

from antbee.common.errors import ImageError
from antbee.edge.events import MODEL, NO_CLASS, EventLog, log_classification
from antbee.edge.imageheader import sniff
from antbee.edge.interpreter import runtime_version
from antbee.edge.modelswap import ModelSlot, Outcome
from antbee.edge.output import format_json
from antbee.edge.preprocess import MAX_PIXELS, load_bgr
from antbee.edge.runner import Result
from antbee.edge.service.broadcast import Broadcaster
from antbee.edge.service.liveview import FrameStore
from antbee.edge.service.metrics import Metrics

API_SOURCE = "api"  # the source_id of uploads in the event log and the metrics


class Answer(NamedTuple):
    """An HTTP answer to an upload: the status and the JSON text (a --json line, or {"error": ...})."""

    status: int
    body: str


class Service:
    """The running model, the event log and the counters, shared by the HTTP app and the live sink."""

    def __init__(self, slot: ModelSlot, events: EventLog, model_name: str, runtime: str = "auto"):
        self.slot = slot
        self.events = events
        self.model_name = model_name
        self.runtime = runtime_version(runtime)
        self.metrics = Metrics()
        self.broadcast = Broadcaster()  # to the page's /events streams
        self.metrics.running(slot.sha256)
        self.started = time.time()
        self.classified = self.failed = self.refused_uploads = 0
        self.swapped = self.refused_models = 0
        self.last_update: Outcome | None = None
        self.sources: dict[str, dict[str, Any]] = {}  # source_id -> state, filled by the live layer
        self.frames = FrameStore()  # the newest frame of each source, for /stream.mjpg
        self._lock = threading.Lock()

    def classify_upload(self, data: bytes, name: str) -> Answer:
        """Decode and classify one uploaded image with the hardened loader; a bad one gets a 4xx Answer."""
        start = time.perf_counter()
        if not data:
            return self._refuse(400, f"{name}: empty upload, expected an image")
        try:
            kind, width, height = sniff(data, name)
        except ImageError as exc:
            return self._refuse(415, str(exc))
        try:
            image = load_bgr(data, name)
        except ImageError as exc:
            # Only a pixel count over the limit is refused for its size; anything else is undecodable.
            return self._refuse(413 if width * height > MAX_PIXELS else 400, str(exc))
        classification, classifier = self.slot.classify_bgr(image)
        result = Result(name, classification, latency_ms=1e3 * (time.perf_counter() - start))
        line = format_json(result, classifier)
        self._record(result, json.loads(line), API_SOURCE)
        return Answer(200, line)

    def model_outcome(self, outcome: Outcome) -> None:
        """Log, count and remember what became of a new model."""
        with self._lock:
            self.last_update = outcome
            if outcome.accepted:
                self.swapped += 1
            else:
                self.refused_models += 1
        (self.metrics.model_reloads if outcome.accepted else self.metrics.model_rejections).inc()
        if outcome.accepted:
            self.metrics.running(outcome.sha256)
        self.events.record(MODEL, outcome.record())

    def status(self) -> dict[str, Any]:
        """The /api/status object."""
        classifier = self.slot.classifier
        update = None if self.last_update is None else self.last_update.record()
        return {
            "model": {"name": self.model_name, "sha256": self.slot.sha256, "labels": list(classifier.labels),
                      "runtime": self.runtime, "input": list(classifier.input.size),
                      "dtype": str(classifier.input.dtype)},
            "mode": "live" if self.sources else "api-only",
            # Copies (each one C-level step under the GIL): the live thread updates these while this serialises.
            "sources": {key: dict(state) for key, state in self.sources.copy().items()},
            "uptime_s": round(time.time() - self.started, 3),
            "counts": {"classified": self.classified, "failed": self.failed,
                       "refused_uploads": self.refused_uploads},
            "model_updates": {"swapped": self.swapped, "refused": self.refused_models, "last": update},
            "events": str(self.events.path),
        }

    def healthy(self) -> tuple[bool, str]:
        """(True, "ok") in API-only mode or while every source is online; else False and which are not."""
        down = [key for key, state in self.sources.items() if not state.get("online", True)]
        return (not down, "ok" if not down else f"sources offline: {', '.join(down)}")

    def live_result(self, result: Result, record: dict[str, Any], source_id: str, publish: bool = True) -> None:
        """Take one live frame's result (for the live layer's sink): counters and metrics; and, if `publish`,
        hand it to the page's /events streams. The event log has a sink of its own (antbee.edge.eventsink)."""
        self.metrics.frames.labels(source_id).inc()
        if publish:
            self.broadcast.publish({**record, "source_id": source_id})
        self._tally(result, source_id)

    def _record(self, result: Result, record: dict[str, Any], source_id: str) -> None:
        self._tally(result, source_id)
        self.broadcast.publish({**record, "source_id": source_id})
        log_classification(self.events, record, source_id)

    def _tally(self, result: Result, source_id: str) -> None:
        with self._lock:
            self.classified += result.error is None
            self.failed += result.error is not None
        if result.error is not None:
            self.metrics.errors.labels(source_id).inc()
            return
        top = result.classification.top
        self.metrics.latency.observe(result.latency_ms / 1e3)
        self.metrics.classifications.labels(source_id, top.label if top else NO_CLASS).inc()

    def count_refusal(self, status: int) -> None:
        """Count one upload answered with a 4xx `status`."""
        with self._lock:
            self.refused_uploads += 1
        self.metrics.refused_uploads.labels(str(status)).inc()

    def _refuse(self, status: int, message: str) -> Answer:
        self.count_refusal(status)
        return Answer(status, json.dumps({"error": message}, ensure_ascii=False))

