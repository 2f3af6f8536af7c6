"""Results to every open /events stream (Server-Sent Events): published from any thread, read on the event loop."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

QUEUE_SIZE = 64  # a viewer this far behind loses the oldest results rather than slowing the classifier
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream


class Broadcaster:
    """Fan-out of result records to subscribers; `publish` never blocks the classifying thread."""

    def __init__(self):
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = set()
        self._lock = threading.Lock()
        self._closed = False

    def publish(self, record: dict[str, Any] | None) -> None:
        """Hand one record to every subscriber (called from any thread); None ends their streams."""
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            loop.call_soon_threadsafe(_offer, queue, record)

    def close(self) -> None:
        """End every stream, so that a server shutting down need not wait for its viewers to leave."""
        self._closed = True
        self.publish(None)

    async def stream(self) -> AsyncIterator[str]:
        """SSE text for one viewer: `data: {json}` per record, until close() or the viewer leaves."""
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.add(entry)
        try:
            yield ": antbee results\n\n"
            while not self._closed:
                try:
                    record = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except asyncio.TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if record is None:
                    return
                yield f"data: {json.dumps(record, ensure_ascii=False)}\n\n"
        finally:
            with self._lock:
                self._subscribers.discard(entry)


def _offer(queue: asyncio.Queue, record: dict[str, Any] | None) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(record)
