"""Interrupting antbee-train and antbee-convert (SIGINT, SIGTERM) keeps the previous good run and leaves no litter.

Each scenario starts from a copy of a completed run, starts the command again on it, and sends
the signal either during the work (the previous files must be byte-identical afterwards) or at
the moment it starts writing (each file must be the old one or a complete new one). Either way
no staging folder, .tmp or .verifying file may be left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

import synthetic
from run_folders import TINY_ARGS

TRAIN = [sys.executable, "-c", "from antbee.train.cli import main; main()"]
CONVERT = [sys.executable, "-c", "from antbee.convert.cli import main; main()"]
TRAIN_ARGS = [*TINY_ARGS, "--test-size", "0.3"]


def _env(tmp: Path) -> dict:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TMPDIR": str(tmp), "MPLBACKEND": "Agg"}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _litter(*folders: Path) -> list[str]:
    found = []
    for folder in folders:
        for path in folder.iterdir():
            if path.name.startswith(".") or path.suffix in (".tmp", ".verifying") or "antbee-export" in path.name:
                found.append(str(path.relative_to(folder.parent)))
    return sorted(found)


class Run:
    """A completed train + float32 convert run: its folder, file bytes, and how long each command took."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.out = root / "run"
        self.tmp = root / "tmp"
        self.tmp.mkdir()
        start = time.monotonic()
        subprocess.run([*TRAIN, str(self.data), "--out", str(self.out), *TRAIN_ARGS], check=True,
                       capture_output=True, env=_env(self.tmp), timeout=300)
        self.train_seconds = time.monotonic() - start
        start = time.monotonic()
        subprocess.run([*CONVERT, str(self.out), "--float32"], check=True, capture_output=True,
                       env=_env(self.tmp), timeout=300)
        self.convert_seconds = time.monotonic() - start
        self.files = _snapshot(self.out)
        assert {"model.keras", "metrics.json", "model_float32.tflite", "model_float32.json"} <= set(self.files)


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("interrupt")
    synthetic.write_dataset(root / "data", per_class=10)
    return Run(root)


def _interrupt(good: Run, name: str, command: list[str], signum: int, when) -> tuple[Path, Path, int]:
    """Copy the good run to `name`, run `command` on it, send `signum` once when(out, tmp, started) is true."""
    out = good.root / name
    shutil.copytree(good.out, out, copy_function=shutil.copy2)
    tmp = good.root / f"{name}-tmp"
    tmp.mkdir()
    command = [part.replace("{out}", str(out)) for part in command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(tmp))
    started = time.monotonic()
    try:
        while process.poll() is None and not when(out, tmp, started):
            time.sleep(0.005)
        assert process.poll() is None, f"{name}: the command finished before the moment to interrupt it"
        process.send_signal(signum)
        code = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return out, tmp, code


def _after(seconds: float):
    return lambda out, tmp, started: time.monotonic() - started >= seconds


def _exists(pattern: str, where: str = "out"):
    return lambda out, tmp, started: any((out if where == "out" else tmp).glob(pattern))


def _complete(path: Path) -> bool:
    data = path.read_bytes()
    if path.suffix == ".json":
        json.loads(data)
    elif path.suffix == ".png":
        assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is not None
    elif path.suffix == ".keras":
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None
    elif path.suffix == ".txt":
        assert data.endswith(b"\n")
    return True


def _check_early(good: Run, out: Path, tmp: Path) -> None:
    assert _snapshot(out) == good.files  # byte-identical, nothing added or removed
    assert _litter(out, tmp) == []


def _check_while_writing(good: Run, out: Path, tmp: Path) -> None:
    assert _litter(out, tmp) == []
    now = _snapshot(out)
    assert set(now) == set(good.files)
    for name, data in now.items():
        assert data == good.files[name] or _complete(out / name), name


def _train_command(good: Run) -> list[str]:
    return [*TRAIN, str(good.data), "--out", "{out}", *TRAIN_ARGS]


def _scenarios(good: Run) -> dict:
    convert = [*CONVERT, "{out}", "--float32"]
    return {
        # Half-way through a run of the same length: importing, featurising or fitting, not yet writing.
        "train-early-SIGINT": (_train_command(good), signal.SIGINT, _after(0.5 * good.train_seconds), _check_early),
        "train-writing-SIGINT": (_train_command(good), signal.SIGINT, _exists(".staging-*"), _check_while_writing),
        "train-writing-SIGTERM": (_train_command(good), signal.SIGTERM, _exists(".staging-*"), _check_while_writing),
        # While the new model is verified under a temporary name: the final name must keep the old model.
        "convert-verifying-SIGINT": (convert, signal.SIGINT, _exists(".model_float32.tflite.verifying"), _check_early),
        "convert-verifying-SIGTERM": (convert, signal.SIGTERM, _exists(".model_float32.tflite.verifying"),
                                      _check_early),
    }


@pytest.fixture(scope="module")
def interrupted(good_run) -> dict:
    """Run every scenario, two at a time (2 cores); name -> (out, tmp, exit code) or the exception."""
    def run(item):
        name, (command, signum, when, _) = item
        try:
            return name, _interrupt(good_run, name, command, signum, when)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test that owns the scenario
            return name, exc

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(run, _scenarios(good_run).items()))


def _check(name: str, good_run: Run, interrupted: dict) -> None:
    outcome = interrupted[name]
    if isinstance(outcome, BaseException):
        raise outcome
    out, tmp, code = outcome
    assert code != 0, f"{name}: exit code 0 after the signal"
    _scenarios(good_run)[name][3](good_run, out, tmp)


def test_sigint_during_training_keeps_the_previous_run_byte_identical(good_run, interrupted):
    _check("train-early-SIGINT", good_run, interrupted)


def test_sigint_while_training_writes_leaves_old_or_complete_files_and_no_staging(good_run, interrupted):
    _check("train-writing-SIGINT", good_run, interrupted)


def test_sigterm_while_training_writes_leaves_old_or_complete_files_and_no_staging(good_run, interrupted):
    _check("train-writing-SIGTERM", good_run, interrupted)


def test_sigint_while_converting_keeps_the_previous_model_and_no_verifying_file(good_run, interrupted):
    _check("convert-verifying-SIGINT", good_run, interrupted)


def test_sigterm_while_converting_keeps_the_previous_model_and_no_verifying_file(good_run, interrupted):
    _check("convert-verifying-SIGTERM", good_run, interrupted)
