"""antbee-edge on an emulated Raspberry Pi 4 (qemu-aarch64) gives the x86 labels, and its service answers: runs
tools/aarch64/check.sh."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECK = Path(__file__).resolve().parents[2] / "tools" / "aarch64" / "check.sh"
CANNOT_EMULATE = 77  # check.sh's exit code when this machine cannot run the emulation
TIMEOUT_S = 30 * 60  # about 2 min with a built cache, under 3 min from an empty one


def _why_not() -> str | None:
    if os.environ.get("ANTBEE_SKIP_AARCH64") == "1":
        return "ANTBEE_SKIP_AARCH64=1"
    if not sys.platform.startswith("linux"):
        return "the aarch64 emulation check needs Linux (qemu-user)"
    if os.geteuid() != 0:
        return "needs root: run.sh fakes a Pi 4 /proc/cpuinfo in an unshare -m mount namespace"
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        return "unshare -m is not available here (needed for run.sh's fake Pi 4 /proc/cpuinfo)"
    # A test must not install system packages; CI's script installs the emulator before pytest.
    if shutil.which("qemu-aarch64") is None:
        return "qemu-aarch64 not found: install qemu-user (bash .ci/run does, as root with apt-get)"
    return None


@pytest.mark.slow
def test_emulated_aarch64_labels_match_x86():
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "ANTBEE_X86_PYTHON": sys.executable}
    run = subprocess.run(["bash", str(CHECK)], env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    if run.returncode == CANNOT_EMULATE:
        pytest.skip(run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "check.sh cannot emulate here")
    report = f"check.sh exited {run.returncode}\n--- stdout\n{run.stdout}\n--- stderr (end)\n{run.stderr[-4000:]}"
    assert run.returncode == 0, report
    assert "all labels match x86" in run.stdout, report
    for runtime in ("litert", "tflite-runtime"):
        assert f"[check] {runtime} serve: up after" in run.stdout, report
        assert f"[check] {runtime} serve: SIGTERM -> exit 0" in run.stdout, report
