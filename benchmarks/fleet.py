"""The fleet benchmark: N real antbee-edge devices on paced cameras publishing to one Mosquitto, and a subscriber
that records every event: events/s delivered, end-to-end latency, zero loss across a broker restart, and CPU
and RSS per device.

Each device is `python -m antbee.edge --video <its MJPEG stream> --events <its log> --mqtt <broker>`; the
streams alternate ants and bees every PERIOD seconds so that label events happen. Mid-run the broker is
stopped for --broker-down seconds and started again. At the end the devices stop with Ctrl-C (a clean exit
sends the backlog) and every seq 1..N of each device's event log must have reached the subscriber.
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from antbee.benchmarks.broker import FleetError
from antbee.benchmarks.procstat import cpu_s, memory_mb
from antbee.benchmarks.results import Stats, stats
from antbee.common.errors import UsageError

REPORT = "fleet.json"
PERIOD_S = 4.0  # each camera shows one class this long, then the other
DEBOUNCE_FRAMES = 3
KEEPALIVE_S = 10
ONLINE_TIMEOUT_S = 180.0  # loading the interpreter in many processes at once on a small machine is slow
DRAIN_TIMEOUT_S = 60.0
SHOWN_DEVICES = 4  # the table lists each device up to this many, then only min, mean and max (fleet.json has all)
SMOKE = {"devices": 2, "seconds": 8.0, "broker_down": 2.0}


@dataclass(frozen=True)
class FleetOptions:
    """The flags of `antbee-bench fleet`, one field each."""

    model: Path
    out: Path
    devices: int = 10
    seconds: float = 60.0
    fps: float = 3.0
    broker_down: float = 10.0
    threads: int = 1

    def __post_init__(self) -> None:
        if self.devices < 1:
            raise UsageError(f"--devices {self.devices}: expected at least 1")
        if not self.fps > 0:
            raise UsageError(f"--fps {self.fps}: expected frames per second above 0")
        if self.broker_down < 0 or not self.seconds > self.broker_down:
            raise UsageError(f"--seconds {self.seconds} --broker-down {self.broker_down}: expected a run longer "
                             "than the outage, and an outage of 0 (none) or more seconds")
        if not self.model.is_file():
            raise UsageError(f"--model {self.model}: not a file (expected a .tflite model)")


class Outage(NamedTuple):
    """The broker's stop mid-run (epoch seconds): from its stop until every device was back online."""

    stopped: float
    back: float
    reconnect_s: float | None  # from the restart until every device was back; None if some never came back


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


def _last_seq(events: Path) -> int:
    with sqlite3.connect(f"file:{events}?mode=ro", uri=True) as db:
        return db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]


def _device(options: FleetOptions, name: str, stream: str, broker: str, events: Path, log: Path):
    command = [sys.executable, "-m", "antbee.edge", "--video", stream, "--model", str(options.model),
               "--threads", str(options.threads), "--events", str(events), "--mqtt", broker, "--device-id", name,
               "--mqtt-keepalive", str(KEEPALIVE_S), "--debounce-frames", str(DEBOUNCE_FRAMES)]
    with log.open("wb") as stderr:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)


def _wait_online(recorder, processes: dict, logs: dict, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(recorder.online) < len(processes):
        for name, process in processes.items():
            if process.poll() is not None:
                tail = logs[name].read_text(errors="replace").strip().splitlines()[-3:]
                raise FleetError(f"device {name} exited with {process.returncode}: {' | '.join(tail)}")
        if time.monotonic() > deadline:
            raise FleetError(f"only {len(recorder.online)} of {len(processes)} devices came online "
                             f"in {timeout:.0f} s")
        time.sleep(0.2)


def run_fleet(options: FleetOptions, progress=print) -> FleetResult:
    """Start the broker, the streams, the subscriber and the devices; run, restart the broker, stop, count."""
    from antbee.benchmarks.broker import Broker
    from antbee.benchmarks.mjpeg import AlternatingStreams, jpeg
    from antbee.benchmarks.recorder import Recorder

    samples = resources.files("antbee.edge").joinpath("samples")
    work = options.out / "fleet-run"
    shutil.rmtree(work, ignore_errors=True)  # the last run's broker store and event logs would be counted again
    work.mkdir(parents=True)
    broker = Broker(work).start()
    pictures = [jpeg(Path(str(samples / name))) for name in ("ant_1.jpg", "bee_1.jpg")]
    streams = AlternatingStreams(pictures, options.fps, PERIOD_S).start()
    recorder = Recorder(broker.port).start()
    names = [f"bench-{index:02d}" for index in range(options.devices)]
    logs = {name: work / f"{name}.log" for name in names}
    events = {name: work / f"{name}.db" for name in names}
    processes = {}
    try:
        for name in names:
            processes[name] = _device(options, name, streams.url(name), broker.url, events[name], logs[name])
        progress(f"{options.devices} devices starting")
        _wait_online(recorder, processes, logs, ONLINE_TIMEOUT_S)
        progress(f"{options.devices} devices online; running {options.seconds:.0f} s")
        cpu0 = {name: cpu_s(p.pid) for name, p in processes.items()}
        broker_cpu = -cpu_s(broker.process.pid)
        start = time.time()
        outage = None
        if options.broker_down > 0:
            time.sleep((options.seconds - options.broker_down) / 2)
            progress(f"broker stopped for {options.broker_down:.0f} s")
            broker_cpu += cpu_s(broker.process.pid)  # the first process's share; the second's is added at the end
            outage = _restart(broker, recorder, names, options.broker_down)
            broker_cpu -= cpu_s(broker.process.pid)
        time.sleep(max(0.0, start + options.seconds - time.time()))
        wall = time.time() - start
        usage = {name: (cpu_s(p.pid) - cpu0[name], *memory_mb(p.pid)) for name, p in processes.items()}
        broker_use = (round(broker_cpu + cpu_s(broker.process.pid), 2), round(memory_mb(broker.process.pid)[0], 1))
        progress("stopping the devices (a clean exit sends the backlog)")
        for process in processes.values():
            process.send_signal(signal.SIGINT)
        for name, process in processes.items():
            try:
                process.wait(timeout=DRAIN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise FleetError(f"device {name} did not exit within {DRAIN_TIMEOUT_S:.0f} s of Ctrl-C "
                                 f"(see {logs[name]})") from None
        published = {name: _last_seq(events[name]) for name in names}
        lost = recorder.wait_for(published, DRAIN_TIMEOUT_S)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        recorder.stop()
        streams.stop()
        broker.stop()
    return _result(options, recorder.arrivals, published, lost, (start, start + wall), outage, usage, broker_use)


def _restart(broker, recorder, names: list[str], down_s: float) -> Outage:
    """Stop the broker for `down_s` seconds, start it again and wait until every device is back online."""
    stopped = time.time()
    broker.stop()
    time.sleep(down_s)
    broker.start()
    restarted = time.time()
    back = recorder.back_online(names, restarted, ONLINE_TIMEOUT_S)
    return Outage(stopped, time.time(), None) if back is None else Outage(stopped, back, round(back - restarted, 2))


def _result(options, arrivals, published, lost, run: tuple[float, float], outage: Outage | None, usage,
            broker_use) -> FleetResult:
    """The figures from what arrived; `run` is the measured run (epoch seconds), `usage` is {device: (CPU s,
    RSS MB, peak MB)} over it, `broker_use` is Mosquitto's (CPU s, RSS MB)."""
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
    rows = tuple(DeviceUsage(name, published[name], round(cpu, 2), round(100 * cpu / wall, 1), round(rss, 1),
                             round(peak, 1)) for name, (cpu, rss, peak) in usage.items())
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
