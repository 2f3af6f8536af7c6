"""The fleet picture as a Rich table: one row per device."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table

from antbee.fleet.view import Device


def _model(model: dict | None) -> str:
    if not model:
        return "-"
    name, sha = str(model.get("name") or "?"), str(model.get("sha256") or "")
    return f"{name} {sha[:12]}".strip()


def _score(value) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "-"


def _states(states: dict[str, dict]) -> str:
    if not states:
        return "-"
    return "\n".join(f"{source}: {state.get('label', '?')} {_score(state.get('score'))}"
                     for source, state in sorted(states.items()))


def _event(event: dict | None) -> str:
    if not event:
        return "-"
    what = " ".join(str(event[key]) for key in ("kind", "label") if event.get(key) is not None)
    return f"#{event.get('seq', '?')} {what} {_score(event.get('score'))} {event.get('time', '')}".strip()


def fleet_table(devices: Iterable[Device], title: str) -> Table:
    """A table of `devices`, sorted by id: status, model, state per source, last event."""
    table = Table(title=title, title_justify="left")
    for column in ("device", "status", "model", "state", "last event"):
        table.add_column(column)
    for device in sorted(devices, key=lambda d: d.device):
        status = device.status or "?"
        style = "green" if status == "online" else "red" if status == "offline" else ""
        table.add_row(device.device, f"[{style}]{status}[/]" if style else status, _model(device.model),
                      _states(device.states), _event(device.last_event))
    return table
