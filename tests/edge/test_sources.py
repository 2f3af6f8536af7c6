"""Input expansion (files, folders, globs) and frame sources (OpenCV captures, Picamera2) of antbee.edge.sources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from antbee.common.errors import UsageError
from antbee.edge.sources import (PicameraCapture, Unreadable, expand_inputs, is_raspberry_pi, open_capture,
                                 open_picamera, opencv_source, parse_camera)


def _touch(root: Path, *names: str) -> list[Path]:
    paths = []
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        paths.append(path)
    return paths


def test_folders_are_walked_recursively_in_sorted_order_by_image_suffix(tmp_path):
    _touch(tmp_path, "b.jpg", "a.PNG", "notes.txt", "sub/deeper/c.jpeg", "sub/d.gif", "sub/e.webp", "z/f.bin")
    found = expand_inputs([str(tmp_path)])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.PNG", "b.jpg", "sub/d.gif", "sub/e.webp", "sub/deeper/c.jpeg"]


def test_explicit_files_are_kept_whatever_their_suffix_and_in_argument_order(tmp_path):
    weird, plain = _touch(tmp_path, "photo.data", "a.jpg")
    assert expand_inputs([str(weird), str(plain)]) == [weird, plain]


def test_each_file_is_listed_once_even_when_named_twice(tmp_path):
    (image,) = _touch(tmp_path, "a.jpg")
    assert expand_inputs([str(image), str(tmp_path), str(tmp_path / "*.jpg")]) == [image]


def test_globs_match_recursively_and_keep_image_files(tmp_path):
    _touch(tmp_path, "x/1.jpg", "x/y/2.jpg", "x/y/3.txt", "other/4.jpg")
    found = expand_inputs([str(tmp_path / "x" / "**" / "*.*")])
    assert [p.name for p in found] == ["1.jpg", "2.jpg"]


def test_a_glob_matching_a_folder_walks_it(tmp_path):
    _touch(tmp_path, "run1/a.jpg", "run2/b.png")
    assert [p.name for p in expand_inputs([str(tmp_path / "run*")])] == ["a.jpg", "b.png"]


def test_names_with_spaces_and_non_ascii_survive(tmp_path):
    (path,) = _touch(tmp_path, "fourmis et abeilles/été 🐝 1.jpg")
    assert expand_inputs([str(tmp_path)]) == [path]
    assert expand_inputs([str(path)]) == [path]


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="needs symlinks")
def test_symlink_loops_end_and_linked_folders_are_visited_once(tmp_path):
    _touch(tmp_path, "data/a.jpg", "data/sub/b.jpg", "elsewhere/c.jpg")
    (tmp_path / "data" / "sub" / "loop").symlink_to(tmp_path / "data", target_is_directory=True)
    (tmp_path / "data" / "self").symlink_to(".", target_is_directory=True)
    (tmp_path / "data" / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "data" / "dangling.jpg").symlink_to(tmp_path / "missing.jpg")
    found = expand_inputs([str(tmp_path / "data")])
    assert sorted(p.name for p in found) == ["a.jpg", "b.jpg", "c.jpg"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_a_folder_that_cannot_be_listed_becomes_an_unreadable_item(tmp_path):
    _touch(tmp_path, "ok/a.jpg", "locked/b.jpg")
    (tmp_path / "locked").chmod(0)
    try:
        found = expand_inputs([str(tmp_path)])
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert any(isinstance(item, Unreadable) and item.path.name == "locked" for item in found)
    assert tmp_path / "ok" / "a.jpg" in found


@pytest.mark.parametrize("argument, expected", [
    ("missing.jpg", "no such file, folder or glob match"),
    ("*.nothing-here", "matches no image files"),
    ("", "empty input argument"),
])
def test_arguments_that_name_nothing_are_usage_errors(tmp_path, monkeypatch, argument, expected):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=expected):
        expand_inputs([argument])


def test_a_folder_without_images_is_a_usage_error(tmp_path):
    _touch(tmp_path, "readme.txt")
    with pytest.raises(UsageError, match="folder holds no image files"):
        expand_inputs([str(tmp_path)])


@pytest.mark.parametrize("value, expected", [("0", 0), (" 2 ", 2), ("picam", "picam"), ("PiCam", "picam"),
                                             ("/dev/video1", "/dev/video1")])
def test_parse_camera(value, expected):
    assert parse_camera(value) == expected


@pytest.mark.parametrize("value", ["", "-1", "usb", "1.5"])
def test_parse_camera_rejects_other_values(value):
    with pytest.raises(UsageError, match="expected a camera index"):
        parse_camera(value)


def test_is_raspberry_pi_reads_the_device_tree_model(tmp_path):
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")
    assert is_raspberry_pi(model)
    model.write_bytes(b"Generic x86 board\x00")
    assert not is_raspberry_pi(model)
    assert not is_raspberry_pi(tmp_path / "absent")


def test_a_camera_that_does_not_open_is_a_usage_error_and_is_released(fake_capture, tmp_path):
    capture = fake_capture([], opened=False)
    with pytest.raises(UsageError, match="--camera 3: cannot open") as info:
        open_capture(3, lambda source: capture, pi_model_file=tmp_path / "absent")
    assert "picam" not in str(info.value)
    assert capture.released


def test_on_a_raspberry_pi_the_error_suggests_picamera2(fake_capture, tmp_path):
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\x00")
    with pytest.raises(UsageError, match="--camera picam"):
        open_capture(0, lambda source: fake_capture([], opened=False), pi_model_file=model)


def test_video_errors_name_the_file(tmp_path):
    with pytest.raises(UsageError, match="missing.avi: no such file"):
        open_capture(str(tmp_path / "missing.avi"))
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(UsageError, match="bad.avi: OpenCV cannot open it"):
        open_capture(str(bad))


def test_stream_urls_open_with_timeouts_and_are_live(monkeypatch, fake_capture):
    import cv2

    from antbee.edge import sources

    opened = []
    capture = fake_capture([np.zeros((4, 4, 3), np.uint8)])

    def fake_video_capture(*args):
        opened.append(args)
        return capture

    monkeypatch.setattr(sources.cv2, "VideoCapture", fake_video_capture)
    assert open_capture("rtsp://camera.local/stream") is capture
    (args,) = opened
    assert args[0] == "rtsp://camera.local/stream" and cv2.CAP_PROP_READ_TIMEOUT_MSEC in args[2]
    assert opencv_source("rtsp://camera.local/stream") == ("rtsp://camera.local/stream", True)


def test_cameras_are_live_and_files_are_not():
    assert opencv_source(0) == ("camera 0", True)
    assert opencv_source("/dev/video2") == ("/dev/video2", True)
    assert opencv_source("clip.mp4") == ("clip.mp4", False)
    assert opencv_source("file:///tmp/clip.mp4") == ("file:///tmp/clip.mp4", False)


def test_camera_reads_ask_for_a_one_frame_buffer(fake_capture):
    import cv2

    capture = fake_capture([])
    open_capture(0, lambda source: capture)
    assert capture.props == {cv2.CAP_PROP_BUFFERSIZE: 1}


def test_picam_without_picamera2_is_a_clear_usage_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # makes `import picamera2` raise ImportError
    with pytest.raises(UsageError, match="Picamera2 is not installed"):
        open_picamera()


def test_picam_frames_come_from_capture_array_as_bgr888(monkeypatch):
    calls = []

    class FakePicamera2:
        def create_video_configuration(self, main):
            calls.append(("config", main))
            return main

        def configure(self, config):
            calls.append("configure")

        def start(self):
            calls.append("start")

        def capture_array(self, name):
            return np.full((480, 640, 3), 7, np.uint8)

        def stop(self):
            calls.append("stop")

        def close(self):
            calls.append("close")

    module = type(sys)("picamera2")
    module.Picamera2 = FakePicamera2
    monkeypatch.setitem(sys.modules, "picamera2", module)
    capture = open_picamera()
    ok, image = capture.read()
    assert isinstance(capture, PicameraCapture) and ok and image.shape == (480, 640, 3)
    capture.release()
    assert calls == [("config", {"size": (640, 480), "format": "RGB888"}), "configure", "start", "stop", "close"]
