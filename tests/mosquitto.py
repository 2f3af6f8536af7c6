"""The MQTT tests' fixtures over antbee.benchmarks.broker's real Mosquitto (anonymous, or with users and TLS), and a
subscriber."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from antbee.benchmarks.broker import Broker, mosquitto_path
from antbee.common.errors import UsageError


def installed() -> bool:
    """Whether mosquitto is on this machine (the tests that need it skip otherwise)."""
    try:
        mosquitto_path()
    except UsageError:
        return False
    return True


def _started(folder: Path, users: dict[str, str] | None = None):
    if not installed():
        pytest.skip("mosquitto not found (apt-get install mosquitto; .ci/run installs it)")
    server = Broker(folder, users).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def broker(tmp_path):
    """A started anonymous Mosquitto, always stopped at teardown; the test is skipped when it is not installed."""
    yield from _started(tmp_path / "mosquitto")


@pytest.fixture
def secured_broker(tmp_path):
    """A started Mosquitto with TLS and two users, hive (password s3cret) and fleet (password view)."""
    yield from _started(tmp_path / "secured", {"hive": "s3cret", "fleet": "view"})


class Subscriber:
    """A paho client that subscribes to `topics` and keeps every message; a persistent session if `client_id`."""

    def __init__(self, broker: Broker, topics=("#",), client_id: str = "", qos: int = 1,
                 login: tuple[str, str] | None = None):
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, bytes, bool]] = []
        self._condition = threading.Condition()
        self._topics = [(topic, qos) for topic in topics]
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=not client_id)
        self.client.reconnect_delay_set(1, 1)
        if broker.ca is not None:
            self.client.tls_set(ca_certs=str(broker.ca))
        if login is not None:
            self.client.username_pw_set(*login)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.on_message = self._on_message
        self._ready = threading.Event()
        self.client.connect("127.0.0.1", broker.port, 30)
        self.client.loop_start()
        if not self._ready.wait(10):
            raise AssertionError("the test subscriber could not connect and subscribe within 10 s")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._topics:
            client.subscribe(self._topics)
        else:
            self._ready.set()  # a publisher only

    def _on_message(self, client, userdata, message) -> None:
        with self._condition:
            self.messages.append((message.topic, message.payload, bool(message.retain)))
            self._condition.notify_all()

    def on(self, topic: str) -> list[bytes]:
        """The payloads received on `topic`, in order."""
        with self._condition:
            return [payload for name, payload, _ in self.messages if name == topic]

    def json(self, topic: str) -> list:
        return [json.loads(payload) for payload in self.on(topic) if payload]

    def wait(self, predicate, timeout: float = 15.0):
        """Wait until predicate(self) is true (returns its value) or fail after `timeout`."""
        end = time.monotonic() + timeout
        with self._condition:
            while not (value := predicate(self)):
                left = end - time.monotonic()
                if left <= 0:
                    topics = sorted({name for name, _, _ in self.messages})
                    raise AssertionError(f"timed out after {timeout} s; topics seen: {topics}")
                self._condition.wait(min(left, 0.2))
            return value

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def seqs(subscriber: Subscriber, topic: str) -> set[int]:
    """The seq numbers of the events received on `topic`."""
    return {event["seq"] for event in subscriber.json(topic)}
