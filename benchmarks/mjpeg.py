"""Paced MJPEG-over-HTTP streams on 127.0.0.1 (multipart/x-mixed-replace JPEG frames) that can vanish and return:
the fleet benchmark's simulated cameras and the tests' stream source."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

BOUNDARY = "antbeeframe"
SIZE = (320, 240)


def encoded(image: np.ndarray) -> bytes:
    """A BGR picture as JPEG bytes."""
    ok, data = cv2.imencode(".jpg", image)
    if not ok:
        raise ValueError(f"a {image.shape} picture could not be encoded as JPEG")
    return data.tobytes()


def jpeg(path: Path) -> bytes:
    """The picture at `path`, resized to a camera's SIZE, as JPEG bytes (encoded once, sent many times)."""
    image = cv2.imread(str(path))
    if image is None:
        raise ValueError(f"{path}: not an image")
    return encoded(cv2.resize(image, SIZE))


def alternating(pictures: Sequence[bytes], period: float) -> Callable[[], bytes]:
    """A frame source showing pictures[0] for `period` seconds, then pictures[1], ...: by the wall clock, so that
    every stream of a server (every simulated camera) changes class at the same moment."""
    return lambda: pictures[int(time.time() / period) % len(pictures)]


class MjpegServer:
    """GET /<name>.mjpg: `fps` frames a second, each the JPEG bytes `frame()` returns; stop() closes the port and
    every open stream (the camera vanishes), start() again serves on the same port (it returns)."""

    def __init__(self, frame: Callable[[], bytes], fps: float = 20.0):
        self.frame, self.fps = frame, fps
        self.port = 0
        self.frames_sent = 0
        self._server: ThreadingHTTPServer | None = None
        self._up = threading.Event()

    @property
    def url(self) -> str:
        """The URL of the stream a single camera uses."""
        return self.stream_url("stream")

    def stream_url(self, name: str) -> str:
        """The URL of one camera's stream (every name gets the same frames)."""
        return f"http://127.0.0.1:{self.port}/{name}.mjpg"

    def start(self) -> MjpegServer:
        """Listen (on a free port the first time, on the same port after a stop) and serve in background threads."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # the benchmark's output stays its table, the tests' output quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                if not self.path.split("?")[0].endswith(".mjpg"):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                next_at = time.monotonic()
                try:
                    while owner._up.is_set():
                        data = owner.frame()
                        self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                         f"Content-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n")
                        self.wfile.flush()
                        owner.frames_sent += 1
                        next_at += 1 / owner.fps
                        time.sleep(max(0.0, next_at - time.monotonic()))
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._up.set()
        threading.Thread(target=server.serve_forever, name="mjpeg-server", daemon=True).start()
        return self

    def stop(self) -> None:
        """Vanish: stop serving, close the listening socket and end every open stream."""
        self._up.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            time.sleep(2 / self.fps)  # the handlers notice within a frame and close their connections
