"""--mqtt-frames: every live frame's result on its source's result topic (QoS 0, not stored in the event log)."""

from __future__ import annotations

from antbee.edge.output import result_record


class FrameSink:
    """A live-loop sink publishing each result as its --json object; a broker that is away just misses them."""

    def __init__(self, link, classifier):
        self._link, self._classifier = link, classifier

    def result(self, result, frame) -> bool:
        """Publish this frame's result; never asks the loop to stop."""
        record = result_record(result, self._classifier)
        self._link.publish_result(getattr(result, "source_id", None) or "0", record)
        return False

    def event(self, event) -> None:
        """Source events reach MQTT through the event log."""
