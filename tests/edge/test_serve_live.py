"""antbee-edge --video URL --serve: the live loop and the service in one process, on a real local MJPEG stream."""

from __future__ import annotations

import http.client
import hashlib
import json
import signal
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
from mjpeg_server import BOUNDARY as SOURCE_BOUNDARY
from mjpeg_server import MjpegServer
from antbee.common.files import write_atomic
from antbee.edge.events import EventLog
from antbee.edge.sampling import SAMPLE
from service_client import BLUE, RED, Server, multipart, png

DEADLINE_S = 60


def picture(colour):
    return np.full((48, 64, 3), colour, np.uint8)


class LiveServer(Server):
    """The service with a live source; its stdout (one --json line per frame) is read as it comes."""

    def __init__(self, args):
        super().__init__(["--json", *args])
        self.records = []
        threading.Thread(target=lambda: self.records.extend(map(json.loads, self.process.stdout)), daemon=True).start()

    def wait_for(self, what, check):
        started = time.monotonic()
        while time.monotonic() - started < DEADLINE_S:
            value = check()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"never saw {what}; stderr:\n" + "".join(self.stderr))


def jpeg_parts(port, path, count):
    """The first `count` JPEG parts of a multipart/x-mixed-replace answer, decoded."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 200
    boundary = response.getheader("Content-Type").partition("boundary=")[2]
    images = []
    while len(images) < count:
        assert response.readline().strip() == f"--{boundary}".encode()
        headers = {}
        while (line := response.readline().strip()):
            key, _, value = line.decode().partition(":")
            headers[key.lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        data = response.read(int(headers["content-length"]))
        response.readline()
        images.append(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
    connection.close()
    return images


def test_serve_classifies_a_live_stream_and_serves_it_while_it_vanishes_and_returns(tiny_models, tmp_path):
    colour = {"now": RED}
    source = MjpegServer(lambda: picture(colour["now"]), fps=20).start()
    assert SOURCE_BOUNDARY
    server = LiveServer(["--video", f"cam={source.url}", "--model", str(tiny_models.int8),
                         "--events", str(tmp_path / "events.db")])
    try:
        server.wait_for("red frames classified as ant",
                        lambda: [r.get("label") for r in server.records[:3]] == ["ant"] * 3)
        assert server.json("GET", "/healthz") == (200, {"status": "ok"})
        status = server.json("GET", "/api/status")[1]
        state = status["sources"]["cam"]
        assert status["mode"] == "live" and state["online"] and state["source"] == source.url
        assert state["frames"] > 0 and state["fps"] > 0
        code, answer = server.json("POST", "/api/classify", *multipart("image", "blue.png", png(BLUE)))
        assert code == 200 and answer["label"] == "bee"  # the API answers beside the live loop

        frames = jpeg_parts(server.port, "/stream.mjpg", 3)  # the default: the first source
        assert all(image.shape == (48, 64, 3) for image in frames)
        assert frames[-1][24, 32, 2] > 150 and frames[-1][24, 32, 0] < 100  # red (BGR), JPEG rounding aside
        assert server.request("GET", "/stream.mjpg?source=nope")[0] == 404

        colour["now"] = BLUE
        server.wait_for("the stream's blue frames as bee", lambda: server.records[-1].get("label") == "bee")
        assert jpeg_parts(server.port, "/stream.mjpg?source=cam", 2)[-1][24, 32, 0] > 150

        source.stop()  # the stream vanishes: the service stays up and says why it is unhealthy
        code, body = server.wait_for("healthz 503", lambda: (lambda a: a if a[0] == 503 else None)(
            server.json("GET", "/healthz")))
        assert "cam" in body["status"]
        state = server.json("GET", "/api/status")[1]["sources"]["cam"]
        assert not state["online"] and state["since"]
        source.start()
        server.wait_for("healthz 200 again", lambda: server.json("GET", "/healthz")[0] == 200)
        seen = len(server.records)
        server.wait_for("frames after the return", lambda: len(server.records) > seen + 5)
    finally:
        code = server.stop()
        source.stop()
    text = "".join(server.stderr)
    assert code == 0, text  # SIGTERM ended the whole process: server, live loop and grabbers
    assert "stopped:" in text and "Traceback" not in text


def test_serve_with_a_video_file_ends_when_the_file_does_and_keeps_its_samples(tiny_models, red_blue_video, tmp_path):
    samples = tmp_path / "samples"
    server = LiveServer(["--video", str(red_blue_video), "--model", str(tiny_models.int8),
                         "--events", str(tmp_path / "events.db"), "--samples", str(samples),
                         "--sample-below", "1.0", "--samples-per-minute", "7"])
    code = server.process.wait(DEADLINE_S)
    server.stderr.extend(server.process.stderr)
    assert code == 0, "".join(server.stderr)
    server.wait_for("every frame", lambda: len(server.records) == 10)
    assert [r["label"] for r in server.records] == ["ant"] * 6 + ["bee"] * 4
    # Every frame is below 1.0; the rate limit keeps 7 of them: the 6 ants and the first bee.
    assert [len(list((samples / label).glob("*_0.jpg"))) for label in ("ant", "bee")] == [6, 1]
    log = EventLog(tmp_path / "events.db")
    rows = log.events(kinds=(SAMPLE,), limit=100)
    log.close()
    assert len(rows) == 7 and all(set(row.detail["scores"]) == {"ant", "bee"} for row in rows)


def test_samples_without_a_live_source_exit_2(tmp_path):
    run = subprocess.run([sys.executable, "-m", "antbee.edge", "--serve", "0", "--samples", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "--samples without --camera or --video" in run.stderr


def test_a_model_swap_applies_to_the_live_frames_without_closing_the_source(tiny_models, tmp_path):
    model = tmp_path / "model.tflite"
    model.write_bytes(tiny_models.int8.read_bytes())
    source = MjpegServer(lambda: picture(BLUE), fps=20).start()
    server = LiveServer(["--video", source.url, "--model", str(model), "--events", str(tmp_path / "events.db")])
    try:
        server.wait_for("live results", lambda: len(server.records) > 5)
        since = server.json("GET", "/api/status")[1]["sources"]["0"]["since"]
        write_atomic(model, tiny_models.float32.read_bytes())  # as scp to a temp name and mv would
        new = hashlib.sha256(tiny_models.float32.read_bytes()).hexdigest()
        server.wait_for("the swap", lambda: server.json("GET", "/api/status")[1]["model"]["sha256"] == new)
        seen = len(server.records)
        server.wait_for("frames after the swap", lambda: len(server.records) > seen + 5)
        assert {r["label"] for r in server.records[seen:]} == {"bee"}
        state = server.json("GET", "/api/status")[1]["sources"]["0"]
        assert state["online"] and state["since"] == since  # the source was never closed or offline
    finally:
        code = server.stop()
        source.stop()
    assert code == 0, "".join(server.stderr)


def test_ctrl_c_ends_the_whole_process_too(tiny_models, tmp_path):
    source = MjpegServer(lambda: picture(RED), fps=20).start()
    server = LiveServer(["--video", source.url, "--model", str(tiny_models.int8), "--events", str(tmp_path / "e.db")])
    try:
        server.wait_for("live results", lambda: len(server.records) > 3)
        server.process.send_signal(signal.SIGINT)
        code = server.process.wait(DEADLINE_S)
    finally:
        server.stop()
        source.stop()
    text = "".join(server.stderr)
    assert code == 0 and "stopped:" in text and "Traceback" not in text, text


def test_the_frame_store_keeps_at_most_the_stream_rate_and_copies_what_it_keeps():
    import numpy as np

    from antbee.edge.service.liveview import MAX_STREAM_FPS, FrameStore

    now = [100.0]
    store = FrameStore(clock=lambda: now[0])
    frame = np.zeros((4, 4, 3), np.uint8)
    assert store.put("0", frame)
    frame[:] = 7  # a recycled grabber buffer: the kept copy must not change
    assert not store.put("0", frame)  # too soon after the last kept frame
    version, kept = store.newest("0")
    assert version == 1 and kept.max() == 0
    now[0] += 1.01 / MAX_STREAM_FPS
    assert store.put("0", frame) and store.newest("0")[0] == 2 and store.newest("0")[1].max() == 7
    assert store.newest("1") == (0, None)
