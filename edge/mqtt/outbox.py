"""Store and forward: publish the event log in seq order from a thread, and persist how far the broker has acked."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable

from antbee.edge.events import Event, EventLog

MARK = "mqtt"  # the event log's name for the MQTT watermark
WINDOW = 100  # events published and not yet acknowledged, at most
POLL_S = 1.0  # a wake-up also comes with every new event and every acknowledgement
DRAIN_POLL_S = 0.05


class Outbox:
    """Sends every event after the persisted watermark through `send` (which returns paho's MQTTMessageInfo, or
    None when the client is not connected) and advances the watermark only over a contiguous run of acknowledged
    events. Every (re)connect starts again from the watermark: a subscriber may see an event twice, never a gap."""

    def __init__(self, log: EventLog, send: Callable[[Event], Any], window: int = WINDOW):
        self._log = log
        self._send = send
        self._window = window
        self.mark = log.mark(MARK)
        self._next = self.mark  # the newest seq handed to send
        self._inflight: deque[tuple[int, Any]] = deque()
        self._lock = threading.Lock()
        self._connected = self._rewind = False
        self._connects = 0  # how many times the client has connected, to tell this connection from the next
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="antbee-mqtt-outbox", daemon=True)
        log.on_write(self._wake.set)

    def start(self) -> None:
        """Start the sending thread."""
        self._thread.start()

    def connected(self) -> None:
        """The client has (re)connected: send again from the watermark."""
        with self._lock:
            self._connected = self._rewind = True
            self._connects += 1
        self._wake.set()

    def disconnected(self, connects: int | None = None) -> None:
        """The client lost the broker (the `connects`-th connection, if given): stop sending until it is back."""
        with self._lock:
            if connects is None or connects == self._connects:
                self._connected = False

    def acked(self) -> None:
        """Some message was acknowledged (paho's on_publish): look at the ones in flight."""
        self._wake.set()

    def unsent(self) -> int:
        """How many events the broker has not acknowledged yet (as far as the watermark shows)."""
        return self._log.count_after(self.mark)

    def drain(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for every event to be acknowledged; returns how many are left."""
        end = time.monotonic() + timeout
        while (left := self.unsent()) and time.monotonic() < end:
            self._wake.set()
            time.sleep(DRAIN_POLL_S)
        return left

    def stop(self) -> None:
        """Stop the thread, with the watermark persisted as far as the acknowledgements go."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._step()
            self._wake.wait(POLL_S)
            self._wake.clear()

    def _step(self) -> None:
        with self._lock:
            connected, rewind, self._rewind = self._connected, self._rewind, False
            connects = self._connects
        self._collect()
        if rewind:
            self._inflight.clear()  # paho resends its own copies; these are sent again from the watermark
            self._next = self.mark
        while connected and len(self._inflight) < self._window:
            events = self._log.after(self._next, self._window - len(self._inflight))
            if not events:
                return
            for event in events:
                info = self._send(event)
                if info is None:  # the connection is gone (paho keeps that copy): wait for the next connect
                    self.disconnected(connects)
                    return
                self._inflight.append((event.seq, info))
                self._next = event.seq

    def _collect(self) -> None:
        mark = self.mark
        while self._inflight and self._inflight[0][1].is_published():
            mark = self._inflight.popleft()[0]
        if mark != self.mark:
            self._log.set_mark(MARK, mark)
            self.mark = mark
