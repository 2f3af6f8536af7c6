"""antbee-edge --serve's flags: addresses, the token rules, the systemd unit, and no web stack without --serve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from antbee.common.errors import UsageError
from antbee.edge.serve import ServeOptions, is_loopback, parse_address
from antbee.edge.systemd import systemd_unit
from without_extra import run_edge_without

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_MODULES = ("starlette", "uvicorn", "prometheus_client", "multipart", "python_multipart", "antbee.edge.service",
               "antbee.edge.serve", "sqlite3")


@pytest.mark.parametrize("text, expected", [
    ("8080", ("127.0.0.1", 8080)), ("0.0.0.0:80", ("0.0.0.0", 80)), ("[::1]:8080", ("::1", 8080)),
    ("localhost:0", ("localhost", 0)),
])
def test_parse_address(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "x", ":8080", "1.2.3.4:", "8080:1.2.3.4", "65536", "-1"])
def test_bad_addresses_are_usage_errors(text):
    with pytest.raises(UsageError, match=r"expected \[HOST:\]PORT"):
        parse_address(text)


def test_is_loopback():
    assert all(map(is_loopback, ("127.0.0.1", "127.1.2.3", "::1", "localhost")))
    assert not any(map(is_loopback, ("0.0.0.0", "::", "192.168.1.5", "pi.local")))


def test_beyond_loopback_a_token_or_no_auth_is_required():
    ServeOptions(serve="8080")
    ServeOptions(serve="0.0.0.0:8080", token="t")
    ServeOptions(serve="0.0.0.0:8080", no_auth=True)
    with pytest.raises(UsageError, match="needs a token: give --token TOKEN or set ANTBEE_TOKEN"):
        ServeOptions(serve="0.0.0.0:8080")
    with pytest.raises(UsageError, match="together"):
        ServeOptions(serve="0.0.0.0:8080", token="t", no_auth=True)
    with pytest.raises(UsageError, match="--token ''"):
        ServeOptions(serve="8080", token=" ")


@pytest.mark.parametrize("field, value, flag", [("max_upload_mb", 0, "--max-upload"), ("max_drop", 1.5, "--max-drop"),
                                                 ("debounce_frames", 0, "--debounce-frames"),
                                                 ("debounce_score", 2.0, "--debounce-score")])
def test_bad_settings_name_their_flag(field, value, flag):
    with pytest.raises(UsageError, match=flag):
        ServeOptions(serve="8080", **{field: value})


def _edge(*args, env=None, timeout=120):
    environment = {key: value for key, value in os.environ.items() if key != "ANTBEE_TOKEN"}
    return subprocess.run([sys.executable, "-m", "antbee.edge", *args], capture_output=True, text=True,
                          env={**environment, **(env or {})}, timeout=timeout)


def test_all_interfaces_without_a_token_exits_2_saying_why():
    run = _edge("--serve", "0.0.0.0:8080")
    assert run.returncode == 2
    assert "listens beyond this machine, so it needs a token" in run.stderr and "Traceback" not in run.stderr


def test_a_busy_port_exits_2(tiny_models, tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        run = _edge("--serve", f"127.0.0.1:{busy.getsockname()[1]}", "--model", str(tiny_models.int8),
                    "--events", str(tmp_path / "e.db"))
    assert run.returncode == 2 and "cannot listen" in run.stderr and "Traceback" not in run.stderr


def test_serve_with_image_files_is_refused():
    run = _edge("--serve", "8080", "some.jpg")
    assert run.returncode == 2 and "--serve with INPUTS" in run.stderr and "Traceback" not in run.stderr


def test_a_run_without_serve_never_imports_the_web_stack(tiny_models, tmp_path):
    probe = (
        "import sys, json\n"
        "from antbee.edge.cli import main\n"
        f"sys.argv = ['antbee-edge', '--json', '--model', {str(tiny_models.int8)!r}, "
        f"{str(REPO_ROOT / 'edge' / 'samples' / 'bee_1.jpg')!r}]\n"
        "try:\n    main()\n"
        "except SystemExit as end:\n"
        f"    print(json.dumps([end.code, [m for m in {list(WEB_MODULES)!r} if m in sys.modules]]), file=sys.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    code, loaded = json.loads(run.stderr.strip().splitlines()[-1])
    assert code == 0 and json.loads(run.stdout)["label"] in ("ant", "bee")
    assert loaded == []


def test_print_systemd_unit_runs_the_same_command_without_the_token(tmp_path):
    run = _edge("--serve", "0.0.0.0:8080", "--token", "hunter2", "--events", "e.db", "--print-systemd-unit")
    assert run.returncode == 0, run.stderr
    unit = run.stdout
    assert "hunter2" not in unit and "EnvironmentFile=-/etc/antbee/env" in unit
    exec_line = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert exec_line.endswith("-m antbee.edge --serve 0.0.0.0:8080 --events e.db")
    assert "Restart=always" in unit and "SupplementaryGroups=video" in unit
    assert f"WorkingDirectory={os.getcwd()}" in unit
    assert systemd_unit(["--serve", "80", "--token=x"]).count("--token") == 0


def test_without_the_serve_extra_the_message_says_what_to_install(tiny_models, tmp_path):
    run = run_edge_without("uvicorn", ["--serve", "0", "--model", str(tiny_models.int8), "--events",
                                       str(tmp_path / "e.db")])
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "uvicorn is not installed): pip install 'antbee[serve]'" in run.stderr


def test_a_config_file_holds_the_flags_and_the_command_line_wins(tmp_path):
    config = tmp_path / "antbee.toml"
    config.write_text('serve = "0.0.0.0:8080"\nevents-keep = "7d"\nmax_upload = 5\n')
    run = _edge("--config", str(config))
    assert run.returncode == 2 and "--serve 0.0.0.0:8080 listens beyond this machine" in run.stderr
    run = _edge("--config", str(config), "--serve", "127.0.0.1:8080", "--print-systemd-unit")
    assert run.returncode == 0 and f"--config {config} --serve 127.0.0.1:8080" in run.stdout
    config.write_text('events_keep = "soon"\nserve = "8080"\n')
    run = _edge("--config", str(config))
    assert run.returncode == 2 and "--events-keep 'soon'" in run.stderr


@pytest.mark.parametrize("text, message", [
    ("colour = 'red'", "unknown setting 'colour'"), ("print-systemd-unit = true", "unknown setting"),
    ("serve = [", "not valid TOML"), ("[serve]\nport = 1", "is a table"),
])
def test_bad_config_files_exit_2_naming_the_problem(tmp_path, text, message):
    config = tmp_path / "antbee.toml"
    config.write_text(text)
    run = _edge("--config", str(config))
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr
    missing = _edge("--config", str(tmp_path / "none.toml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_a_file_run_with_events_logs_one_row_per_image(tiny_models, tmp_path):
    import sqlite3

    import cv2
    import numpy as np

    red = tmp_path / "red.png"
    cv2.imwrite(str(red), np.full((20, 20, 3), (20, 30, 220), np.uint8))
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    run = _edge("--model", str(tiny_models.int8), "--events", str(tmp_path / "e.db"), str(red),
                str(tmp_path / "bad.jpg"))
    assert run.returncode == 1  # one image failed
    db = sqlite3.connect(tmp_path / "e.db")
    rows = db.execute("SELECT kind, source_id, source, label FROM events ORDER BY seq").fetchall()
    bad = str(tmp_path / "bad.jpg")
    assert rows == [("classification", "files", str(red), "ant"), ("classification", "files", bad, None),
                    ("counts", "files", None, None)]  # the minute's counts, written at the end
    assert db.execute("SELECT source_id, label, count FROM minute_counts").fetchall() == [("files", "ant", 1)]
    db.close()

