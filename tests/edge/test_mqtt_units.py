"""The MQTT link's parts that need no broker: the event log's additions, the options, topics, discovery, rollout
messages and downloads."""

import json
import time

import pytest

from antbee.common.errors import UsageError
from antbee.edge.events import COUNTS, LABEL, MODEL, EventLog, iso_time
from antbee.edge.mqtt.discovery import sensor_configs
from antbee.edge.mqtt.options import MqttOptions
from antbee.edge.mqtt.outbox import MARK, Outbox
from antbee.edge.mqtt.rollout import download, parse_request
from antbee.edge.mqtt.topics import Topics
from file_server import files  # noqa: F401 - a fixture

START = 1_800_000_000.0


class Clock:
    def __init__(self, now=START - START % 60):
        self.now = now

    def __call__(self):
        return self.now


def test_written_counts_become_one_counts_event_per_minute_and_source(tmp_path):
    clock = Clock()
    log = EventLog(tmp_path / "e.db", clock=clock)
    woken = []
    log.on_write(lambda: woken.append(1))
    for source_id, label in (("0", "ant"), ("0", "ant"), ("0", "bee"), ("1", "bee")):
        log.count(source_id, label)
    assert log.after(0) == [] and not woken
    clock.now += 60
    log.count("0", "ant")
    minute = iso_time(START - START % 60)
    counts = log.after(0)
    assert [(e.kind, e.source_id, e.detail) for e in counts] == [
        (COUNTS, "0", {"minute": minute, "counts": {"ant": 2, "bee": 1}}),
        (COUNTS, "1", {"minute": minute, "counts": {"bee": 1}})]
    assert woken
    log.flush()  # the current minute, as at a stop
    assert log.after(counts[-1].seq)[0].detail == {"minute": iso_time(clock.now), "counts": {"ant": 1}}
    log.close()


def test_after_returns_every_kind_oldest_first_and_limited(tmp_path):
    log = EventLog(tmp_path / "e.db")
    seqs = [log.record(kind, {"i": i}) for i, kind in enumerate((LABEL, MODEL, "classification", LABEL))]
    assert [e.seq for e in log.after(seqs[0], limit=2)] == seqs[1:3]
    assert [e.kind for e in log.after(0)] == [LABEL, MODEL, "classification", LABEL]
    assert log.count_after(seqs[1]) == 2
    log.close()


def test_the_mark_starts_at_the_newest_event_and_survives_a_restart(tmp_path):
    log = EventLog(tmp_path / "e.db")
    before = log.record(LABEL, {})
    assert log.mark("mqtt") == before  # history from before the forwarder was turned on is not sent
    later = log.record(LABEL, {})
    log.set_mark("mqtt", later)
    log.close()
    reopened = EventLog(tmp_path / "e.db")
    assert reopened.mark("mqtt") == later
    assert reopened.mark("other") == later
    reopened.close()


def test_options_defaults_and_broker(monkeypatch):
    monkeypatch.setenv("ANTBEE_MQTT_PASSWORD", "pw")
    options = MqttOptions("mqtt://alice@broker.local")
    assert options.broker() == ("broker.local", 1883, False, None, "alice", "pw")
    assert options.device and "/" not in options.device  # the host name
    assert MqttOptions("mqtts://b:9000", mqtt_user="bob").broker()[1:3] == (9000, True)


@pytest.mark.parametrize("fields, flag", [
    ({"mqtt": "mqtt://u:secret@b"}, "--mqtt-password-file"),  # the message says where the password goes
    ({"mqtt": "http://b"}, "--mqtt"),
    ({"mqtt": "mqtt://b/path"}, "--mqtt"),
    ({"mqtt": "mqtt://b:99999"}, "--mqtt"),
    ({"mqtt": "mqtt://b", "device_id": "hive/3"}, "--device-id"),
    ({"mqtt": "mqtt://b", "device_id": ""}, "--device-id"),
    ({"mqtt": "mqtt://b", "group": "a+b"}, "--group"),
    ({"mqtt": "mqtt://b", "mqtt_prefix": "antbee/#"}, "--mqtt-prefix"),
    ({"mqtt": "mqtt://b", "mqtt_keepalive": 1}, "--mqtt-keepalive"),
])
def test_bad_options_are_usage_errors_naming_the_flag(fields, flag, tmp_path):
    with pytest.raises(UsageError, match=flag):
        MqttOptions(**fields)


def test_the_password_file_and_the_ca_file(tmp_path, monkeypatch):
    monkeypatch.delenv("ANTBEE_MQTT_PASSWORD", raising=False)
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    assert MqttOptions("mqtt://b", mqtt_password_file=secret).broker().password == "s3cret"
    assert MqttOptions("mqtt://b").broker().password is None
    with pytest.raises(UsageError, match="--mqtt-password-file"):
        MqttOptions("mqtt://b", mqtt_password_file=tmp_path / "missing")
    with pytest.raises(UsageError, match="mqtts://"):
        MqttOptions("mqtt://b", mqtt_ca=secret)
    with pytest.raises(UsageError, match="--mqtt-ca"):
        MqttOptions("mqtts://b", mqtt_ca=tmp_path / "missing.pem")
    with pytest.raises(UsageError, match="--mqtt-ca .*expected the broker's CA certificate, PEM"):
        MqttOptions("mqtts://b", mqtt_ca=secret)  # a file, but no certificate in it


def test_topics_and_discovery_configs():
    topics = Topics("antbee", "hive-3", "north")
    assert topics.model_set == ("antbee/hive-3/model/set", "antbee/group/north/model/set")
    configs = sensor_configs(Topics("antbee", "hive.3"), "entrance", "m.tflite")
    assert sorted(configs) == ["homeassistant/sensor/antbee_hive_3_entrance/label/config",
                               "homeassistant/sensor/antbee_hive_3_entrance/score/config"]
    label = configs["homeassistant/sensor/antbee_hive_3_entrance/label/config"]
    assert label["state_topic"] == "antbee/hive.3/entrance/state"
    assert label["availability_topic"] == "antbee/hive.3/status"
    assert label["value_template"] == "{{ value_json.label }}"
    assert label["unique_id"] == "antbee_hive_3_entrance_label"
    assert set(label["device"]) >= {"identifiers", "name", "model", "sw_version"}
    json.dumps(configs)


@pytest.mark.parametrize("payload, expected", [
    (b"not json", "expected a JSON object"),
    (b'["x"]', "expected a JSON object"),
    (b'{"url": "file:///etc/passwd", "sha256": "' + b"a" * 64 + b'"}', "http:// or https://"),
    (b'{"url": "http://h/m.tflite", "sha256": "abc"}', "64 hexadecimal"),
])
def test_bad_rollout_messages_are_refused_with_a_reason(payload, expected):
    with pytest.raises(UsageError, match=expected):
        parse_request(payload, "antbee/d/model/set")


def test_download_keeps_to_its_size_limit(files):
    folder, url = files
    (folder / "m.tflite").write_bytes(b"x" * 1000)
    assert download(f"{url}/m.tflite", limit=1000) == b"x" * 1000
    with pytest.raises(UsageError, match="limit"):
        download(f"{url}/m.tflite", limit=999)
    with pytest.raises(UsageError, match="cannot download"):
        download(f"{url}/missing.tflite")


class FakeInfo:
    """paho's MQTTMessageInfo as the outbox sees it: published once the test acknowledges it."""

    def __init__(self):
        self.published = False

    def is_published(self):
        return self.published


def wait_until(check, timeout=5.0):
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_the_watermark_moves_only_over_contiguous_acknowledgements_and_a_connect_resends_from_it(tmp_path):
    log = EventLog(tmp_path / "e.db")
    sent: list[tuple[int, FakeInfo]] = []

    def send(event):
        sent.append((event.seq, FakeInfo()))
        return sent[-1][1]

    outbox = Outbox(log, send)
    outbox.start()
    seqs = [log.record(LABEL, {"i": i}) for i in range(3)]
    assert sent == []  # not connected yet: nothing goes out, the log keeps them
    outbox.connected()
    wait_until(lambda: [seq for seq, _ in sent] == seqs)
    sent[1][1].published = sent[2][1].published = True  # the second and third acknowledged, not the first
    outbox.acked()
    time.sleep(0.2)
    assert outbox.mark == 0 and outbox.unsent() == 3
    outbox.connected()  # a reconnect: everything after the watermark again, in order
    wait_until(lambda: [seq for seq, _ in sent[3:]] == seqs)
    for _, info in sent[3:]:
        info.published = True
    outbox.acked()
    wait_until(lambda: outbox.unsent() == 0)
    outbox.stop()
    assert log.mark(MARK) == seqs[-1]  # persisted: a restart goes on from here
    log.close()
