"""The live loop of a --serve run on a worker thread: the terminal, the event log, the service (and --samples) as
sinks, one shared model slot."""

from __future__ import annotations

import threading
from collections.abc import Callable

from antbee.edge.debounce import DEFAULT_FRAMES, DEFAULT_MIN_SCORE
from antbee.edge.eventsink import EventSink
from antbee.edge.live import LiveFrames
from antbee.edge.modelswap import SlotClassifier
from antbee.edge.pipeline import Ending, run_live
from antbee.edge.runner import Stats
from antbee.edge.sampling import SampleOptions, Sampler
from antbee.edge.service.core import Service
from antbee.edge.service.sink import ServiceSink
from antbee.edge.terminal import Terminal


class LiveLoop:
    """Runs `run_live` over `frames` on a thread until the sources end or stop() is called; `on_end` runs after."""

    def __init__(self, service: Service, frames: LiveFrames, as_json: bool, max_frames: int | None,
                 on_end: Callable[[], None], samples: SampleOptions | None = None,
                 debounce: tuple[int, float] = (DEFAULT_FRAMES, DEFAULT_MIN_SCORE)):
        self.service, self.frames, self.max_frames, self.on_end = service, frames, max_frames, on_end
        self.stats = Stats()
        self.classifier = SlotClassifier(service.slot)
        self.terminal = Terminal(self.classifier, self.stats, as_json)
        self.sink = ServiceSink(service)
        self.sinks = [self.terminal, EventSink(service.events, self.classifier, debounce), self.sink]
        if samples is not None:
            self.sinks.append(Sampler(samples, self.classifier, service.events))
        for grabber in frames.grabbers:
            self.sink.register(grabber.opener.source_id, grabber.opener.source)
        self.ending: Ending | None = None
        self.stuck = 0
        self._thread = threading.Thread(target=self._run, name="antbee-live", daemon=True)

    def start(self) -> None:
        """Start classifying."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to end after the frame under way (from any thread, a signal handler too)."""
        self.frames.stop()

    def join(self) -> None:
        """Wait for the loop to end and its sources to be closed."""
        self._thread.join()

    def _run(self) -> None:
        try:
            self.ending = run_live(self.classifier, self.frames, self.sinks, self.max_frames)
        except BrokenPipeError:
            pass  # stdout's reader went away; the service goes on stopping as after any end
        finally:
            self.stuck = self.frames.close()
            self.stats.dropped = self.frames.dropped
            self.terminal.close()
            self.on_end()
