"""The fleet benchmark's subscriber: a persistent QoS 1 session that records every event and who is online."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from typing import NamedTuple

from antbee.benchmarks.broker import FleetError
from antbee.edge.mqtt.options import DEFAULT_PREFIX
from antbee.edge.mqtt.topics import EVENT, ONLINE, STATUS, parse, wildcard

CLIENT_ID = "antbee-bench-recorder"


class Arrival(NamedTuple):
    """One event as the subscriber received it: whose, which seq, its `time` and the arrival (epoch seconds)."""

    device: str
    seq: int
    time: float
    arrived: float


class Recorder:
    """Subscribes to `<prefix>/+/event` (QoS 1) and `<prefix>/+/status` with a session the broker keeps
    (clean_session false), so what arrives while the broker restarts or we reconnect is queued, not lost."""

    def __init__(self, port: int, prefix: str = DEFAULT_PREFIX):
        from paho.mqtt.client import CallbackAPIVersion, Client

        self.prefix, self.port = prefix, port
        self.arrivals: list[Arrival] = []
        self.online: set[str] = set()
        self.came_online: dict[str, float] = {}  # when each device last said `online` live (not retained)
        self.reconnects = -1  # the first connect is not a reconnect
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = Client(CallbackAPIVersion.VERSION2, client_id=CLIENT_ID, clean_session=False)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_connect, self.client.on_message = self._on_connect, self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()

    def start(self, timeout: float = 10.0) -> Recorder:
        """Connect and wait until the subscriptions are acknowledged."""
        self.client.connect("127.0.0.1", self.port, keepalive=10)
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            raise FleetError(f"the subscriber could not subscribe on port {self.port}")
        return self

    def stop(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            return
        self.reconnects += 1
        client.subscribe([(wildcard(self.prefix, EVENT), 1), (wildcard(self.prefix, STATUS), 1)])

    def _on_message(self, client, userdata, message) -> None:
        arrived = time.time()
        where = parse(self.prefix, message.topic)
        if where is None:
            return
        if where.what == STATUS:
            online = message.payload == ONLINE.encode()
            with self._lock:
                (self.online.add if online else self.online.discard)(where.device)
                if online and not message.retain:
                    self.came_online[where.device] = arrived
            return
        event = json.loads(message.payload)
        sent = datetime.fromisoformat(event["time"]).timestamp()
        with self._lock:
            self.arrivals.append(Arrival(event["device"], int(event["seq"]), sent, arrived))

    def back_online(self, devices: list[str], since: float, timeout: float) -> float | None:
        """When the last of `devices` said `online` after `since` (epoch seconds), waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                times = [self.came_online.get(device, 0.0) for device in devices]
            if min(times) >= since:
                return max(times)
            time.sleep(0.1)
        return None

    def seqs(self) -> dict[str, set[int]]:
        """The distinct seqs received so far, per device."""
        with self._lock:
            arrivals = list(self.arrivals)
        seen: dict[str, set[int]] = {}
        for arrival in arrivals:
            seen.setdefault(arrival.device, set()).add(arrival.seq)
        return seen

    def missing(self, published: dict[str, int]) -> int:
        """How many of seq 1..N per device (N from `published`) have not arrived."""
        seen = self.seqs()
        return sum(len(set(range(1, last + 1)) - seen.get(device, set())) for device, last in published.items())

    def wait_for(self, published: dict[str, int], timeout: float) -> int:
        """Wait until every published seq has arrived or `timeout` passes; return how many are missing."""
        deadline = time.monotonic() + timeout
        while (missing := self.missing(published)) and time.monotonic() < deadline:
            time.sleep(0.2)
        return missing
