"""antbee-edge --mqtt as a process against a real Mosquitto: a live MJPEG stream's state, events and frames, the last
will after kill -9, offline after SIGTERM, --serve with --mqtt, the flags' checks, and no paho without --mqtt."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from mjpeg_server import MjpegServer
from mosquitto import Subscriber, broker  # noqa: F401 - broker is a fixture
from service_client import BLUE, RED, Server
from without_extra import run_edge_without

REPO_ROOT = Path(__file__).resolve().parents[2]
KEEPALIVE_S = 5


class Device:
    """antbee-edge with --mqtt in a subprocess; its stderr is collected as it comes."""

    def __init__(self, *args):
        self.process = subprocess.Popen([sys.executable, "-m", "antbee.edge", *args], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.stderr: list[str] = []
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()

    def stop(self, sig=signal.SIGTERM, timeout=30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("the device did not stop:\n" + "".join(self.stderr)) from None


@pytest.fixture
def stream():
    """An MJPEG stream that alternates red (ant) and blue (bee) pictures every 1.5 s."""
    def picture():
        colour = RED if int(time.monotonic() / 1.5) % 2 == 0 else BLUE
        return np.full((48, 64, 3), colour, np.uint8)

    source = MjpegServer(picture, fps=20).start()
    yield source
    source.stop()


def device_args(broker, tiny_models, tmp_path, *extra):
    return ["--model", str(tiny_models.int8), "--events", str(tmp_path / "events.db"), "--mqtt", broker.url,
            "--device-id", "hive-3", "--mqtt-keepalive", str(KEEPALIVE_S), *extra]


def test_a_live_stream_gives_state_events_and_frames_and_sigterm_says_offline(broker, tiny_models, tmp_path, stream):
    watch = Subscriber(broker, ("antbee/hive-3/#",))
    device = Device(*device_args(broker, tiny_models, tmp_path, "--video", f"cam={stream.url}", "--mqtt-frames"))
    try:
        states = watch.wait(lambda s: {m["label"] for m in s.json("antbee/hive-3/cam/state")} >= {"ant", "bee"}
                           and s.json("antbee/hive-3/cam/state"), timeout=30)
        assert all(set(state) == {"label", "score", "since"} for state in states)
        events = [e for e in watch.json("antbee/hive-3/event") if e["kind"] == "label"]
        assert {e["label"] for e in events} >= {"ant", "bee"}
        assert all(e["device"] == "hive-3" and e["source_id"] == "cam" for e in events)
        frames = watch.json("antbee/hive-3/cam/result")
        assert frames and {f["label"] for f in frames} >= {"ant", "bee"} and frames[0]["device"] == "hive-3"
        assert device.stop() == 0
        assert watch.wait(lambda s: s.on("antbee/hive-3/status")[-1:] == [b"offline"])
        counts = watch.wait(lambda s: [e for e in s.json("antbee/hive-3/event") if e["kind"] == "counts"])
        assert sum(counts[-1]["detail"]["counts"].values()) > 0  # the minute under way, written at the stop
        seqs = [e["seq"] for e in watch.json("antbee/hive-3/event")]
        assert seqs == sorted(seqs) and len(set(seqs)) == seqs[-1] - seqs[0] + 1
        assert "not delivered" not in "".join(device.stderr)
    finally:
        device.stop()
        watch.close()


def test_the_last_will_follows_a_kill_9_within_one_and_a_half_keepalives(broker, tiny_models, tmp_path, stream):
    watch = Subscriber(broker, ("antbee/hive-3/status",))
    device = Device(*device_args(broker, tiny_models, tmp_path, "--video", stream.url))
    try:
        watch.wait(lambda s: s.on("antbee/hive-3/status")[-1:] == [b"online"], timeout=30)
        killed = time.monotonic()
        device.process.send_signal(signal.SIGKILL)
        watch.wait(lambda s: s.on("antbee/hive-3/status")[-1:] == [b"offline"], timeout=3 * KEEPALIVE_S)
        assert time.monotonic() - killed <= 1.5 * KEEPALIVE_S  # the socket closes with the process
    finally:
        device.stop()
        watch.close()


def test_a_frozen_device_is_announced_offline_by_its_keepalive(broker, tiny_models, tmp_path, stream):
    # SIGSTOP keeps the socket open but silent, as a network that drops without a word: only the keepalive tells.
    watch = Subscriber(broker, ("antbee/hive-3/status",))
    device = Device(*device_args(broker, tiny_models, tmp_path, "--video", stream.url))
    try:
        watch.wait(lambda s: s.on("antbee/hive-3/status")[-1:] == [b"online"], timeout=30)
        frozen = time.monotonic()
        device.process.send_signal(signal.SIGSTOP)
        watch.wait(lambda s: s.on("antbee/hive-3/status")[-1:] == [b"offline"], timeout=4 * KEEPALIVE_S)
        # Mosquitto 2.0 looks for silent clients only every few seconds, so its verdict comes that much later.
        assert time.monotonic() - frozen <= 1.5 * KEEPALIVE_S + 5
    finally:
        device.process.send_signal(signal.SIGCONT)
        device.stop(signal.SIGKILL)
        watch.close()


def test_what_a_killed_device_had_not_sent_goes_out_on_its_next_start(broker, tiny_models, tmp_path, stream):
    broker.stop()  # the broker is away while the device classifies and logs
    args = device_args(broker, tiny_models, tmp_path, "--video", f"cam={stream.url}")
    device = Device(*args)
    try:
        logged = wait_for(lambda: label_seqs(tmp_path / "events.db")[1:] and label_seqs(tmp_path / "events.db"))
    finally:
        device.stop(signal.SIGKILL)
    broker.start()
    watch = Subscriber(broker, ("antbee/hive-3/event",))
    again = Device(*args)
    try:
        watch.wait(lambda s: {e["seq"] for e in s.json("antbee/hive-3/event")} >= set(logged), timeout=30)
    finally:
        again.stop()
        watch.close()


def label_seqs(path: Path) -> list[int]:
    """The seqs of the label events in the event log at `path` so far (read beside the writing process)."""
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [seq for (seq,) in db.execute("SELECT seq FROM events WHERE kind = 'label' ORDER BY seq")]
    except sqlite3.OperationalError:
        return []  # the writer has not made the table yet
    finally:
        db.close()


def wait_for(check, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s")
        time.sleep(0.2)
    return value


def test_serve_takes_mqtt_too(broker, tiny_models, tmp_path):
    watch = Subscriber(broker, ("antbee/hive-3/#",))
    server = Server(device_args(broker, tiny_models, tmp_path))
    try:
        model = watch.wait(lambda s: s.json("antbee/hive-3/model"), timeout=30)[-1]
        assert model["labels"] == ["ant", "bee"] and model["name"] == tiny_models.int8.name
        assert watch.wait(lambda s: s.on("antbee/hive-3/status")[-1:] == [b"online"])
        server.stop()
        assert watch.wait(lambda s: s.on("antbee/hive-3/status")[-1:] == [b"offline"])
    finally:
        server.stop()
        watch.close()


def test_a_run_of_files_publishes_its_classifications_before_it_exits(broker, tiny_models, tmp_path):
    watch = Subscriber(broker, ("antbee/hive-3/event",))
    image = str(REPO_ROOT / "edge" / "samples" / "bee_1.jpg")
    run = _edge(*device_args(broker, tiny_models, tmp_path), image)
    assert run.returncode == 0, run.stderr
    events = watch.wait(lambda s: len(s.json("antbee/hive-3/event")) == 2 and s.json("antbee/hive-3/event"))
    assert [(e["kind"], e["source_id"], e["source"]) for e in events] == [("classification", "files", image),
                                                                          ("counts", "files", None)]
    assert events[1]["detail"]["counts"] == {events[0]["label"]: 1}
    watch.close()


def _edge(*args, env=None):
    return subprocess.run([sys.executable, "-m", "antbee.edge", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args, message", [
    (["--mqtt", "mqtt://u:pw@localhost"], "put it in a file named by --mqtt-password-file or in ANTBEE_MQTT_PASSWORD"),
    (["--mqtt", "mqtt://localhost", "--device-id", "a/b"], "--device-id 'a/b'"),
    (["--device-id", "hive-3"], "--device-id without --mqtt"),
    (["--mqtt-frames"], "--mqtt-frames without --mqtt"),
])
def test_bad_mqtt_flags_exit_2_saying_why(args, message):
    run = _edge(*args, "some.jpg")
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr


def test_a_run_without_mqtt_never_imports_paho(tiny_models, tmp_path):
    probe = (
        "import sys, json\n"
        "from antbee.edge.cli import main\n"
        f"sys.argv = ['antbee-edge', '--json', '--model', {str(tiny_models.int8)!r}, '--events', "
        f"{str(tmp_path / 'e.db')!r}, {str(REPO_ROOT / 'edge' / 'samples' / 'bee_1.jpg')!r}]\n"
        "try:\n    main()\n"
        "except SystemExit as end:\n"
        "    print(json.dumps([end.code, sorted(m for m in sys.modules if m.startswith('paho'))]), file=sys.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    code, loaded = json.loads(run.stderr.strip().splitlines()[-1])
    assert code == 0 and loaded == []


def test_without_the_mqtt_extra_the_message_says_what_to_install(tiny_models, tmp_path):
    run = run_edge_without("paho", ["--mqtt", "mqtt://localhost", "--model", str(tiny_models.int8), "--events",
                                     str(tmp_path / "e.db"), str(REPO_ROOT / "edge" / "samples" / "bee_1.jpg")])
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "--mqtt needs paho-mqtt (not installed): pip install 'antbee[mqtt]'" in run.stderr
    assert not (tmp_path / "e.db").exists()  # refused before anything opened
