"""Camera and video faults: open fails, frames stop, frames of the wrong size. Retry, recover or end; never hang."""

from __future__ import annotations

import functools
import json
import subprocess
import threading
import time

import cv2
import numpy as np
import pytest

import corpus
from antbee.edge import runner
from antbee.common.errors import UsageError
from antbee.edge.runner import EdgeOptions, open_frames

RED = np.full((48, 64, 3), (20, 30, 220), np.uint8)
BLUE = np.full((48, 64, 3), (220, 30, 20), np.uint8)
DEADLINE_S = 30


def _cli(args, monkeypatch, capture=None):
    """Run antbee-edge in-process with the camera/video replaced by `capture`; fails if it takes over DEADLINE_S."""
    from typer.testing import CliRunner

    from antbee.edge.cli import app

    if capture is not None:
        monkeypatch.setattr(runner, "open_frames", functools.partial(
            runner.open_frames, factory=lambda source: capture, retry_sleep=0.01, backoff_first_s=0.01))
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", CliRunner().invoke(app, args)), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(DEADLINE_S)
    assert not thread.is_alive(), f"antbee-edge {' '.join(args)} hung for {DEADLINE_S} s"
    result = box["result"]
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result, time.monotonic() - started


def test_a_camera_that_does_not_open_is_exit_2(monkeypatch, tiny_models):
    capture = corpus.FakeCapture([], opened=False)
    with pytest.raises(UsageError, match="cannot open the camera"):
        open_frames(EdgeOptions(camera=("0",)), factory=lambda source: capture)
    assert capture.released
    result, _ = _cli(["--camera", "0", "--model", str(tiny_models.int8), "--no-display"], monkeypatch,
                     corpus.FakeCapture([], opened=False))
    assert result.exit_code == 2
    assert result.stderr.count("antbee-edge: error: --camera 0: cannot open the camera") == 1


def test_a_camera_that_stops_mid_stream_is_reopened_then_given_up_with_the_summary(monkeypatch, tiny_models):
    capture = corpus.FakeCapture([RED] * 5 + [None] * 100)
    result, seconds = _cli(["--camera", "0", "--json", "--model", str(tiny_models.int8), "--no-display",
                            "--reconnect", "1"], monkeypatch, capture)
    assert result.exit_code == 1
    classified = len(result.stdout.splitlines())
    assert 1 <= classified <= 5  # the newest frame is classified; older ones may be dropped
    assert "camera 0: offline: stopped delivering frames (5 reads failed in a row)" in result.stderr
    assert "camera 0: gave up: no frame after 1 reconnect attempt (--reconnect 1)" in result.stderr
    assert f"{classified} frame{'s' if classified > 1 else ''}, 0 failed" in result.stderr  # the summary comes
    assert capture.reads == 5 + 5 + 5 and capture.released  # 5 frames, 5 failed reads, 5 more after reopening
    assert seconds < DEADLINE_S


def test_a_camera_that_hiccups_recovers_without_going_offline(tiny_models):
    from antbee.edge.classifier import Classifier, ClassifierOptions
    from antbee.edge.pipeline import run_live

    classifier = Classifier(ClassifierOptions(model=tiny_models.int8))
    capture = corpus.FakeCapture([RED, None, None, None, BLUE, None, RED, BLUE] + [None] * 10)
    frames = open_frames(EdgeOptions(camera=("0",), reconnect=0), factory=lambda source: capture,
                         retry_sleep=0.0)

    class Labels(list):
        def result(self, result, frame):
            self.append((frame.index, result.classification.top.label))

        def event(self, event):
            self.append(event.kind)

    seen = Labels()
    try:
        run_live(classifier, frames, [seen])
    finally:
        frames.close()
    classified = [item for item in seen if isinstance(item, tuple)]
    assert seen[-2:] == ["offline", "gave up"]  # only the 10 failed reads at the end stop it
    assert classified[-1] == (3, "bee") and set(classified) <= {(0, "ant"), (1, "bee"), (2, "ant"), (3, "bee")}
    assert capture.released


def test_frames_of_the_wrong_size_or_kind_give_error_results_and_the_loop_goes_on(monkeypatch, tiny_models):
    frames = [RED, np.full((480, 640, 3), 200, np.uint8), np.zeros((1, 1, 3), np.uint8), BLUE[:, :, 0],
              np.zeros((0, 64, 3), np.uint8), np.zeros((48, 64, 4), np.uint8), np.zeros((48, 64, 2), np.uint8),
              RED.astype(np.float32), np.zeros((48, 64, 3, 1), np.uint8), np.zeros((5000, 2, 3), np.uint8), BLUE]
    result, _ = _cli(["--video", __file__, "--json", "--model", str(tiny_models.int8), "--no-display"],
                     monkeypatch, corpus.FakeCapture(frames))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["frame"] for r in records] == list(range(len(frames)))
    failed = [r["frame"] for r in records if "error" in r]
    assert failed == [4, 6, 7, 8]  # empty, 2-channel, float32, 4-D; grey and BGRA frames are converted
    assert records[0]["label"] == "ant" and records[-1]["label"] == "bee"
    assert result.exit_code == 1  # some frames failed; the file ended normally
    assert f"{len(frames)} frames, 4 failed" in result.stderr


def test_a_video_file_that_ends_stops_cleanly(monkeypatch, tiny_models):
    capture = corpus.FakeCapture([RED, BLUE, None, RED])  # a file's first failed read is its end
    result, _ = _cli(["--video", __file__, "--model", str(tiny_models.int8), "--no-display"], monkeypatch, capture)
    assert result.exit_code == 0 and "2 frames, 0 failed" in result.stderr
    assert capture.reads == 3 and capture.released


def _write_video(path, frames: int = 30):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(RED if i % 2 else BLUE)
    writer.release()
    return path


@pytest.mark.parametrize("damage", ["none", "truncated", "not a video", "empty", "missing"])
def test_real_video_files_truncated_or_not_videos_never_hang(tmp_path, tiny_models, edge_command, damage):
    path = _write_video(tmp_path / "clip.avi")
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    elif damage == "not a video":
        path.write_text("this is not a video\n" * 50)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "missing":
        path.unlink()
    done = subprocess.run([*edge_command, "--video", str(path), "--json", "--model", str(tiny_models.int8),
                           "--no-display"], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr
    if damage in ("none", "truncated"):
        records = [json.loads(line) for line in done.stdout.splitlines()]
        assert done.returncode == 0, done.stderr
        assert len(records) == 30 if damage == "none" else 0 < len(records) < 30
        assert all("label" in r for r in records)
    else:
        assert done.returncode == 2, done.stderr
        assert str(path) in done.stderr and done.stdout == ""
