"""The fleet benchmark's result: the counting of what arrived, fleet.json and the table for stdout."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # results brings numpy, which antbee-bench --help does without
    from antbee.benchmarks.results import Stats

REPORT = "fleet.json"
SHOWN_DEVICES = 4  # the table lists each device up to this many, then only min, mean and max (fleet.json has all)


class Outage(NamedTuple):
    """The broker's stop mid-run (epoch seconds): from its stop until every device was back online."""

    stopped: float
    back: float
    reconnect_s: float | None  # from the restart until every device was back; None if some never came back


class Usage(NamedTuple):
    """One device process over the measured run: CPU seconds, resident memory now and at its peak (MB)."""

    cpu_s: float
    rss_mb: float
    peak_rss_mb: float


@dataclass(frozen=True)
class DeviceUsage:
    """One device process over the measured run: events it logged, CPU seconds and share, memory (MB)."""

    device: str
    events: int
    cpu_s: float
    cpu_percent: float
    rss_mb: float
    peak_rss_mb: float


@dataclass(frozen=True)
class FleetResult:
    """What the fleet run measured; latencies in ms from an event's `time` to its arrival at the subscriber."""

    devices: int
    seconds: float
    camera_fps: float
    model: str
    published: int  # seq 1..N summed over the devices' event logs
    delivered: int  # distinct (device, seq) received
    duplicates: int  # received more than once (at least once delivery; seq lets a subscriber drop them)
    lost: int  # published but never received: must be 0
    events_per_s: float  # events made during the measured run and delivered, over its seconds
    latency: Stats | None  # events made while the device was connected
    backlog: Stats | None  # events made from the broker's stop until the device was back: sent after the restart
    broker_restarts: int
    broker_down_s: float
    reconnect_s: float | None  # from the broker's restart until every device had said `online` again
    broker_cpu_s: float  # Mosquitto over the measured run (both of its processes when it restarted)
    broker_rss_mb: float  # its resident memory at the end
    usage: tuple[DeviceUsage, ...]


def fleet_result(options, arrivals, published: dict[str, int], lost: int, run: tuple[float, float],
                 outage: Outage | None, usage: dict[str, Usage], broker_use: tuple[float, float]) -> FleetResult:
    """The figures from what arrived; `options` are the run's FleetOptions, `run` the measured run (epoch
    seconds), `usage` each device's over it, `broker_use` Mosquitto's (CPU s, RSS MB)."""
    from antbee.benchmarks.results import stats

    wall = run[1] - run[0]
    first: dict[tuple[str, int], object] = {}
    for arrival in arrivals:
        first.setdefault((arrival.device, arrival.seq), arrival)
    in_run = sum(run[0] <= a.time <= run[1] for a in first.values())
    made_while_down = {key: outage is not None and outage.stopped <= a.time <= outage.back
                       for key, a in first.items()}
    during = [a for key, a in first.items() if made_while_down[key]]
    steady = [a for key, a in first.items() if not made_while_down[key]]
    latency = stats([(a.arrived - a.time) * 1000 for a in steady]) if steady else None
    backlog = stats([(a.arrived - a.time) * 1000 for a in during]) if during else None
    rows = tuple(DeviceUsage(name, published[name], round(u.cpu_s, 2), round(100 * u.cpu_s / wall, 1),
                             round(u.rss_mb, 1), round(u.peak_rss_mb, 1)) for name, u in usage.items())
    return FleetResult(options.devices, round(wall, 1), options.fps, options.model.name, sum(published.values()),
                       len(first), len(arrivals) - len(first), lost, round(in_run / wall, 2), latency, backlog,
                       int(outage is not None), options.broker_down, outage and outage.reconnect_s, *broker_use, rows)


def write_report(result: FleetResult, out: Path) -> Path:
    """fleet.json in `out`."""
    from antbee.common.files import write_atomic

    return write_atomic(out / REPORT, json.dumps(asdict(result), indent=2) + "\n")


def _usage_line(name: str, events, cpu_s, cpu_percent, rss_mb, peak_mb) -> str:
    return f"  {name:<10} {events:>6.0f} {cpu_s:>6.1f} {cpu_percent:>6.1f} {rss_mb:>7.1f} {peak_mb:>8.1f}"


def table_lines(result: FleetResult) -> list[str]:
    """The result as a readable table for stdout."""
    def ms(s: Stats | None) -> str:
        return "-" if s is None else f"p50 {s.median_ms:.0f} ms, p99 {s.p99_ms:.0f} ms, max {s.max_ms:.0f} ms (n={s.n})"

    lines = [f"fleet: {result.devices} devices x {result.camera_fps:g} fps ({result.model}), {result.seconds:g} s, "
             f"broker down {result.broker_down_s:g} s x {result.broker_restarts}"
             + ("" if result.reconnect_s is None else
                f", every device back {result.reconnect_s:g} s after the restart"),
             f"  events published {result.published}, delivered {result.delivered} "
             f"({result.events_per_s:g}/s), duplicates {result.duplicates}, lost {result.lost}",
             f"  broker: {result.broker_cpu_s:g} CPU s ({100 * result.broker_cpu_s / result.seconds:.1f}% of a core), "
             f"{result.broker_rss_mb:g} MB resident",
             f"  latency, device connected:      {ms(result.latency)}",
             f"  latency, made during the outage: {ms(result.backlog)}",
             "  device     events  cpu s  cpu %  rss MB  peak MB"]
    rows = list(result.usage) if len(result.usage) <= SHOWN_DEVICES else []
    lines += [_usage_line(u.device, u.events, u.cpu_s, u.cpu_percent, u.rss_mb, u.peak_rss_mb) for u in rows]
    if result.usage:
        columns = list(zip(*[(u.events, u.cpu_s, u.cpu_percent, u.rss_mb, u.peak_rss_mb) for u in result.usage]))
        for name, pick in (("min", min), ("mean", lambda xs: sum(xs) / len(xs)), ("max", max)):
            lines.append(_usage_line(name, *(pick(column) for column in columns)))
    lines.append("  zero loss: " + ("yes" if result.lost == 0 else f"NO ({result.lost} events lost)"))
    return lines
