"""The two ways antbee-fleet shows the fleet: JSON lines per update, or a Rich table (live, or once at the end)."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.live import Live

from antbee.fleet.table import fleet_table
from antbee.fleet.watch import watch


def show(options) -> None:
    """Watch the broker `options` names and print the fleet as they ask (JSON lines or a table)."""
    broker, prefix = options.broker(), options.mqtt_prefix
    title = f"antbee fleet on {broker.host}:{broker.port} ({prefix}/...)"
    if options.json:
        def line(device) -> None:
            sys.stdout.write(json.dumps(device.as_json(), sort_keys=True) + "\n")
            sys.stdout.flush()

        watch(broker, prefix, line, options.once, options.seconds)
        return
    console = Console()
    if options.once or options.seconds is not None:
        devices = watch(broker, prefix, lambda device: None, options.once, options.seconds)
        console.print(fleet_table(devices.values(), title))
        return
    seen = {}

    def redraw(device) -> None:
        seen[device.device] = device
        live.update(fleet_table(seen.values(), title), refresh=True)

    with Live(fleet_table((), title), console=console, auto_refresh=False) as live:
        watch(broker, prefix, redraw)
