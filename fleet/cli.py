"""antbee-fleet: a thin Typer layer showing each device on an MQTT broker as a live table or JSON lines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from antbee.common.command import Verbose, new_app, run, user_errors
from antbee.common.errors import UsageError
from antbee.common.extras import require
from antbee.edge.mqtt.options import DEFAULT_PREFIX, Broker, broker_of, check_prefix

PROG = "antbee-fleet"
DEFAULT_URL = "mqtt://localhost:1883"

app = new_app()


@dataclass(frozen=True)
class FleetOptions:
    """The flags, one field each: the broker ones as the device takes them, then the view's."""

    mqtt: str = DEFAULT_URL
    mqtt_ca: Path | None = None
    mqtt_user: str | None = None
    mqtt_password_file: Path | None = None
    mqtt_prefix: str = DEFAULT_PREFIX
    json: bool = False
    once: bool = False
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.seconds is not None and not self.seconds > 0:
            raise UsageError(f"--seconds {self.seconds}: expected a number of seconds above 0")
        self.broker()  # refuses a bad URL, CA file or password file, naming the flag
        check_prefix(self.mqtt_prefix)

    def broker(self) -> Broker:
        """The broker to connect to, read from the flags as the device reads its own."""
        return broker_of(self.mqtt, self.mqtt_ca, self.mqtt_user, self.mqtt_password_file)


@app.command()
def fleet_command(
    mqtt: Annotated[str, typer.Option(
        "--mqtt", metavar="URL", help="The broker: mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (user@ allowed; "
        "the password comes from --mqtt-password-file or ANTBEE_MQTT_PASSWORD).")] = DEFAULT_URL,
    mqtt_ca: Annotated[Path | None, typer.Option(
        "--mqtt-ca", metavar="FILE", help="The broker's CA certificate (PEM) for mqtts://.")] = None,
    mqtt_user: Annotated[str | None, typer.Option(
        "--mqtt-user", metavar="USER", help="The broker user name.")] = None,
    mqtt_password_file: Annotated[Path | None, typer.Option(
        "--mqtt-password-file", metavar="FILE", help="A file holding the broker password.")] = None,
    mqtt_prefix: Annotated[str, typer.Option(
        "--mqtt-prefix", metavar="PREFIX", help="The devices' topic prefix.")] = DEFAULT_PREFIX,
    json_lines: Annotated[bool, typer.Option(
        "--json", help="One JSON object per update on stdout (the device's whole picture), not a table.")] = False,
    once: Annotated[bool, typer.Option(
        "--once", help="Print the retained picture (status, model, state) and exit.")] = False,
    seconds: Annotated[float | None, typer.Option(
        "--seconds", metavar="S", help="Watch for this long, then print the picture and exit.")] = None,
    verbose: Verbose = False,
) -> None:
    """Show each device on the broker: status, model, state per source and last event (a view; it publishes nothing
    but its own end-of-retained marker)."""
    with user_errors(PROG):
        options = FleetOptions(mqtt=mqtt, mqtt_ca=mqtt_ca, mqtt_user=mqtt_user, mqtt_password_file=mqtt_password_file,
                               mqtt_prefix=mqtt_prefix, json=json_lines, once=once, seconds=seconds)
        require("paho.mqtt.client", "mqtt", PROG, "paho-mqtt")
        from antbee.fleet.show import show

        show(options)


def main() -> None:
    """Console-script entry point."""
    run(app, PROG, writes_files=False)
