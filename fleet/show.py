"""The two ways antbee-fleet shows the fleet: JSON lines per update, or a Rich table (live, or once at the end)."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.live import Live

from antbee.fleet.table import fleet_table
from antbee.fleet.watch import IncompleteError, Picture, once_limit, watch


def show(options) -> None:
    """Watch the broker `options` names and print the fleet as they ask (JSON lines or a table)."""
    broker, prefix = options.broker(), options.mqtt_prefix
    title = f"antbee fleet on {broker.host}:{broker.port} ({prefix}/...)"
    if options.json:
        def line(device) -> None:
            sys.stdout.write(json.dumps(device.as_json(), sort_keys=True) + "\n")
            sys.stdout.flush()

        _complete(watch(broker, prefix, line, options.once, options.seconds), options)
        return
    console = Console()
    if options.once or options.seconds is not None:
        picture = watch(broker, prefix, lambda device: None, options.once, options.seconds)
        console.print(fleet_table(picture.devices.values(), title))
        _complete(picture, options)
        return
    seen = {}

    def redraw(device) -> None:
        seen[device.device] = device
        live.update(fleet_table(seen.values(), title), refresh=True)

    with Live(fleet_table((), title), console=console, auto_refresh=False) as live:
        watch(broker, prefix, redraw)


def _complete(picture: Picture, options) -> None:
    """IncompleteError (after the picture is out) when --once timed out before the end of the retained messages."""
    if not picture.complete:
        raise IncompleteError(f"--once: the end of the retained messages did not arrive within "
                              f"{once_limit(options.seconds):g} s (a slow "
                              "broker, or one that drops our own echo): the picture printed may be incomplete")
