"""The topic contract: every topic a device publishes or listens on, built from the prefix, device id and group."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

HA_PREFIX = "homeassistant"
HA_STATUS = f"{HA_PREFIX}/status"  # Home Assistant says "online" here when it (re)starts
ONLINE, OFFLINE = "online", "offline"
# The last level of a device's topics that a watcher follows; STATE is one level deeper, under the source id.
STATUS, MODEL, STATE, EVENT = "status", "model", "state", "event"
GROUP = "group"  # <prefix>/group/<group>/model/set is a group's rollout topic, not a device's


class Where(NamedTuple):
    """What a device topic is about: the device, which topic (STATUS, MODEL, STATE or EVENT), the source (STATE)."""

    device: str
    what: str
    source: str | None = None


def wildcard(prefix: str, what: str) -> str:
    """The subscription matching `what` (STATUS, MODEL, STATE or EVENT) of every device under `prefix`."""
    return f"{prefix}/+/+/{what}" if what == STATE else f"{prefix}/+/{what}"


def parse(prefix: str, topic: str) -> Where | None:
    """`<prefix>/<device>/<what>` or `<prefix>/<device>/<source>/state` as a Where; None for any other topic."""
    if not topic.startswith(f"{prefix}/"):
        return None
    parts = topic[len(prefix) + 1:].split("/")
    if not parts[0] or parts[0] == GROUP:
        return None
    if len(parts) == 2 and parts[1] in (STATUS, MODEL, EVENT):
        return Where(parts[0], parts[1])
    if len(parts) == 3 and parts[2] == STATE and parts[1]:
        return Where(parts[0], STATE, parts[1])
    return None


@dataclass(frozen=True)
class Topics:
    """`<prefix>/<device>/...` topics, the group's rollout topic and the Home Assistant discovery topics."""

    prefix: str
    device: str
    group: str | None = None

    @property
    def status(self) -> str:
        """`online` (retained) while connected; `offline` as the last will and on a clean exit."""
        return f"{self.prefix}/{self.device}/{STATUS}"

    @property
    def event(self) -> str:
        """Every event of the event log, QoS 1, never retained."""
        return f"{self.prefix}/{self.device}/{EVENT}"

    @property
    def model(self) -> str:
        """The running model and the last rollout outcome, retained."""
        return f"{self.prefix}/{self.device}/{MODEL}"

    @property
    def model_set(self) -> tuple[str, ...]:
        """Where a rollout ({"url": ..., "sha256": ...}) arrives: the device's own topic and its group's."""
        own = f"{self.model}/set"
        return (own,) if self.group is None else (own, f"{self.prefix}/{GROUP}/{self.group}/{MODEL}/set")

    def state(self, source_id: str) -> str:
        """One source's debounced label, retained."""
        return f"{self.prefix}/{self.device}/{source_id}/{STATE}"

    def result(self, source_id: str) -> str:
        """Every frame's result of one source with --mqtt-frames, QoS 0."""
        return f"{self.prefix}/{self.device}/{source_id}/result"

    def node_id(self, source_id: str) -> str:
        """Home Assistant's id for one source of this device (letters, digits, _ and - only)."""
        return re.sub(r"[^A-Za-z0-9_-]", "_", f"antbee_{self.device}_{source_id}")

    def discovery(self, source_id: str, what: str) -> str:
        """The retained discovery config of one sensor (`label`, `score`) of one source."""
        return f"{HA_PREFIX}/sensor/{self.node_id(source_id)}/{what}/config"
