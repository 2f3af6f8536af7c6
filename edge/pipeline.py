"""The live loop: take the newest frame, classify it, hand the result and every source event to the sinks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from antbee.edge.capture import GAVE_UP, SourceEvent
from antbee.edge.classifier import Classifier
from antbee.edge.live import LiveFrames
from antbee.edge.runner import Result, classify_frame
from antbee.edge.sources import Frame


class Sink(Protocol):
    """Something that subscribes to a run: the printer, the status line, the window (later a web page, a log).

    Sinks are called on the classifying thread, one after another, so they must be quick; a sink
    with slow work (a network upload) queues it for a thread of its own.
    """

    def result(self, result: Result, frame: Frame) -> bool:
        """Take one result and the frame it came from; True asks the run to stop (e.g. q in the window)."""

    def event(self, event: SourceEvent) -> None:
        """Take a change of a source's state (offline, online, gave up, ended)."""


class Ending(NamedTuple):
    """Why the loop ended: "ended" (every source ended), "max frames", or "stopped" (a sink asked);
    and the sources that gave up reconnecting."""

    reason: str
    classified: int
    gave_up: tuple[str, ...]


def run_live(classifier: Classifier, frames: LiveFrames, sinks: Sequence[Sink],
             max_frames: int | None = None) -> Ending:
    """Classify frames until every source ends, `max_frames` are classified or a sink asks to stop.

    The caller closes `frames` (also on Ctrl-C, which propagates from here).
    """
    classified = 0
    gave_up: list[str] = []
    while True:
        item = frames.next()
        if item is None:
            return Ending("ended", classified, tuple(gave_up))
        if isinstance(item, SourceEvent):
            if item.kind == GAVE_UP:
                gave_up.append(item.source)
            for sink in sinks:
                sink.event(item)
            continue
        result = classify_frame(classifier, item)
        stop = False
        for sink in sinks:
            stop = bool(sink.result(result, item)) or stop
        classified += 1
        if stop:
            return Ending("stopped", classified, tuple(gave_up))
        if max_frames is not None and classified >= max_frames:
            return Ending("max frames", classified, tuple(gave_up))
