"""Fresh virtual environments for the install tests: one package set each, installed the way a user would."""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest


def fresh_venv(home: Path, requirement: str) -> tuple[Path, subprocess.CompletedProcess]:
    """A new venv at `home` and the outcome of `pip install REQUIREMENT` in it; skips on ANTBEE_SKIP_INSTALL_TEST=1."""
    if os.environ.get("ANTBEE_SKIP_INSTALL_TEST") == "1":
        pytest.skip("ANTBEE_SKIP_INSTALL_TEST=1")
    venv.create(home, with_pip=True)
    done = subprocess.run([home / "bin" / "python", "-m", "pip", "install", "--quiet", requirement],
                          capture_output=True, text=True, timeout=900)
    return home, done


def install_failure(what: str, done: subprocess.CompletedProcess) -> str:
    """The message for a failed install: pip's last words on both streams."""
    return f"{what} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
