"""Fixtures for the reliability tests: tiny .tflite models and the generated bad-input corpus.

The model-building code is copied from tests/edge/conftest.py's approach (not imported across
test folders); it lives in corpus.py so that report.py can use it too.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _load_corpus():
    name = "antbee_reliability_corpus"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "corpus.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def corpus():
    """The corpus.py helper module."""
    return _load_corpus()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, corpus):
    """Tiny float32/int8 colour models with labels packed in, a plain int8 one, and a [1, 10]-input one."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return corpus.build_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def png_bomb(tmp_path_factory, corpus) -> Path:
    """A 20000x20000 PNG of about 1 MB."""
    return corpus.png_bomb(tmp_path_factory.mktemp("bomb") / "bomb 20000x20000.png")


@pytest.fixture(scope="session")
def edge_command() -> list[str]:
    """How to run antbee-edge in a subprocess with this interpreter."""
    return [sys.executable, "-c", "from antbee.edge.cli import main; main()"]
