"""antbee-edge --mqtt: put a run's event log and model slot on the broker, and give the live loop its sinks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

from antbee.common.extras import require
from antbee.edge.events import EventLog
from antbee.edge.modelswap import ModelSlot, Outcome, SlotClassifier
from antbee.edge.mqtt.options import MqttOptions


class Device(NamedTuple):
    """A started link and the live-loop sinks it adds (the --mqtt-frames publisher, or none); close the link."""

    link: Any
    sinks: list


def require_paho() -> None:
    """UsageError unless paho-mqtt is installed (checked before anything opens)."""
    require("paho.mqtt.client", "mqtt", "--mqtt", "paho-mqtt")


def start_device(options: MqttOptions, log: EventLog, slot: ModelSlot, sources: Iterable[str] = (),
                 note: Callable[[str], None] = lambda message: None, report: Callable[[Outcome], None] | None = None,
                 rollouts: bool = True) -> Device:
    """Connect (in the background) and start publishing `log`; UsageError if paho-mqtt is not installed.

    `report` takes each rollout's outcome (default: a model event in the log); without `rollouts` (a run of
    files) the model/set topics are not listened to."""
    require_paho()
    from antbee.edge.mqtt.link import MqttLink

    # The file name, not the path: the topic and Home Assistant show it, and the path says nothing off the device.
    link = MqttLink(options, log, slot, Path(slot.classifier.options.model).name, sources, report, note, rollouts)
    link.start()
    sinks = []
    if options.mqtt_frames:
        from antbee.edge.mqtt.frames import FrameSink

        sinks.append(FrameSink(link, SlotClassifier(slot)))
    return Device(link, sinks)
