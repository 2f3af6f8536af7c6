"""Fixtures for the benchmark tests: a copy of the shared tiny run, and one smoke report of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pytest

from run_folders import copy_run


class SmokeRun(NamedTuple):
    """The tiny run folder, its smoke report folder, and what the CLI printed."""

    run_dir: Path
    out: Path
    report: dict
    stdout: str


def invoke(*args: str):
    """Run antbee-bench in this process and return the click Result."""
    from typer.testing import CliRunner

    from antbee.benchmarks.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="session")
def bench():
    """The `invoke(*args)` helper: antbee-bench in this process, returning the click Result."""
    return invoke


@pytest.fixture(scope="session")
def smoke_run(tiny_run, tmp_path_factory) -> SmokeRun:
    """One `antbee-bench RUN --smoke` of a copy of the tiny run (it converts all four variants into its --out).

    A copy, so that variants other tests convert into the tiny run are not found in the run folder.
    """
    root = tmp_path_factory.mktemp("bench")
    run_dir = copy_run(tiny_run.out, root / "run")
    out = root / "bench"
    result = invoke(run_dir, "--smoke", "--out", out)
    assert result.exit_code == 0, result.output
    return SmokeRun(run_dir, out, json.loads((out / "report.json").read_text()), result.stdout)
