"""Run a benchmark step in a fresh Python process and return its result file and peak resident memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from antbee.common.errors import AntbeeError

TIMEOUT_S = 1800  # a full Keras latency run takes minutes; half an hour means a hung process


class WorkerError(AntbeeError, RuntimeError):
    """A benchmark subprocess failed or timed out."""


class Finished(NamedTuple):
    """What a worker process returned: its JSON result and wall time."""

    result: dict
    seconds: float


def run_module(module: str, args: list[str], timeout: float = TIMEOUT_S) -> Finished:
    """Run `python -m module *args --result FILE`, wait for it, and read FILE (a JSON object)."""
    env = worker_env()
    with tempfile.TemporaryDirectory(prefix="antbee-bench-") as folder:
        result_path, log_path = Path(folder) / "result.json", Path(folder) / "stderr.txt"
        start = time.perf_counter()
        with open(log_path, "wb") as log:
            process = subprocess.Popen([sys.executable, "-m", module, *args, "--result", str(result_path)],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, env=env)
            status = _wait(process, timeout)
        seconds = time.perf_counter() - start
        if status != 0:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise WorkerError(f"{module} {' '.join(args)} exited with {status}: {' | '.join(tail) or 'no output'}")
        try:
            result = json.loads(result_path.read_text())
        except (OSError, ValueError) as exc:
            raise WorkerError(f"{module} {' '.join(args)} wrote no readable result ({exc})") from None
    return Finished(result, seconds)


def worker_env() -> dict[str, str]:
    """The environment for worker processes: this one's, with TensorFlow's C++ logging quiet unless asked for."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}


def _wait(process: subprocess.Popen, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            return process.returncode
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise WorkerError(f"a benchmark subprocess ran over {timeout:.0f} s and was stopped")
        time.sleep(0.05)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: VmHWM from /proc/self/status.

    Not ru_maxrss: Linux carries the parent's high-water mark across fork and exec into the
    child's ru_maxrss, so a worker started by a process holding TensorFlow would report that
    process's peak for both sides. VmHWM belongs to the new address space.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass  # no procfs (not Linux): fall back below
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_result(path: str, result: dict) -> None:
    """Write a worker's JSON result, with its peak RSS (the worker side of run_module)."""
    Path(path).write_text(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}))
