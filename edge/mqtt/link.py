"""The device's paho client: last will, online/offline status, the model topic, discovery, subscriptions, reconnects."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from antbee.edge.events import LABEL, MODEL, Event, EventLog, iso_time
from antbee.edge.modelswap import ModelSlot, Outcome
from antbee.edge.mqtt.discovery import sensor_configs
from antbee.edge.mqtt.options import MqttOptions, client_for
from antbee.edge.mqtt.outbox import WINDOW, Outbox
from antbee.edge.mqtt.rollout import Rollout
from antbee.edge.mqtt.topics import HA_STATUS, OFFLINE, ONLINE, Topics

CLOSE_TIMEOUT_S = 10.0  # how long a clean exit waits for the backlog (systemd's TimeoutStopSec is 30)
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 8  # paho's back-off between reconnect attempts, doubling
OFFLINE_WAIT_S = 2.0


@dataclass(frozen=True)
class ModelState:
    """What the model topic shows beside the slot's sha256 and labels; `seq` is the newest model event shown."""

    name: str
    loaded_at: str
    seq: int = 0
    last_update: dict[str, Any] | None = None


def shown_name(origin: str) -> str:
    """The model's name on the model topic: the last part of where it came from (a path or URL), as at start-up
    (the full origin stays in `last_update`)."""
    return Path(urlsplit(origin).path).name or origin


class MqttLink:
    """One device on one broker: publishes the event log (through an Outbox) and the retained status, model, state
    and discovery topics, and takes rollouts. `start()`, then `close(timeout)`."""

    def __init__(self, options: MqttOptions, log: EventLog, slot: ModelSlot, model_name: str,
                 sources: Iterable[str] = (), report: Callable[[Outcome], None] | None = None,
                 note: Callable[[str], None] = lambda message: None, rollouts: bool = True):
        self.options = options
        self.topics = Topics(options.mqtt_prefix, options.device, options.group)
        self._broker = options.broker()
        self._log, self._slot, self._note = log, slot, note
        self._report = report or (lambda outcome: log.record(MODEL, outcome.record()))
        self._rollouts = rollouts
        self._lock = threading.Lock()
        self._sources = list(dict.fromkeys(sources))  # those with discovery configs, in order
        self._model = ModelState(model_name, iso_time(time.time()))
        self._up = threading.Event()
        self._refused = ""  # the broker's last reason for refusing the connection
        self._client = self._new_client()
        self.outbox = Outbox(log, self._send_event)
        self.rollout = Rollout(slot, self._rolled_out)

    def _new_client(self) -> mqtt.Client:
        client = client_for(self._broker, f"antbee-{self.topics.device}")
        client.will_set(self.topics.status, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.max_inflight_messages_set(WINDOW)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = lambda *_: self.outbox.acked()
        client.on_message = self._on_message
        return client

    @property
    def connected(self) -> bool:
        """Whether the broker has accepted the connection (and not lost it since)."""
        return self._up.is_set()

    def start(self) -> None:
        """Connect in the background (retrying until the broker answers) and start sending."""
        self._client.connect_async(self._broker.host, self._broker.port, self.options.mqtt_keepalive)
        self._client.loop_start()
        self.outbox.start()
        self.rollout.start()

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> int:
        """Wait up to `timeout` s for the backlog, say `offline` and disconnect; returns how many events are left
        (they go out on the next start)."""
        self._log.flush()  # the minute under way: its counts go out now rather than at the next start
        self.outbox.drain(timeout)
        self.outbox.stop()
        self.rollout.stop()
        try:
            if self.connected:
                info = self._client.publish(self.topics.status, OFFLINE, qos=1, retain=True)
                # the broker may have gone since the check: then there is nothing to wait for (and paho would
                # raise), and the last will says `offline` for us
                if info.rc == mqtt.MQTT_ERR_SUCCESS:
                    info.wait_for_publish(OFFLINE_WAIT_S)
        finally:
            self._client.disconnect()
            self._client.loop_stop()
        left = self.outbox.unsent()
        if left:
            self._note(f"mqtt: {left} event(s) not delivered; they go out on the next start")
        return left

    def publish_result(self, source_id: str, record: dict[str, Any]) -> None:
        """One frame's result on the source's result topic (QoS 0: dropped while the broker is away)."""
        payload = {**record, "source_id": source_id, "device": self.topics.device}
        self._client.publish(self.topics.result(source_id), json.dumps(payload, ensure_ascii=False), qos=0)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            if str(reason_code) != self._refused:  # once per reason, not at every retry
                self._refused = str(reason_code)
                self._note(f"mqtt: the broker refused the connection ({reason_code}); retrying")
            return
        self._refused = ""
        self._note(f"mqtt: connected to {self._broker.host}:{self._broker.port} as {self.topics.device}")
        client.publish(self.topics.status, ONLINE, qos=1, retain=True)
        self._publish_model()
        self._publish_discovery()
        client.subscribe([(HA_STATUS, 1), *((topic, 1) for topic in self.topics.model_set if self._rollouts)])
        self._up.set()
        self.outbox.connected()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.outbox.disconnected()
        if self._up.is_set():
            self._up.clear()
            if reason_code != 0:
                self._note(f"mqtt: lost the broker ({reason_code}); reconnecting, events wait in the log")

    def _on_message(self, client, userdata, message) -> None:
        if message.topic == HA_STATUS:
            if message.payload == ONLINE.encode():
                self._publish_discovery()  # Home Assistant restarted: it may have lost them
        elif message.topic in self.topics.model_set:
            self.rollout.offer(message.payload, message.topic)

    def _send_event(self, event: Event) -> Any:
        payload = {**event._asdict(), "device": self.topics.device}
        info = self._client.publish(self.topics.event, json.dumps(payload, ensure_ascii=False), qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_AGAIN):
            return None  # not connected: paho keeps it and the next connect sends again from the watermark
        if event.kind == LABEL and event.source_id is not None:
            self._add_source(event.source_id)
            state = {"label": event.label, "score": event.score, "since": event.time}
            self._client.publish(self.topics.state(event.source_id), json.dumps(state, ensure_ascii=False),
                                 qos=1, retain=True)
        elif event.kind == MODEL:
            self._model_event(event)
        return info

    def _add_source(self, source_id: str) -> None:
        with self._lock:
            if source_id in self._sources:
                return
            self._sources.append(source_id)
        self._publish_discovery([source_id])

    def _publish_discovery(self, sources: list[str] | None = None) -> None:
        with self._lock:
            sources = list(self._sources) if sources is None else sources
            name = self._model.name
        for source_id in sources:
            for topic, config in sensor_configs(self.topics, source_id, name).items():
                self._client.publish(topic, json.dumps(config, ensure_ascii=False), qos=1, retain=True)

    def _model_event(self, event: Event) -> None:
        with self._lock:
            if event.seq <= self._model.seq:
                return  # sent again after a reconnect: the topic shows a newer one already
            model = replace(self._model, seq=event.seq, last_update={"time": event.time, **event.detail})
            if event.detail.get("accepted") and event.detail.get("sha256") == self._slot.sha256:
                model = replace(model, name=shown_name(event.detail.get("origin") or model.name), loaded_at=event.time)
            self._model = model
        self._publish_model()

    def _publish_model(self) -> None:
        with self._lock:
            model = {"name": self._model.name, "sha256": self._slot.sha256,
                     "labels": list(self._slot.classifier.labels), "loaded_at": self._model.loaded_at,
                     "last_update": self._model.last_update}
        self._client.publish(self.topics.model, json.dumps(model, ensure_ascii=False), qos=1, retain=True)

    def _rolled_out(self, outcome: Outcome) -> None:
        what = "swapped in" if outcome.accepted else f"refused: {outcome.reason}"
        self._note(f"mqtt: rollout of {outcome.sha256[:12] or 'a model'} from {outcome.origin}: {what}")
        self._report(outcome)
