"""Home Assistant MQTT discovery: the retained sensor configs that make a device's sources appear with no YAML."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any, NamedTuple

from antbee.edge.mqtt.topics import OFFLINE, ONLINE, Topics


class Sensor(NamedTuple):
    """One Home Assistant sensor per source: its topic level, name suffix, value template and extra config keys."""

    what: str
    name: str
    template: str
    extra: dict[str, Any]


SENSORS = (
    Sensor("label", "label", "{{ value_json.label }}", {"icon": "mdi:bee"}),
    Sensor("score", "score", "{{ value_json.score }}", {"state_class": "measurement"}),
)


def antbee_version() -> str:
    """The installed antbee's version (the device block's sw_version)."""
    try:
        return version("antbee")
    except PackageNotFoundError:
        return "unknown"


def device_block(topics: Topics, model_name: str) -> dict[str, Any]:
    """The `device` block every sensor of this device carries, so Home Assistant groups them as one device."""
    return {"identifiers": [f"antbee_{topics.device}"], "name": topics.device, "manufacturer": "antbee",
            "model": model_name, "sw_version": antbee_version()}


def sensor_configs(topics: Topics, source_id: str, model_name: str) -> dict[str, dict[str, Any]]:
    """The discovery configs of one source's sensors, by their config topic."""
    node = topics.node_id(source_id)
    return {topics.discovery(source_id, sensor.what): {
        "name": f"{source_id} {sensor.name}",
        "unique_id": f"{node}_{sensor.what}",
        "state_topic": topics.state(source_id),
        "value_template": sensor.template,
        "json_attributes_topic": topics.state(source_id),
        "availability_topic": topics.status,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "device": device_block(topics, model_name),
        **sensor.extra,
    } for sensor in SENSORS}
