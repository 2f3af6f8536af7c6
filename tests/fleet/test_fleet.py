"""antbee-fleet against a real Mosquitto and a real device link: the retained picture with --once, events as they
arrive, offline after the device leaves, TLS and a password as the device takes them, and bad flags as one-line
errors."""

import hashlib
import json
import subprocess
import sys
import textwrap
import threading

import pytest
from typer.testing import CliRunner

from antbee.common.errors import UsageError
from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.events import LABEL, EventLog
from antbee.edge.modelswap import ModelSlot
from antbee.edge.mqtt.link import MqttLink
from antbee.edge.mqtt.options import MqttOptions
from antbee.edge.mqtt.topics import parse
from antbee.fleet.cli import FleetOptions, app
from antbee.fleet.view import Device, fold
from antbee.fleet.watch import watch
from mosquitto import Subscriber, broker, secured_broker  # noqa: F401 - broker and secured_broker are fixtures

DEVICE = "hive-3"


@pytest.fixture
def device(broker, tiny_models, tmp_path):
    """A started device link on the broker (its event log in `device.log`), closed at teardown if still open."""
    log = EventLog(tmp_path / "events.db")
    slot = ModelSlot(Classifier(ClassifierOptions(model=tiny_models.int8)),
                     hashlib.sha256(tiny_models.int8.read_bytes()).hexdigest())
    link = MqttLink(MqttOptions(broker.url, device_id=DEVICE), log, slot, "tiny.tflite", ["0"])
    link.start()
    link.log, link.sha256 = log, slot.sha256
    yield link
    link.close(timeout=0)
    log.close()


def until_state(broker, label: str) -> None:
    subscriber = Subscriber(broker, (f"antbee/{DEVICE}/0/state",))
    try:
        subscriber.wait(lambda s: any(state["label"] == label for state in s.json(f"antbee/{DEVICE}/0/state")))
    finally:
        subscriber.close()


def fleet(*args):
    return CliRunner().invoke(app, list(args))


def test_once_prints_the_retained_picture_of_a_device_as_json_and_as_a_table(broker, device):
    device.log.record(LABEL, {"previous": None}, "0", "camera 0", "bee", 0.97)
    until_state(broker, "bee")
    done = fleet("--mqtt", broker.url, "--once", "--json")
    assert done.exit_code == 0, done.output
    pictures = [json.loads(line) for line in done.stdout.splitlines()]
    last = [picture for picture in pictures if picture["device"] == DEVICE][-1]
    assert last["status"] == "online"
    assert last["model"]["sha256"] == device.sha256 and last["model"]["name"] == "tiny.tflite"
    assert last["states"]["0"]["label"] == "bee" and last["states"]["0"]["score"] == pytest.approx(0.97)
    assert last["last_event"] is None  # events are never retained
    table = fleet("--mqtt", broker.url, "--once")
    assert table.exit_code == 0, table.output
    row = next(line for line in table.stdout.splitlines() if DEVICE in line)
    assert "online" in row and "tiny.tflite" in row and "0: bee 0.97" in row


def test_a_watch_shows_each_event_as_it_arrives(broker, device):
    changes, subscribed = [], threading.Event()

    def on_change(changed: Device) -> None:
        changes.append(changed)
        subscribed.set()  # the retained status came first: we are subscribed

    watcher = threading.Thread(target=lambda: watch(device.options.broker(), "antbee", on_change, seconds=6))
    watcher.start()
    assert subscribed.wait(10)
    first = device.log.record(LABEL, {"previous": None}, "0", "camera 0", "ant", 0.9)
    last = device.log.record(LABEL, {"previous": "ant"}, "0", "camera 0", "bee", 0.8)
    watcher.join()
    events = {change.last_event["seq"]: change.last_event for change in changes if change.last_event is not None}
    assert list(events) == [first, last]  # in order, each shown as it came
    assert events[last]["label"] == "bee" and events[last]["device"] == DEVICE
    assert changes[-1].states["0"]["label"] == "bee"


def test_once_shows_offline_after_the_device_leaves(broker, device):
    status = Subscriber(broker, (f"antbee/{DEVICE}/status",))
    status.wait(lambda s: s.on(f"antbee/{DEVICE}/status") == [b"online"])  # connected before it leaves
    device.close(timeout=1)
    status.wait(lambda s: s.on(f"antbee/{DEVICE}/status") == [b"online", b"offline"])
    status.close()
    done = fleet("--mqtt", broker.url, "--once", "--json")
    assert done.exit_code == 0, done.output
    assert [json.loads(line) for line in done.stdout.splitlines()][-1]["status"] == "offline"


def test_it_runs_without_tensorflow_numpy_or_the_interpreter(broker, device):
    script = textwrap.dedent(f"""
        import sys
        from antbee.fleet.cli import main
        sys.argv = ["antbee-fleet", "--mqtt", "{broker.url}", "--once"]
        try:
            main()
        finally:
            print(sorted(name for name in ("tensorflow", "numpy", "cv2", "ai_edge_litert", "antbee.edge.classifier")
                         if name in sys.modules), file=sys.stderr)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert DEVICE in done.stdout and done.stderr.strip() == "[]"


def test_bad_flags_and_an_absent_broker_are_one_line_errors(broker):
    port = broker.port
    broker.stop()
    for args, expected in ((["--mqtt", "http://x"], "--mqtt 'http://x': expected mqtt://"),
                           (["--mqtt", f"mqtt://127.0.0.1:{port}"], "cannot connect"),
                           (["--mqtt", broker.url, "--seconds", "0"], "--seconds 0.0: expected"),
                           (["--mqtt", "mqtts://127.0.0.1", "--mqtt-ca", __file__], "--mqtt-ca ")):
        done = fleet(*args, "--once")
        assert done.exit_code == 2
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("antbee-fleet: error: ") and expected in lines[0], done.stderr


@pytest.mark.parametrize("as_json", [True, False])
def test_once_timing_out_before_the_end_of_the_retained_picture_says_so_and_exits_1(broker, device, monkeypatch,
                                                                                   as_json):
    status = Subscriber(broker, (f"antbee/{DEVICE}/status",))
    status.wait(lambda s: s.on(f"antbee/{DEVICE}/status") == [b"online"])
    status.close()
    monkeypatch.setattr("antbee.fleet.watch.ONCE_TIMEOUT_S", 0.0)  # gives up before our echo can come back
    done = fleet("--mqtt", broker.url, "--once", *(["--json"] if as_json else []))
    assert done.exit_code == 1, done.output
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("antbee-fleet: error: --once: ") and "may be incomplete" in lines[0]


def test_it_takes_only_the_broker_flags_it_has(monkeypatch):
    monkeypatch.setattr("socket.gethostname", lambda: "host/with+#")  # no use as a device id: not its business
    assert FleetOptions(mqtt="mqtt://fleet@b:1884").broker()[:2] == ("b", 1884)
    with pytest.raises(UsageError, match="--mqtt-prefix"):
        FleetOptions(mqtt_prefix="a/#")


def test_the_user_and_prefix_flags_show_their_metavars():
    help_text = " ".join(fleet("--help").stdout.split())
    assert "--mqtt-user USER" in help_text and "--mqtt-prefix PREFIX" in help_text


def test_tls_a_user_in_the_url_and_a_password_file_as_the_device_takes_them(secured_broker, tmp_path):
    from paho.mqtt import publish

    publish.single(f"antbee/{DEVICE}/status", "online", qos=1, retain=True, hostname="127.0.0.1",
                   port=secured_broker.port, auth={"username": "hive", "password": "s3cret"},
                   tls={"ca_certs": str(secured_broker.ca)})
    password = tmp_path / "password"
    password.write_text("view\n")
    url, ca = secured_broker.url.replace("mqtts://", "mqtts://fleet@"), str(secured_broker.ca)
    done = fleet("--mqtt", url, "--mqtt-ca", ca, "--mqtt-password-file", str(password), "--once", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout.splitlines()[-1]) == \
        {"device": DEVICE, "status": "online", "model": None, "states": {}, "last_event": None}
    password.write_text("wrong\n")
    refused = fleet("--mqtt", url, "--mqtt-ca", ca, "--mqtt-password-file", str(password), "--once")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr.startswith("antbee-fleet: error: the broker refused the connection"), refused.stderr


def test_the_view_keeps_device_topics_and_ignores_the_rest():
    assert parse("antbee", "antbee/hive-1/status") == ("hive-1", "status", None)
    assert parse("antbee", "antbee/hive-1/cam0/state") == ("hive-1", "state", "cam0")
    assert parse("site/antbee", "site/antbee/hive-1/model") == ("hive-1", "model", None)  # a prefix of two levels
    for other in ("antbee/group/north/model/set", "antbee/hive-1/model/set", "other/hive-1/status",
                  "antbee/hive-1/cam0/result", "homeassistant/sensor/x/label/config", "antbeex/hive-1/status"):
        assert parse("antbee", other) is None
    devices = {}
    fold(devices, "antbee", "antbee/hive-1/cam0/state", b'{"label": "ant", "score": 0.9}')
    assert devices["hive-1"].states == {"cam0": {"label": "ant", "score": 0.9}}
    fold(devices, "antbee", "antbee/hive-1/cam0/state", b"")  # a cleared retained message
    assert devices["hive-1"].states == {}
    assert fold(devices, "antbee", "antbee/hive-1/event", b"not json") is None
