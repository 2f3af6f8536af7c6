"""antbee-bench fleet: the counting on made-up arrivals, and a smoke run of real devices on a real Mosquitto."""

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from antbee.benchmarks import fleet, mjpeg
from antbee.benchmarks.broker import FleetError
from antbee.benchmarks.fleet import FleetOptions
from antbee.benchmarks.fleet_report import Outage, Usage, fleet_result, table_lines
from antbee.benchmarks.recorder import Arrival
from antbee.common.errors import UsageError
from mosquitto import installed

SHIPPED = Path(__file__).resolve().parents[2] / "edge" / "models" / "antbee_int8.tflite"


def test_duplicates_losses_and_the_outage_are_counted_apart(tmp_path):
    options = FleetOptions(model=SHIPPED, out=tmp_path, devices=2, seconds=10, broker_down=2)
    arrivals = [Arrival("a", 1, 100.0, 100.01), Arrival("a", 2, 104.0, 107.0),  # made while the broker was down
                Arrival("a", 2, 104.0, 107.5), Arrival("b", 1, 101.0, 101.02)]  # a duplicate; b's seq 2 lost
    usage = {"a": Usage(1.5, 80.0, 90.0), "b": Usage(2.5, 81.0, 91.0)}
    result = fleet_result(options, arrivals, {"a": 2, "b": 2}, 1, (99.0, 109.0), Outage(103.0, 105.0, 1.5), usage,
                     (0.5, 7.0))
    assert (result.published, result.delivered, result.duplicates, result.lost) == (4, 3, 1, 1)
    assert result.events_per_s == 0.3
    assert result.latency.n == 2 and result.latency.max_ms == pytest.approx(20, abs=0.01)
    assert result.backlog.n == 1 and result.backlog.median_ms == pytest.approx(3000, abs=0.01)
    assert [u.cpu_percent for u in result.usage] == [15.0, 25.0]
    assert table_lines(result)[-1] == "  zero loss: NO (1 events lost)"


@pytest.mark.parametrize("fields, flag", [
    ({"devices": 0}, "--devices"), ({"seconds": 5, "broker_down": 5}, "--seconds"), ({"fps": 0}, "--fps"),
    ({"model": Path("nope.tflite")}, "--model")])
def test_bad_options_name_their_flag(tmp_path, fields, flag):
    with pytest.raises(UsageError, match=flag):
        FleetOptions(**{"model": SHIPPED, "out": tmp_path, **fields})


def test_smoke_sets_the_size_and_unset_flags_take_the_full_defaults():
    assert fleet.scale(True, None, None, None) == fleet.SMOKE
    assert fleet.scale(False, 3, None, 0.0) == fleet.Scale(devices=3, seconds=fleet.FULL.seconds, broker_down=0.0)


@pytest.mark.parametrize("flags, named", [
    (["--devices", "3"], "--devices"), (["--seconds", "20", "--broker-down", "5"], "--seconds, --broker-down")])
def test_smoke_refuses_the_flags_it_would_override(tmp_path, flags, named):
    done = subprocess.run([sys.executable, "-c", "from antbee.benchmarks.cli import main; main()", "fleet",
                           "--smoke", *flags, "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"--smoke with {named}" in done.stderr
    assert not (tmp_path / "fleet-run").exists()


def test_every_simulated_camera_gets_the_same_picture_and_other_paths_are_not_found():
    pictures = [b"ant-jpeg", b"bee-jpeg"]
    shown = mjpeg.alternating(pictures, 3600.0)()
    server = mjpeg.MjpegServer(mjpeg.alternating(pictures, 3600.0), fps=20).start()
    try:
        with urllib.request.urlopen(server.stream_url("bench-01"), timeout=10) as stream:
            head = stream.read(200)
        assert f"--{mjpeg.BOUNDARY}".encode() in head and shown in head
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(server.url.replace("stream.mjpg", "index.html"), timeout=10)
    finally:
        server.stop()


def test_a_failed_start_stops_what_had_started(tmp_path, monkeypatch):
    class Broker:  # stands in for mosquitto: the run must stop it when the subscriber cannot start
        instances = []

        def __init__(self, folder):
            self.port, self.url, self.stopped = 1, "mqtt://127.0.0.1:1", False
            Broker.instances.append(self)

        def start(self):
            return self

        def stop(self):
            self.stopped = True

    class Recorder:
        def __init__(self, port):
            pass

        def start(self):
            raise FleetError("the subscriber could not subscribe")

    monkeypatch.setattr("antbee.benchmarks.broker.Broker", Broker)
    monkeypatch.setattr("antbee.benchmarks.recorder.Recorder", Recorder)
    with pytest.raises(FleetError, match="subscriber"):
        fleet.run_fleet(FleetOptions(model=SHIPPED, out=tmp_path), progress=lambda line: None)
    assert [b.stopped for b in Broker.instances] == [True]


def test_a_device_that_died_mid_run_is_named_with_its_log(tmp_path):
    log = tmp_path / "bench-00.log"
    log.write_text("loading\nModelError: the model is broken\n")
    dead = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    status = Path(f"/proc/{dead.pid}/status")
    deadline = time.monotonic() + 30
    while "zombie" not in status.read_text() and time.monotonic() < deadline:  # exited, not yet reaped: no VmRSS
        time.sleep(0.05)
    said = re.escape("bench-00 exited with 3: loading | ModelError: the model is broken")
    with pytest.raises(FleetError, match=said):
        fleet._usage({"bench-00": dead}, {"bench-00": log}, {"bench-00": 0.0})


@pytest.mark.skipif(not installed(), reason="mosquitto not found (apt-get install mosquitto)")
def test_a_smoke_run_loses_nothing_across_a_broker_restart(tmp_path):
    done = subprocess.run([sys.executable, "-c", "from antbee.benchmarks.cli import main; main()", "fleet",
                           "--smoke", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "fleet.json").read_text())
    assert report["devices"] == 2 and report["broker_restarts"] == 1 and report["reconnect_s"] >= 0
    assert report["lost"] == 0 and report["published"] >= 2 * 2  # each device: its first label and a change
    assert report["delivered"] == report["published"]
    assert report["latency"]["n"] > 0 and report["latency"]["median_ms"] > 0
    assert [u["device"] for u in report["usage"]] == ["bench-00", "bench-01"]
    assert all(u["cpu_s"] > 0 and u["rss_mb"] > 20 for u in report["usage"])
    assert report["broker_cpu_s"] >= 0 and report["broker_rss_mb"] > 0
    assert "zero loss: yes" in done.stdout
