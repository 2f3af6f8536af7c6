"""A live run without --serve keeps the event log (label changes, minute counts, outages) and samples, and ends
cleanly on SIGTERM, as under systemd."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np

from mjpeg_server import MjpegServer

RED = (20, 30, 220)  # BGR: the tiny models call red "ant"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _edge(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "antbee.edge", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_a_live_run_with_events_and_samples_logs_label_changes_counts_and_the_end(tiny_models, red_blue_video,
                                                                                 tmp_path):
    samples = tmp_path / "samples"
    run = _edge("--model", str(tiny_models.int8), "--events", str(tmp_path / "e.db"), "--video", str(red_blue_video),
                "--samples", str(samples), "--sample-below", "1.0", "--samples-per-minute", "7",
                "--debounce-frames", "3")
    assert run.returncode == 0, run.stderr
    db = sqlite3.connect(tmp_path / "e.db")
    rows = db.execute("SELECT kind, source_id, label FROM events WHERE kind != 'sample' ORDER BY seq").fetchall()
    assert rows == [("label", "0", "ant"), ("label", "0", "bee"), ("source", "0", None), ("counts", "0", None)]
    assert db.execute("SELECT label, count FROM minute_counts ORDER BY label").fetchall() == [("ant", 6), ("bee", 4)]
    assert db.execute("SELECT count(*) FROM events WHERE kind = 'sample'").fetchone() == (7,)
    db.close()
    # The rate limit keeps 7 of the 10 unsure frames: the 6 ants and the first bee.
    assert [len(list((samples / label).glob("*.jpg"))) for label in ("ant", "bee")] == [6, 1]


def test_live_flags_with_files_or_bad_debounce_exit_2_before_opening_anything(tiny_models, red_blue_video,
                                                                              tmp_path):
    files = _edge("--model", str(tiny_models.int8), "--samples", str(tmp_path / "s"),
                  str(REPO_ROOT / "edge" / "samples" / "bee_1.jpg"))
    assert files.returncode == 2 and "--samples without --camera or --video" in files.stderr
    debounce = _edge("--model", str(tiny_models.int8), "--events", str(tmp_path / "e.db"), "--video",
                     str(red_blue_video), "--debounce-frames", "0")
    assert debounce.returncode == 2 and "--debounce-frames 0" in debounce.stderr
    assert not (tmp_path / "e.db").exists()


def test_sigterm_ends_a_live_run_like_ctrl_c_with_the_minutes_counts_written(tiny_models, tmp_path):
    source = MjpegServer(lambda: np.full((48, 64, 3), RED, np.uint8), fps=20).start()
    db = tmp_path / "e.db"
    process = subprocess.Popen([sys.executable, "-m", "antbee.edge", "--model", str(tiny_models.int8), "--json",
                                "--events", str(db), "--video", source.url], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(10)]  # ten frames classified: the run is under way
        assert all('"ant"' in line for line in lines), lines
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
        source.stop()
    stderr = process.stderr.read()
    assert code == 0 and "Traceback" not in stderr, stderr
    counted = sqlite3.connect(db).execute("SELECT sum(count) FROM minute_counts WHERE label = 'ant'").fetchone()[0]
    assert counted >= 10
