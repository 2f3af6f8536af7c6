"""A real Mosquitto broker for the MQTT tests (on a free 127.0.0.1 port, stoppable and restartable) and a subscriber."""

from __future__ import annotations

import getpass
import json
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

MOSQUITTO = Path("/usr/sbin/mosquitto")
MOSQUITTO_PASSWD = Path("/usr/bin/mosquitto_passwd")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mosquitto:
    """mosquitto -c <tmp>/mosquitto.conf: persistent (saved when stopped), on one port for its lifetime; anonymous,
    or with `users` ({name: password}) and TLS (a CA made here, `ca`, signed its certificate for 127.0.0.1)."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.ca: Path | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "mosquitto.conf"
        secured = ""
        if users:
            self.ca = make_certificates(folder)
            passwords = folder / "passwords"
            for name, password in users.items():
                subprocess.run([str(MOSQUITTO_PASSWD), "-b", *(() if passwords.exists() else ("-c",)),
                                str(passwords), name, password], check=True, capture_output=True)
            secured = (f"cafile {self.ca}\ncertfile {folder}/server.pem\nkeyfile {folder}/server.key\n"
                       f"password_file {passwords}\n")
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'false' if users else 'true'}\n"
            f"{secured}"
            "persistence true\n"
            f"persistence_location {folder}/\n"
            f"log_dest file {folder}/mosquitto.log\n"
            f"user {getpass.getuser()}\n"  # as root it would otherwise switch to a mosquitto user
            "max_queued_messages 0\n")  # a persistent subscriber's backlog is not cut short

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.ca else 'mqtt'}://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        """Start (or start again, on the same port) and wait until it accepts connections."""
        self.process = subprocess.Popen([str(MOSQUITTO), "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError("mosquitto exited:\n" + self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not listen within 10 s:\n" + self.log())

    def stop(self) -> None:
        """Stop it (SIGTERM: it saves its persistence file) and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


def make_certificates(folder: Path) -> Path:
    """A CA and a server certificate for 127.0.0.1 signed by it (openssl), in `folder`; returns the CA's file."""
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=antbee test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                                       "authorityKeyIdentifier=keyid,issuer\nsubjectKeyIdentifier=hash\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    return folder / "ca.pem"


def _started(folder: Path, users: dict[str, str] | None = None):
    if not MOSQUITTO.exists():
        pytest.skip(f"{MOSQUITTO} not found (apt-get install mosquitto; .ci/run installs it)")
    server = Mosquitto(folder, users).start()
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

    def __init__(self, broker: Mosquitto, topics=("#",), client_id: str = "", qos: int = 1,
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
