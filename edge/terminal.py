"""antbee-edge's own sinks for a live run: result lines on stdout, source events and the status on stderr, the window."""

from __future__ import annotations

import sys

from antbee.edge.capture import ENDED, GAVE_UP, OFFLINE, ONLINE, SourceEvent
from antbee.edge.display import WINDOW, Status, show
from antbee.common.command import printable
from antbee.edge.output import format_human, format_json

PROG = "antbee-edge"


def note(message: str) -> None:
    """One line on stderr, prefixed with the program's name."""
    print(printable(f"{PROG}: {message}"), file=sys.stderr, flush=True)


def emit(result, classifier, as_json: bool) -> None:
    """Print one result: a JSON line or a readable line on stdout; a readable error on stderr."""
    if as_json:
        print(printable(format_json(result, classifier)), flush=True)
    elif result.error is not None:
        note(result.error)
    else:
        print(printable(format_human(result, classifier)), flush=True)


def describe(event: SourceEvent) -> str | None:
    """The stderr line for a source event (None for a video file's normal end)."""
    name = event.source if event.source_id.isdigit() else f"{event.source_id} ({event.source})"
    if event.kind == OFFLINE:
        return f"{name}: offline: stopped delivering frames ({event.detail})"
    if event.kind == ONLINE:
        return f"{name}: back online"
    if event.kind == GAVE_UP:
        return f"{name}: gave up: {event.detail}"
    if event.kind == ENDED:
        return None
    return f"{name}: {event.kind} {event.detail}".rstrip()


class Terminal:
    """Results to stdout (text or JSON lines), source events to stderr, the live status line, the run's stats."""

    def __init__(self, classifier, stats, as_json: bool):
        self.classifier, self.stats, self.as_json = classifier, stats, as_json
        self.status = Status(sys.stderr.isatty(), sys.stdout.isatty())

    def result(self, result, frame) -> bool:
        """Count and print one result."""
        self.stats.add(result)
        self.status.clear(force=result.error is not None and not self.as_json)  # an error line comes next
        emit(result, self.classifier, self.as_json)
        self.status.show(result, self.stats)
        return False

    def event(self, event: SourceEvent) -> None:
        """Say on stderr that a source went offline, came back or gave up."""
        line = describe(event)
        if line is not None:
            self.status.clear(force=True)
            note(line)

    def close(self) -> None:
        """Erase the status line."""
        self.status.clear(force=True)


class Window:
    """The display window (one per source when there are several): each frame with its label and the fps;
    True from result() when q or Esc is pressed."""

    def __init__(self, stats, several: bool = False):
        self.stats, self.several = stats, several

    def result(self, result, frame) -> bool:
        """Draw the frame with its label and FPS (nothing for an error result)."""
        window = f"{WINDOW} {frame.source_id}" if self.several else WINDOW
        return result.error is None and show(frame.image, result, self.stats.fps, window)

    def event(self, event: SourceEvent) -> None:
        """Nothing: the terminal says what happened to the source."""
