"""The service as a sink of the live loop: each frame's result feeds the counts, metrics and debounced label log."""

from __future__ import annotations

import json
import time

from antbee.edge.events import iso_time
from antbee.edge.output import format_json
from antbee.edge.service.core import Service

ONLINE_KINDS = frozenset({"online"})  # the live layer's SourceEvent kinds: offline, online, gave up, ended


class ServiceSink:
    """Plugs the service into the live loop: `result(result, frame)` and `event(event)`, as every sink has."""

    def __init__(self, service: Service):
        self.service = service

    def result(self, result, frame) -> bool:
        """Count one frame's result and debounce its label; never asks the loop to stop."""
        source_id = getattr(result, "source_id", None) or "0"
        record = json.loads(format_json(result, self.service.slot.classifier))
        self.service.live_result(result, record, source_id)
        state = self.service.sources.setdefault(source_id, {"source": result.source, "online": True,
                                                            "since": iso_time(time.time())})
        state["label"] = record.get("label")
        return False

    def event(self, event) -> None:
        """Record a source going offline or online (with since when) for /api/status, /healthz and /metrics."""
        online = event.kind in ONLINE_KINDS
        self.service.sources[event.source_id] = {"source": event.source, "online": online,
                                                 "since": iso_time(time.time()), "state": event.kind,
                                                 "detail": event.detail}
        self.service.metrics.source_up.labels(event.source_id).set(1 if online else 0)
