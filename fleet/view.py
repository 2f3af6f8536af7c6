"""The fleet picture: each device's status, model, state per source and last event, folded from MQTT messages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from antbee.edge.mqtt.topics import EVENT, MODEL, STATE, STATUS, parse, wildcard


def subscriptions(prefix: str) -> list[str]:
    """The topics the view follows: every device's status, model, event and state per source."""
    return [wildcard(prefix, what) for what in (STATUS, MODEL, STATE, EVENT)]


@dataclass(frozen=True)
class Device:
    """What the broker last said about one device; payloads are the decoded JSON (or the text for status)."""

    device: str
    status: str | None = None
    model: dict[str, Any] | None = None
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_event: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The device as one JSON object (what --json prints per update)."""
        return {"device": self.device, "status": self.status, "model": self.model, "states": self.states,
                "last_event": self.last_event}


def _decode(payload: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def fold(devices: dict[str, Device], prefix: str, topic: str, payload: bytes) -> Device | None:
    """Apply one message to `devices` (in place); return the device it changed, or None if it was not ours.

    An empty retained payload clears that topic (the MQTT way of deleting a retained message)."""
    where = parse(prefix, topic)
    if where is None:
        return None
    name, what, source = where
    device = devices.get(name, Device(name))
    if what == STATUS:
        device = replace(device, status=payload.decode("utf-8", "replace") or None)
    elif what == MODEL:
        device = replace(device, model=_decode(payload))
    elif what == EVENT:
        event = _decode(payload)
        if event is None:
            return None
        device = replace(device, last_event=event)
    else:
        states = dict(device.states)
        state = _decode(payload)
        if state is None:
            states.pop(source, None)
        else:
            states[source] = state
        device = replace(device, states=states)
    devices[name] = device
    return device
