"""Paced MJPEG streams on 127.0.0.1 whose picture alternates between two classes, for simulated cameras."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2

BOUNDARY = "antbeeframe"
SIZE = (320, 240)


def jpeg(path: Path) -> bytes:
    """The picture at `path`, resized to a camera's SIZE, as JPEG bytes (encoded once, sent many times)."""
    image = cv2.imread(str(path))
    if image is None:
        raise ValueError(f"{path}: not an image")
    ok, data = cv2.imencode(".jpg", cv2.resize(image, SIZE))
    return data.tobytes()


class AlternatingStreams:
    """GET /<anything>.mjpg: `fps` frames a second of pictures[0] for `period` seconds, then pictures[1], ...
    All streams switch together, so every simulated camera changes class every `period` seconds."""

    def __init__(self, pictures: list[bytes], fps: float, period: float):
        self.pictures, self.fps, self.period = pictures, fps, period
        self.frames_sent = 0
        self._server: ThreadingHTTPServer | None = None
        self._up = threading.Event()

    def url(self, name: str) -> str:
        """The URL of one camera's stream."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/{name}.mjpg"

    def picture(self, now: float) -> bytes:
        """The picture shown at time `now`."""
        return self.pictures[int(now / self.period) % len(self.pictures)]

    def start(self) -> AlternatingStreams:
        """Listen on a free port and serve in background threads."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # the benchmark's output stays its table
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.end_headers()
                next_at = time.monotonic()
                try:
                    while owner._up.is_set():
                        data = owner.picture(time.time())
                        self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                         f"Content-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n")
                        self.wfile.flush()
                        owner.frames_sent += 1
                        next_at += 1 / owner.fps
                        time.sleep(max(0.0, next_at - time.monotonic()))
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._up.set()
        threading.Thread(target=self._server.serve_forever, name="mjpeg-streams", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and end every stream."""
        self._up.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
