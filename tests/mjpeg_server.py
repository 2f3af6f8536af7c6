"""The tests' MJPEG stream source: antbee.benchmarks.mjpeg's server, fed pictures (BGR arrays) encoded per frame."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from antbee.benchmarks import mjpeg
from antbee.benchmarks.mjpeg import BOUNDARY

__all__ = ["BOUNDARY", "MjpegServer"]


class MjpegServer(mjpeg.MjpegServer):
    """Serves GET /stream.mjpg at `fps`, the picture `picture()` returns now; stop() closes the port and every
    client, start() again returns on the same port."""

    def __init__(self, picture: Callable[[], np.ndarray], fps: float = 20.0):
        super().__init__(lambda: mjpeg.encoded(picture()), fps)
