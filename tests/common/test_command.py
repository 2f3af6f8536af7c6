"""The command boundary every antbee command goes through: one error line, Ctrl-C and SIGTERM, the plain-install hint."""

from __future__ import annotations

import importlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from typer.testing import CliRunner

from antbee.common import command
from antbee.common.command import INTERRUPTED, new_app, require_workstation, user_errors
from antbee.common.errors import ModelError, UsageError


def _app(body):
    app = new_app()

    @app.command()
    def main() -> None:
        with user_errors("antbee-test"):
            body()

    return app


def test_a_user_mistake_is_one_line_and_its_exit_code():
    def body():
        raise UsageError("--thing 'x': expected\na number")

    result = CliRunner().invoke(_app(body), [])
    assert result.exit_code == 2
    assert result.stderr == "antbee-test: error: --thing 'x': expected a number\n"
    assert result.stdout == ""


def test_an_error_keeps_its_own_exit_code():
    class Broken(ModelError):
        exit_code = 3

    def body():
        raise Broken("model.tflite: corrupt")

    result = CliRunner().invoke(_app(body), [])
    assert result.exit_code == 3 and result.stderr == "antbee-test: error: model.tflite: corrupt\n"


def test_ctrl_c_is_one_line_and_exit_130():
    def body():
        raise KeyboardInterrupt

    result = CliRunner().invoke(_app(body), [])
    assert result.exit_code == INTERRUPTED == 130
    assert result.stderr == "antbee-test: interrupted\n"


def test_a_bug_is_not_hidden_as_a_user_mistake():
    def body():
        raise ZeroDivisionError("a bug")

    result = CliRunner().invoke(_app(body), [])
    assert isinstance(result.exception, ZeroDivisionError)


def test_missing_workstation_packages_name_the_extra(monkeypatch):
    monkeypatch.setattr(command, "WORKSTATION_MODULES", ("numpy", "antbee_no_such_module"))
    with pytest.raises(UsageError) as caught:
        require_workstation()
    assert "antbee_no_such_module not installed" in str(caught.value)
    assert "pip install 'antbee[train]'" in str(caught.value)
    assert "numpy" not in str(caught.value)


def test_sigterm_unwinds_like_ctrl_c_so_finally_blocks_clean_up(tmp_path):
    script = textwrap.dedent(f"""
        import pathlib, time
        from antbee.common.command import new_app, run
        app = new_app()
        @app.command()
        def main() -> None:
            partial = pathlib.Path({str(tmp_path)!r}) / "partial.tmp"
            partial.write_text("half")
            try:
                time.sleep(60)
            finally:
                partial.unlink()
        run(app, "antbee-test")
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "partial.tmp").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (tmp_path / "partial.tmp").exists(), "the command never started"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    assert not (tmp_path / "partial.tmp").exists()
    assert "Traceback" not in stderr


@pytest.mark.parametrize("module, prog, writes_files", [
    ("antbee.train.cli", "antbee-train", True), ("antbee.convert.cli", "antbee-convert", True),
    ("antbee.benchmarks.cli", "antbee-bench", True), ("antbee.edge.cli", "antbee-edge", False),
    ("antbee.fleet.cli", "antbee-fleet", False)])
def test_every_console_script_goes_through_the_boundary(monkeypatch, module, prog, writes_files):
    cli = importlib.import_module(module)
    calls = []
    monkeypatch.setattr(cli, "run", lambda app, name, writes_files=True: calls.append((app, name, writes_files)))
    cli.main()
    assert calls == [(cli.app, prog, writes_files)]


@pytest.mark.parametrize("module", ["antbee.train.ablation", "antbee.convert.ablation"])
def test_the_ablations_are_typer_commands_with_the_shared_options(module):
    result = CliRunner().invoke(importlib.import_module(module).app, ["--help"])
    assert result.exit_code == 0 and "--verbose" in result.stdout


def test_the_calibration_study_rejects_bad_sizes_in_one_line(tmp_path):
    from antbee.convert.ablation import app

    result = CliRunner().invoke(app, [str(tmp_path), "--sizes", "4,x"])
    assert result.exit_code == 2
    assert result.stderr == "antbee.convert.ablation: error: --sizes '4,x': expected positive whole numbers " \
                            "separated by commas\n"
