"""The newest frame of each live source, kept for /stream.mjpg, and the MJPEG parts made from it at the viewer's
pace."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator

import cv2
import numpy as np

BOUNDARY = "antbeeframe"
MAX_STREAM_FPS = 10.0  # a viewer never needs more; each JPEG costs the device CPU the classifier could use
POLL_S = 0.02  # how often a viewer's stream looks for a newer frame
JPEG_QUALITY = 80


class FrameStore:
    """The newest frame per source id (a copy: grabber buffers are recycled), with a version number per source."""

    def __init__(self, clock=time.monotonic) -> None:
        self._frames: dict[str, tuple[int, np.ndarray, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self.closed = threading.Event()

    def put(self, source_id: str, image: np.ndarray) -> bool:
        """Keep a copy of `image` as the newest frame of `source_id` (called on the classifying thread), unless one
        was kept less than 1/MAX_STREAM_FPS ago: no viewer is sent more, and the copy costs the classifier."""
        now = self._clock()
        with self._lock:
            version, _, kept_at = self._frames.get(source_id, (0, None, -math.inf))
        if now - kept_at < 1 / MAX_STREAM_FPS:
            return False
        copy = image.copy()
        with self._lock:
            self._frames[source_id] = (version + 1, copy, now)
        return True

    def newest(self, source_id: str) -> tuple[int, np.ndarray | None]:
        """(version, image) of the newest kept frame of `source_id`; (0, None) before its first frame."""
        with self._lock:
            version, image, _ = self._frames.get(source_id, (0, None, 0.0))
            return version, image

    def close(self) -> None:
        """End every open stream (the service is stopping)."""
        self.closed.set()


def jpeg_part(image: np.ndarray) -> bytes:
    """One multipart/x-mixed-replace part holding `image` as a JPEG."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    body = data.tobytes() if ok else b""
    return (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body + b"\r\n")


async def mjpeg(store: FrameStore, source_id: str) -> AsyncIterator[bytes]:
    """The parts of one viewer's stream: each a newer frame than the last, encoded only when the viewer has taken
    the previous one (the response waits on the socket), so a slow viewer skips frames and never queues them."""
    loop = asyncio.get_running_loop()
    sent, last = 0, 0.0
    while not store.closed.is_set():
        version, image = store.newest(source_id)
        wait = 1 / MAX_STREAM_FPS - (loop.time() - last)
        if version == sent or image is None or wait > 0:
            await asyncio.sleep(max(POLL_S, wait))
            continue
        sent, last = version, loop.time()
        yield await loop.run_in_executor(None, jpeg_part, image)

