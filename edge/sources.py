"""Where images come from: files, folders and globs; OpenCV cameras, videos and streams; Picamera2."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np

from antbee.common.errors import UsageError
from antbee.edge.preprocess import IMAGE_SUFFIXES

# Folder walking and globs pick files by suffix; GIF decodes in most OpenCV builds, and a
# build without it gives a clear per-file error rather than silently skipping the file.
WALK_SUFFIXES = frozenset((*IMAGE_SUFFIXES, ".gif"))
GLOB_CHARS = frozenset("*?[")
PI_MODEL_FILE = Path("/proc/device-tree/model")
PICAM = "picam"
STREAM_TIMEOUT_MS = 5000
PICAM_SIZE = (640, 480)  # (width, height): enough for a 224-pixel model, cheap to capture


class Frame(NamedTuple):
    """One captured frame: its 0-based index in the source, the uint8 BGR pixels, and where it came from.

    Live sources reuse pixel buffers, so `image` is only valid until the next frame of the same
    source is taken: a consumer that keeps pixels copies them.

    `time` is the capture time (seconds since the epoch) and `captured` the same moment on
    time.monotonic(), from which a result's age is measured.
    """

    index: int
    image: np.ndarray
    source: str
    source_id: str = "0"
    time: float = 0.0
    captured: float | None = None


class Unreadable(NamedTuple):
    """An input found while expanding arguments that cannot be used (e.g. a folder that cannot be listed)."""

    path: Path
    reason: str


def expand_inputs(inputs: Iterable[str]) -> list[Path | Unreadable]:
    """Expand file, folder and glob arguments into image paths, in argument order, each path once.

    Explicit files are kept whatever their suffix (the decoder decides); folders (walked
    recursively) and globs keep files with an image suffix. An argument that names nothing,
    or matches no image, raises UsageError.
    """
    found: list[Path | Unreadable] = []
    seen: set[str] = set()
    for argument in inputs:
        if not argument:
            raise UsageError("empty input argument: expected an image file, a folder or a glob")
        path = Path(argument)
        if os.path.lexists(path):
            items = _walk(path) if path.is_dir() else [path]
            what = "folder holds"
        elif GLOB_CHARS & set(argument):
            items = _glob(argument)
            what = "matches"
        else:
            raise UsageError(f"{argument}: no such file, folder or glob match")
        added = 0
        for item in items:
            key = os.path.realpath(item.path if isinstance(item, Unreadable) else item)
            if key not in seen:
                seen.add(key)
                found.append(item)
            added += 1
        if not added:
            raise UsageError(f"{argument}: {what} no image files "
                             f"(expected {', '.join(sorted(WALK_SUFFIXES))})")
    return found


def _glob(pattern: str) -> Iterator[Path | Unreadable]:
    for match in sorted(glob.glob(pattern, recursive=True)):
        path = Path(match)
        if path.is_dir():
            yield from _walk(path)
        elif path.suffix.lower() in WALK_SUFFIXES:
            yield path


def _walk(root: Path) -> Iterator[Path | Unreadable]:
    # Symlinked folders are followed (datasets are often assembled from links), but each real
    # folder is entered once, so a link back to an ancestor cannot loop forever.
    visited: set[str] = set()
    problems: list[Unreadable] = []

    def on_error(exc: OSError) -> None:
        problems.append(Unreadable(Path(exc.filename or root), f"cannot list folder ({exc.strerror})"))

    for folder, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=True):
        yield from problems
        problems.clear()
        real = os.path.realpath(folder)
        if real in visited:
            dirnames.clear()
            continue
        visited.add(real)
        dirnames[:] = sorted(d for d in dirnames if os.path.realpath(os.path.join(folder, d)) not in visited)
        for name in sorted(filenames):
            if Path(name).suffix.lower() in WALK_SUFFIXES:
                path = Path(folder, name)
                if path.is_file():  # skips dangling links
                    yield path
    yield from problems


def parse_camera(value: str) -> int | str:
    """A --camera value as an OpenCV index, a device path (/dev/video0) or "picam"."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    if text.lower() == PICAM:
        return PICAM
    if text.startswith("/dev/"):
        return text
    raise UsageError(f"--camera {value!r}: expected a camera index (0, 1, ...), a device such as "
                     f"/dev/video0, or {PICAM} for a Raspberry Pi camera module through Picamera2")


def is_raspberry_pi(model_file: Path = PI_MODEL_FILE) -> bool:
    """Whether this machine is a Raspberry Pi, from its device-tree model string."""
    try:
        return b"raspberry pi" in model_file.read_bytes().lower()
    except OSError:
        return False


def is_stream_url(source: str) -> bool:
    """Whether a --video argument is a network stream rather than a file."""
    return "://" in source and not source.lower().startswith("file://")


def video_capture(source: int | str) -> Any:
    """cv2.VideoCapture, with open and read timeouts for network streams."""
    if isinstance(source, str) and is_stream_url(source):
        # FFmpeg otherwise waits indefinitely on a stream that goes quiet; a timeout makes read() fail.
        timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS,
                    cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS]
        return cv2.VideoCapture(source, cv2.CAP_ANY, timeouts)
    return cv2.VideoCapture(source)


def open_capture(source: int | str, factory: Callable[[Any], Any] = video_capture,
                 pi_model_file: Path = PI_MODEL_FILE) -> Any:
    """Open an OpenCV capture (camera index/device, video file or URL); UsageError if it does not open."""
    camera = isinstance(source, int) or str(source).startswith("/dev/")
    if not camera and not is_stream_url(source) and not Path(source).is_file():
        raise UsageError(f"--video {source}: no such file (expected a video file or a stream URL)")
    capture = factory(source)
    if capture is None or not capture.isOpened():
        if capture is not None:
            capture.release()
        if not camera:
            raise UsageError(f"--video {source}: OpenCV cannot open it (expected a video OpenCV's "
                             "FFmpeg can decode, e.g. .mp4, .avi, .mkv, or an rtsp/http stream)")
        hint = ""
        if is_raspberry_pi(pi_model_file):
            hint = (f"; on a Raspberry Pi with a camera module (libcamera) OpenCV cannot open it: "
                    f"use --camera {PICAM} (needs Picamera2: sudo apt install python3-picamera2)")
        raise UsageError(f"--camera {source}: cannot open the camera through OpenCV{hint}")
    if camera:
        # One queued frame: classify the newest frame, not one captured seconds ago.
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    return capture


def opencv_source(source: int | str) -> tuple[str, bool]:
    """The name results give an OpenCV source, and whether it is live (a camera or stream, not a file)."""
    if isinstance(source, int):
        return f"camera {source}", True
    return source, source.startswith("/dev/") or is_stream_url(source)


class PicameraCapture:
    """A Picamera2 camera behind the read()/release() interface of an OpenCV capture."""

    def __init__(self, camera: Any):
        self.camera = camera

    def read(self, image: Any = None) -> tuple[bool, np.ndarray]:
        """The next frame as BGR, in a new array (RuntimeError/OSError from Picamera2 pass through as failed reads)."""
        return True, self.camera.capture_array("main")

    def release(self) -> None:
        """Stop and close the camera."""
        try:
            self.camera.stop()
        finally:
            self.camera.close()


def open_picamera(size: tuple[int, int] = PICAM_SIZE) -> PicameraCapture:
    """Open a Raspberry Pi camera module through Picamera2; UsageError if it cannot be opened."""
    try:
        from picamera2 import Picamera2  # only on Raspberry Pi OS; never needed elsewhere
    except ImportError:
        raise UsageError(f"--camera {PICAM}: Picamera2 is not installed (on Raspberry Pi OS: sudo apt "
                         "install python3-picamera2, and create the venv with --system-site-packages)") from None
    try:
        camera = Picamera2()
        # libcamera names formats by their little-endian word layout: "RGB888" is stored B, G, R
        # in memory, so the numpy array is already BGR, the order classify_bgr takes.
        camera.configure(camera.create_video_configuration(main={"size": size, "format": "RGB888"}))
        camera.start()
    except (RuntimeError, IndexError, OSError, ValueError) as exc:
        raise UsageError(f"--camera {PICAM}: cannot open the camera module ({exc})") from None
    return PicameraCapture(camera)
