"""A real MJPEG-over-HTTP stream on 127.0.0.1 (multipart/x-mixed-replace JPEG frames) that can vanish and return."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

BOUNDARY = "antbeeframe"


class MjpegServer:
    """Serves GET /stream.mjpg at `fps`, the picture `picture()` returns; stop() closes the port and every client."""

    def __init__(self, picture: Callable[[], np.ndarray], fps: float = 20.0):
        self.picture, self.fps = picture, fps
        self.port = 0
        self.frames_sent = 0
        self._server: ThreadingHTTPServer | None = None
        self._up = threading.Event()

    @property
    def url(self) -> str:
        """The stream's URL."""
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def start(self) -> MjpegServer:
        """Listen (on a free port the first time, on the same port after a stop)."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                if self.path.split("?")[0] != "/stream.mjpg":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                try:
                    while owner._up.is_set():
                        ok, jpeg = cv2.imencode(".jpg", owner.picture())
                        data = jpeg.tobytes()
                        self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                         f"Content-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n")
                        self.wfile.flush()
                        owner.frames_sent += 1
                        time.sleep(1 / owner.fps)
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
        time.sleep(2 / self.fps)  # the handlers notice and close their connections
