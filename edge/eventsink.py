"""The event log as a sink of the live loop: each source's minute counts, debounced label changes and outages."""

from __future__ import annotations

from antbee.edge.debounce import DEFAULT_FRAMES, DEFAULT_MIN_SCORE, Debouncer
from antbee.edge.events import LABEL, NO_CLASS, SOURCE, EventLog
from antbee.edge.output import result_record


class EventSink:
    """Writes what a live run did to the event log, with or without --serve; never asks the loop to stop.

    Per frame only a count (kept in memory, written each minute) and a debouncer step, so a fast source
    costs the log nothing; a row is written when the debounced label changes or a source changes state.
    """

    def __init__(self, log: EventLog, classifier, debounce: tuple[int, float] = (DEFAULT_FRAMES, DEFAULT_MIN_SCORE)):
        """`classifier` formats a change's result as its --json object (read at each change: a model may be swapped)."""
        Debouncer(*debounce)  # refuses bad settings, naming the flag, before the first frame
        self.log, self.classifier, self._debounce = log, classifier, debounce
        self._debouncers: dict[str, Debouncer] = {}

    def result(self, result, frame) -> bool:
        """Count this frame's label for its minute and log a debounced change of the source's label."""
        source_id = getattr(result, "source_id", None) or "0"
        top = None if result.error is not None else result.classification.top
        if result.error is None:
            self.log.count(source_id, top.label if top else NO_CLASS)
        debouncer = self._debouncers.setdefault(source_id, Debouncer(*self._debounce))
        change = debouncer.update(top.label if top else None, top.score if top else 0.0)
        if change is not None:
            record = result_record(result, self.classifier)
            self.log.record(LABEL, {"previous": change.previous, "result": record}, source_id, result.source,
                            change.label, change.score)
        return False

    def event(self, event) -> None:
        """Log a source going offline, coming back, giving up or ending."""
        self.log.record(SOURCE, {"state": event.kind, "detail": event.detail}, event.source_id, event.source)
