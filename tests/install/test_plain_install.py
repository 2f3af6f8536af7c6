"""The plain install (`pip install .`) is the edge runtime alone: no TensorFlow, and it classifies out of the box."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from venvs import fresh_venv, install_failure

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "edge" / "samples"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plain_venv(tmp_path_factory) -> Path:
    """A fresh virtual environment with only `pip install .` of this repository."""
    home, done = fresh_venv(tmp_path_factory.mktemp("plain") / "venv", str(REPO))
    if done.returncode != 0:
        pytest.fail(install_failure("pip install .", done))
    return home


def run_edge(home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([home / "bin" / "antbee-edge", "--json", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_plain_install_has_no_tensorflow(plain_venv):
    code = ("import sys, importlib.util, antbee.edge.cli, antbee.edge.classifier; "
            "print(importlib.util.find_spec('tensorflow') is None, 'tensorflow' in sys.modules)")
    done = subprocess.run([plain_venv / "bin" / "python", "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False"]


def test_shipped_samples_and_a_folder(plain_venv, tmp_path):
    # No --model and no artifacts/ in the working folder: the model shipped in the package is used.
    done = run_edge(plain_venv, str(SAMPLES), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 4
    for row in rows:
        expected = "ants" if Path(row["source"]).name.startswith("ant") else "bees"
        assert row["label"] == expected and row["score"] > 0.9
    assert "antbee_int8.tflite" in done.stderr


def test_video_file(plain_venv, tmp_path):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (320, 240))
    frames = [cv2.resize(cv2.imread(str(SAMPLES / name)), (320, 240)) for name in ("bee_1.jpg", "ant_1.jpg")]
    for frame in frames * 3:
        writer.write(frame)
    writer.release()
    done = run_edge(plain_venv, "--video", str(video), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["frame"] for row in rows] == list(range(len(rows))) and len(rows) == 6
    assert [row["label"] for row in rows] == ["bees", "ants"] * 3
    assert all(np.isfinite(row["latency_ms"]) for row in rows)


@pytest.mark.parametrize("command, args", [("antbee-train", ["some.zip"]), ("antbee-convert", ["--int8"]),
                                           ("antbee-bench", ["--smoke"])])
def test_workstation_commands_name_the_extra_to_install(plain_venv, tmp_path, command, args):
    done = subprocess.run([plain_venv / "bin" / command, *args], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr  # one line, no traceback
    assert lines[0].startswith(f"{command}: error: ") and "pip install 'antbee[train]'" in lines[0]
    assert "tensorflow" in lines[0]


@pytest.mark.parametrize(("argv", "prog"), [(["antbee-batch", "photos", "--out", "r.jsonl"], "antbee-batch"),
                                           (["antbee-bench", "batch", "photos"], "antbee-bench batch")])
def test_batch_commands_name_the_batch_extra(plain_venv, tmp_path, argv, prog):
    done = subprocess.run([plain_venv / "bin" / argv[0], *argv[1:]], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr  # one line, no traceback
    assert lines[0].startswith(f"{prog}: error: ") and "pip install 'antbee[batch]'" in lines[0]
