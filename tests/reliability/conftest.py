"""Fixtures for the reliability tests: tiny .tflite models, a PNG bomb, and how to start antbee-edge.

The generators (the bad-input corpus, bombs, fakes) are in tests/corpus.py, which
tools/reliability_report.py uses too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import corpus


@pytest.fixture(scope="session")
def png_bomb(tmp_path_factory) -> Path:
    """A 20000x20000 PNG of about 1 MB."""
    return corpus.png_bomb(tmp_path_factory.mktemp("bomb") / "bomb 20000x20000.png")


@pytest.fixture(scope="session")
def edge_command() -> list[str]:
    """How to run antbee-edge in a subprocess with this interpreter."""
    return [sys.executable, "-c", "from antbee.edge.cli import main; main()"]
