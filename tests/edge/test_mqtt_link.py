"""The device's MQTT link against a real Mosquitto: status and will, model, discovery, events and state, broker
outages and restarts with nothing lost, and rollouts from a local HTTP server."""

import hashlib
import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.events import LABEL, EventLog
from antbee.edge.metadata import ModelInfo, attach
from antbee.edge.modelswap import ModelSlot, load_verify_set
from antbee.edge.mqtt.link import MqttLink
from antbee.edge.mqtt.options import MqttOptions
from file_server import files  # noqa: F401 - a fixture
from mosquitto import Subscriber, broker, secured_broker, seqs  # noqa: F401 - fixtures
from tiny_models import BLUE_BGR, LABELS, RED_BGR, SIZE

DEVICE = "hive-3"


def slot_for(path, verify=None):
    return ModelSlot(Classifier(ClassifierOptions(model=path)), hashlib.sha256(path.read_bytes()).hexdigest(), verify)


@pytest.fixture
def device(broker, tiny_models, tmp_path):
    """Makes MqttLinks on the broker (same event log each time), closed at teardown."""
    links = []
    log = EventLog(tmp_path / "events.db")

    def make(slot=None, group=None, start=True, **fields):
        link = MqttLink(MqttOptions(broker.url, device_id=DEVICE, group=group, **fields), log,
                        slot or slot_for(tiny_models.int8), "tiny.tflite", ["0"])
        links.append(link)
        if start:
            link.start()
        return link

    make.log = log
    yield make
    for link in links:
        link.close(timeout=0)
    log.close()


@pytest.fixture
def watch(broker):
    subscribers = []

    def make(*topics, client_id=""):
        subscriber = Subscriber(broker, topics or ("#",), client_id)
        subscribers.append(subscriber)
        return subscriber

    yield make
    for subscriber in subscribers:
        subscriber.close()


def test_status_model_and_discovery_are_retained_and_offline_follows_a_clean_exit(device, watch, tiny_models):
    link = device()
    status = watch("antbee/hive-3/status")
    status.wait(lambda s: s.on("antbee/hive-3/status") == [b"online"])
    late = watch()  # connects after the device: sees only what is retained
    model = late.wait(lambda s: s.json("antbee/hive-3/model"))[0]
    assert model["sha256"] == hashlib.sha256(tiny_models.int8.read_bytes()).hexdigest()
    assert model["labels"] == list(LABELS) and model["name"] == "tiny.tflite" and model["loaded_at"]
    configs = late.wait(lambda s: len(found := [(t, json.loads(p)) for t, p, retained in s.messages
                                                if t.startswith("homeassistant/sensor/") and retained]) == 2
                        and found)
    topics = {topic for topic, _ in configs}
    assert topics == {"homeassistant/sensor/antbee_hive-3_0/label/config",
                      "homeassistant/sensor/antbee_hive-3_0/score/config"}
    for _, config in configs:
        assert config["state_topic"] == "antbee/hive-3/0/state"
        assert config["availability_topic"] == "antbee/hive-3/status"
        assert {"unique_id", "value_template", "device"} <= set(config)
        assert {"identifiers", "name", "model", "sw_version"} <= set(config["device"])
    assert link.close(timeout=5) == 0
    status.wait(lambda s: s.on("antbee/hive-3/status") == [b"online", b"offline"])


def test_close_still_disconnects_when_the_broker_drops_just_before_offline(device, watch, monkeypatch):
    link = device()
    watch("antbee/hive-3/status").wait(lambda s: s.on("antbee/hive-3/status") == [b"online"])
    calls = []

    def gone(*args, **kwargs):  # what paho 2 returns when the connection went after the `connected` check
        info = mqtt.MQTTMessageInfo(0)
        info.rc = mqtt.MQTT_ERR_NO_CONN
        return info

    def spy(name):
        original = getattr(link._client, name)
        return lambda *args, **kwargs: (calls.append(name), original(*args, **kwargs))[1]

    monkeypatch.setattr(link._client, "publish", gone)
    for name in ("disconnect", "loop_stop"):
        monkeypatch.setattr(link._client, name, spy(name))
    link.close(timeout=0)
    assert calls == ["disconnect", "loop_stop"]


def test_discovery_is_sent_again_when_home_assistant_comes_online(device, watch, broker):
    device()
    configs = watch("homeassistant/sensor/#")
    configs.wait(lambda s: len(s.messages) == 2)
    hass = Subscriber(broker, ())
    hass.client.publish("homeassistant/status", "online").wait_for_publish(5)
    configs.wait(lambda s: len([m for m in s.messages if not m[2]]) == 2)  # fresh copies, not the retained ones
    hass.close()


def test_events_go_out_in_seq_order_with_the_state_of_each_source(device, watch):
    events = watch("antbee/hive-3/event", "antbee/hive-3/0/state")
    link = device()
    log = device.log
    first = log.record(LABEL, {"previous": None}, "0", "cam", "ant", 0.9)
    log.record("classification", {"label": "bee"}, "api", "x.jpg", "bee", 0.8)
    last = log.record(LABEL, {"previous": "ant"}, "0", "cam", "bee", 0.7)
    received = events.wait(lambda s: len(s.json("antbee/hive-3/event")) == 3 and s.json("antbee/hive-3/event"))
    assert [e["seq"] for e in received] == [first, first + 1, last]
    assert received[0] == {"seq": first, "time": received[0]["time"], "kind": "label", "source_id": "0",
                           "source": "cam", "label": "ant", "score": 0.9, "detail": {"previous": None},
                           "device": DEVICE}
    state = events.wait(lambda s: len(s.json("antbee/hive-3/0/state")) == 2 and s.json("antbee/hive-3/0/state"))
    assert state[-1] == {"label": "bee", "score": 0.7, "since": received[2]["time"]}
    events.wait(lambda s: link.outbox.unsent() == 0)


def test_a_broker_down_for_10_s_mid_run_loses_nothing(device, watch, broker):
    # A persistent QoS 1 session: the broker keeps what arrives for the subscriber while it reconnects.
    events = watch("antbee/hive-3/event", client_id="fleet-view")
    link = device()
    events.wait(lambda s: link.connected)
    stop = threading.Event()

    def write():
        while not stop.wait(0.05):  # 20 events a second, as the classifier goes on
            device.log.record(LABEL, {}, "0", "cam", "ant", 0.9)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(1)
        broker.stop()
        time.sleep(10)
        broker.start()
        time.sleep(1)
    finally:
        stop.set()
        writer.join()
    newest = device.log.after(0, limit=10_000)[-1].seq
    events.wait(lambda s: seqs(s, "antbee/hive-3/event") >= set(range(1, newest + 1)), timeout=30)
    events.wait(lambda s: link.outbox.unsent() == 0)


def test_a_backlog_left_at_exit_goes_out_on_the_next_start(device, watch, broker):
    broker.stop()
    first = device()
    written = [device.log.record(LABEL, {"i": i}, "0", "cam", "ant", 0.9) for i in range(5)]
    assert first.close(timeout=0.5) == 5  # nobody acknowledged them
    broker.start()
    events = watch("antbee/hive-3/event")
    second = device()
    events.wait(lambda s: seqs(s, "antbee/hive-3/event") >= set(written))
    events.wait(lambda s: second.outbox.unsent() == 0)
    assert second.close(timeout=5) == 0


@pytest.fixture
def verify_dir(write_image, tmp_path):
    for i in range(3):
        write_image(f"verify/ant/red_{i}.png", RED_BGR)
        write_image(f"verify/bee/blue_{i}.png", BLUE_BGR)
    return tmp_path / "verify"


def worse_model(tiny_models) -> bytes:
    """The tiny plain int8 model with the right labels but a negative std: every pixel maps to 0, one class wins."""
    return attach(tiny_models.plain.read_bytes(), ModelInfo(labels=LABELS, size=(SIZE, SIZE), resize="crop",
                                                            mean=0.0, std=-1.0))


def test_rollouts_swap_a_good_model_and_refuse_a_wrong_hash_or_a_worse_one(device, watch, broker, files,
                                                                            tiny_models, verify_dir):
    folder, url = files
    good, worse = tiny_models.float32.read_bytes(), worse_model(tiny_models)
    (folder / "good.tflite").write_bytes(good)
    (folder / "worse.tflite").write_bytes(worse)
    slot = slot_for(tiny_models.int8, load_verify_set(verify_dir, LABELS))
    running = slot.sha256
    model = watch("antbee/hive-3/model")
    link = device(slot, group="north")
    model.wait(lambda s: s.json("antbee/hive-3/model"))
    operator = Subscriber(broker, ())

    def roll_out(topic, name, sha256):
        seen = len(model.json("antbee/hive-3/model"))
        operator.client.publish(topic, json.dumps({"url": f"{url}/{name}", "sha256": sha256}), qos=1,
                                retain=True).wait_for_publish(5)
        return model.wait(lambda s: [m for m in s.json("antbee/hive-3/model")[seen:]
                                     if (m["last_update"] or {}).get("origin") == f"{url}/{name}"])[-1]

    wrong = roll_out("antbee/hive-3/model/set", "good.tflite", "0" * 64)
    assert wrong["last_update"]["action"] == "refused" and "sha256" in wrong["last_update"]["reason"]
    assert wrong["sha256"] == running == slot.sha256
    refused = roll_out("antbee/group/north/model/set", "worse.tflite", hashlib.sha256(worse).hexdigest())
    assert refused["last_update"]["action"] == "refused" and "accuracy" in refused["last_update"]["reason"]
    assert slot.sha256 == running
    swapped = roll_out("antbee/hive-3/model/set", "good.tflite", hashlib.sha256(good).hexdigest())
    assert swapped["last_update"]["action"] == "swapped"
    assert swapped["sha256"] == slot.sha256 == hashlib.sha256(good).hexdigest() != running
    assert swapped["name"] == "good.tflite" and swapped["loaded_at"] == swapped["last_update"]["time"]
    kinds = [(e.kind, e.detail["action"]) for e in device.log.after(0) if e.kind == "model"]
    assert kinds == [("model", "refused"), ("model", "refused"), ("model", "swapped")]
    operator.close()
    link.close(timeout=5)


def test_tls_with_a_ca_file_a_user_in_the_url_and_the_password_from_the_environment(secured_broker, tiny_models,
                                                                                   tmp_path, monkeypatch):
    url = secured_broker.url.replace("mqtts://", "mqtts://hive@")
    notes = []
    log = EventLog(tmp_path / "events.db")
    watch = Subscriber(secured_broker, ("antbee/hive-3/status",), login=("fleet", "view"))
    monkeypatch.setenv("ANTBEE_MQTT_PASSWORD", "wrong")
    refused = MqttLink(MqttOptions(url, mqtt_ca=secured_broker.ca, device_id=DEVICE), log,
                       slot_for(tiny_models.int8), "tiny.tflite", note=notes.append)
    refused.start()
    watch.wait(lambda s: any("refused the connection" in note for note in notes))
    refused.close(timeout=0)
    assert watch.on("antbee/hive-3/status") == []
    monkeypatch.setenv("ANTBEE_MQTT_PASSWORD", "s3cret")
    link = MqttLink(MqttOptions(url, mqtt_ca=secured_broker.ca, device_id=DEVICE), log, slot_for(tiny_models.int8),
                    "tiny.tflite")
    link.start()
    watch.wait(lambda s: s.on("antbee/hive-3/status") == [b"online"])
    link.close(timeout=5)
    watch.wait(lambda s: s.on("antbee/hive-3/status") == [b"online", b"offline"])
    watch.close()
    log.close()
