"""The topic contract: every topic a device publishes or listens on, built from the prefix, device id and group."""

from __future__ import annotations

import re
from dataclasses import dataclass

HA_PREFIX = "homeassistant"
HA_STATUS = f"{HA_PREFIX}/status"  # Home Assistant says "online" here when it (re)starts
ONLINE, OFFLINE = "online", "offline"


@dataclass(frozen=True)
class Topics:
    """`<prefix>/<device>/...` topics, the group's rollout topic and the Home Assistant discovery topics."""

    prefix: str
    device: str
    group: str | None = None

    @property
    def status(self) -> str:
        """`online` (retained) while connected; `offline` as the last will and on a clean exit."""
        return f"{self.prefix}/{self.device}/status"

    @property
    def event(self) -> str:
        """Every event of the event log, QoS 1, never retained."""
        return f"{self.prefix}/{self.device}/event"

    @property
    def model(self) -> str:
        """The running model and the last rollout outcome, retained."""
        return f"{self.prefix}/{self.device}/model"

    @property
    def model_set(self) -> tuple[str, ...]:
        """Where a rollout ({"url": ..., "sha256": ...}) arrives: the device's own topic and its group's."""
        own = f"{self.prefix}/{self.device}/model/set"
        return (own,) if self.group is None else (own, f"{self.prefix}/group/{self.group}/model/set")

    def state(self, source_id: str) -> str:
        """One source's debounced label, retained."""
        return f"{self.prefix}/{self.device}/{source_id}/state"

    def result(self, source_id: str) -> str:
        """Every frame's result of one source with --mqtt-frames, QoS 0."""
        return f"{self.prefix}/{self.device}/{source_id}/result"

    def node_id(self, source_id: str) -> str:
        """Home Assistant's id for one source of this device (letters, digits, _ and - only)."""
        return re.sub(r"[^A-Za-z0-9_-]", "_", f"antbee_{self.device}_{source_id}")

    def discovery(self, source_id: str, what: str) -> str:
        """The retained discovery config of one sensor (`label`, `score`) of one source."""
        return f"{HA_PREFIX}/sensor/{self.node_id(source_id)}/{what}/config"
