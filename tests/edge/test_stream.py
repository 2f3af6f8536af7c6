"""antbee-edge on a real local MJPEG-over-HTTP stream that vanishes for seconds and returns: the run goes on."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

RED = np.full((48, 64, 3), (20, 30, 220), np.uint8)
BLUE = np.full((48, 64, 3), (220, 30, 20), np.uint8)
GAP_S = 3.0
DEADLINE_S = 60


def _server_module():
    path = Path(__file__).resolve().parents[1] / "mjpeg_server.py"
    spec = importlib.util.spec_from_file_location("antbee_test_mjpeg_server", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EDGE = [sys.executable, "-c", "from antbee.edge.cli import main; main()"]


def test_a_stream_that_vanishes_is_reopened_and_classified_after_the_gap(tiny_models):
    picture = {"now": RED}
    server = _server_module().MjpegServer(lambda: picture["now"], fps=20).start()
    process = subprocess.Popen([*EDGE, "--video", server.url, "--json", "--no-display",
                                "--model", str(tiny_models.int8), "--max-frames", "30"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    records, started = [], time.monotonic()
    stderr = []
    threading.Thread(target=lambda: stderr.extend(process.stderr), daemon=True).start()
    try:
        for line in process.stdout:
            records.append(json.loads(line))
            if len(records) == 10:  # the stream vanishes (port closed, clients cut off) and comes back blue
                server.stop()
                vanished = time.monotonic()
                time.sleep(GAP_S)
                picture["now"] = BLUE
                server.start()
            assert time.monotonic() - started < DEADLINE_S, "the run did not go on after the gap"
        code = process.wait(timeout=DEADLINE_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        server.stop()
    text = "".join(stderr)
    assert code == 0, text
    assert len(records) == 30 and "Traceback" not in text
    assert records[0]["label"] == "ant" and records[-1]["label"] == "bee"
    assert f"{server.url}: offline: stopped delivering frames" in text and f"{server.url}: back online" in text
    frames = [r["frame"] for r in records]
    assert frames == sorted(frames) and len(set(frames)) == 30  # one index sequence across the reconnect
    first_bee = next(r for r in records if r["label"] == "bee")
    gap = _seconds(first_bee["time"]) - _seconds(records[9]["time"])
    assert gap >= GAP_S - 0.5, gap  # the bee frames were captured after the stream came back
    assert vanished - started < DEADLINE_S


def _seconds(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
