"""Library log lines stay off the terminal unless --verbose or ANTBEE_VERBOSE=1; results and errors still print."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "edge" / "samples" / "ant_1.jpg"
XNNPACK = "XNNPACK delegate"
NOISE = (b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
         b"[http @ 0x55d0c0ffee00] HTTP error 404 Not Found\n"
         b"W0000 00:00:1732900000.123456   12345 cpu_feature_guard.cc:180] This TensorFlow binary is optimized\n"
         b"2026-11-30 17:00:00.123456: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on.\n"
         b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTBEE_VERBOSE", "TF_CPP_MIN_LOG_LEVEL", "OPENCV_FFMPEG_LOGLEVEL")}
    return {**env, **extra}


def _native_writes(verbose: bool, env: dict[str, str]) -> list[str]:
    script = textwrap.dedent(f"""
        import os, sys
        from antbee.common import logs
        logs.configure({verbose})
        logs.filter_native_stderr()
        os.write(2, {NOISE!r} + b"a native error the user must see\\n")
        print("antbee-test: error: the user's own mistake", file=sys.stderr)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stderr.splitlines()


def test_native_log_lines_are_dropped_and_everything_else_kept():
    lines = _native_writes(False, _env())
    assert sorted(lines) == ["a native error the user must see", "antbee-test: error: the user's own mistake"]


@pytest.mark.parametrize("verbose, env", [(True, {}), (False, {"ANTBEE_VERBOSE": "1"})])
def test_verbose_or_the_environment_variable_shows_them(verbose, env):
    lines = _native_writes(verbose, _env(**env))
    assert len(lines) == 7 and "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." in lines


def _edge(*args: str, **env: str) -> subprocess.CompletedProcess:
    # From a folder with no run folder in it, so the packaged model is used.
    return subprocess.run([sys.executable, "-c", "from antbee.edge.cli import main; main()", *args],
                          capture_output=True, text=True, env=_env(**env), cwd=SAMPLE.parent, timeout=120)


def test_antbee_edge_prints_results_without_the_xnnpack_line():
    done = _edge(str(SAMPLE))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{SAMPLE}: ants ")
    assert XNNPACK not in done.stderr
    assert "antbee-edge: model " in done.stderr and "antbee-edge: 1 image, 0 failed" in done.stderr


def test_antbee_edge_verbose_shows_what_the_runtime_logs():
    # What the interpreter itself writes to stderr when it loads the packaged model decides what --verbose shows.
    from antbee.edge.runner import default_model

    probe = ("import sys; from antbee.edge.interpreter import interpreter_module; "
             "_, module = interpreter_module(); "
             "i = module.Interpreter(model_path=sys.argv[1]); i.allocate_tensors(); i.invoke()")
    raw = subprocess.run([sys.executable, "-c", probe, str(default_model(Path("no run folder")))],
                         capture_output=True, text=True, env=_env(), timeout=120)
    assert raw.returncode == 0, raw.stderr
    done = _edge("--verbose", str(SAMPLE))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{SAMPLE}: ants ")
    assert (XNNPACK in done.stderr) == (XNNPACK in raw.stderr)
    assert (XNNPACK in _edge(str(SAMPLE), ANTBEE_VERBOSE="1").stderr) == (XNNPACK in raw.stderr)


def test_a_user_error_still_prints_when_quiet(tmp_path):
    done = _edge(str(tmp_path / "missing.jpg"))
    assert done.returncode == 2
    assert done.stderr == f"antbee-edge: error: {tmp_path / 'missing.jpg'}: no such file, folder or glob match\n"


def test_ffmpeg_lines_about_a_stream_show_only_with_verbose():
    with socket.socket() as probe:  # a port nothing listens on: FFmpeg logs the refused connection
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/stream.mjpg"
    quiet, verbose = _edge("--video", url), _edge("--verbose", "--video", url)
    for done in (quiet, verbose):
        assert done.returncode == 2
        assert f"antbee-edge: error: --video {url}: OpenCV cannot open it" in done.stderr
    assert " @ 0x" not in quiet.stderr
    assert " @ 0x" in verbose.stderr  # e.g. "[tcp @ 0x55d...] Connection to tcp://... failed"
