"""The fleet benchmark: N real antbee-edge devices on paced cameras publishing to one Mosquitto, and a subscriber
that records every event: events/s delivered, end-to-end latency, zero loss across a broker restart, and CPU
and RSS per device.

Each device is `python -m antbee.edge --video <its MJPEG stream> --events <its log> --mqtt <broker>`; the
streams alternate ants and bees every PERIOD seconds so that label events happen. Mid-run the broker is
stopped for --broker-down seconds and started again. At the end the devices stop with Ctrl-C (a clean exit
sends the backlog) and every seq 1..N of each device's event log must have reached the subscriber.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from antbee.benchmarks.broker import FleetError
from antbee.benchmarks.fleet_report import FleetResult, Outage, Usage, fleet_result
from antbee.benchmarks.procstat import cpu_s, memory_mb
from antbee.common.errors import UsageError

PERIOD_S = 4.0  # each camera shows one class this long, then the other
DEBOUNCE_FRAMES = 3
KEEPALIVE_S = 10
ONLINE_TIMEOUT_S = 180.0  # loading the interpreter in many processes at once on a small machine is slow
DRAIN_TIMEOUT_S = 60.0


class Scale(NamedTuple):
    """How big a fleet run is: devices, measured seconds and the broker's outage within them."""

    devices: int
    seconds: float
    broker_down: float


FULL = Scale(devices=10, seconds=60.0, broker_down=10.0)
SMOKE = Scale(devices=2, seconds=8.0, broker_down=2.0)


def scale(smoke: bool, devices: int | None, seconds: float | None, broker_down: float | None) -> Scale:
    """The run's size: SMOKE's with --smoke (which refuses flags it would override), else FULL's where a flag is
    not given."""
    given = {"--devices": devices, "--seconds": seconds, "--broker-down": broker_down}
    if smoke:
        clash = [flag for flag, value in given.items() if value is not None]
        if clash:
            raise UsageError(f"--smoke with {', '.join(clash)}: --smoke sets --devices {SMOKE.devices}, --seconds "
                             f"{SMOKE.seconds:g} and --broker-down {SMOKE.broker_down:g}; give either --smoke or "
                             "those flags")
        return SMOKE
    return Scale(*(FULL[i] if value is None else value for i, value in enumerate(given.values())))


@dataclass(frozen=True)
class FleetOptions:
    """The flags of `antbee-bench fleet`, one field each."""

    model: Path
    out: Path
    devices: int = FULL.devices
    seconds: float = FULL.seconds
    fps: float = 3.0
    broker_down: float = FULL.broker_down
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


def _last_seq(events: Path) -> int:
    with sqlite3.connect(f"file:{events}?mode=ro", uri=True) as db:
        return db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]


def _device(options: FleetOptions, name: str, stream: str, broker: str, events: Path, log: Path):
    command = [sys.executable, "-m", "antbee.edge", "--video", stream, "--model", str(options.model),
               "--threads", str(options.threads), "--events", str(events), "--mqtt", broker, "--device-id", name,
               "--mqtt-keepalive", str(KEEPALIVE_S), "--debounce-frames", str(DEBOUNCE_FRAMES)]
    with log.open("wb") as stderr:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)


def _check_alive(processes: dict, logs: dict) -> None:
    """A FleetError with the tail of its log if a device has exited."""
    for name, process in processes.items():
        if process.poll() is not None:
            tail = logs[name].read_text(errors="replace").strip().splitlines()[-3:]
            raise FleetError(f"device {name} exited with {process.returncode}: {' | '.join(tail)}")


def _wait_online(recorder, processes: dict, logs: dict, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(recorder.online) < len(processes):
        _check_alive(processes, logs)
        if time.monotonic() > deadline:
            raise FleetError(f"only {len(recorder.online)} of {len(processes)} devices came online "
                             f"in {timeout:.0f} s")
        time.sleep(0.2)


def _usage(processes: dict, logs: dict, cpu0: dict[str, float]) -> dict[str, Usage]:
    """Each device's CPU seconds since `cpu0` and its memory now; a device that died has no memory to read."""
    _check_alive(processes, logs)
    return {name: Usage(cpu_s(p.pid) - cpu0[name], *memory_mb(p.pid)) for name, p in processes.items()}


def _kill(processes: dict) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.kill()
            process.wait()


def run_fleet(options: FleetOptions, progress=print) -> FleetResult:
    """Start the broker, the streams, the subscriber and the devices; run, restart the broker, stop, count."""
    from antbee.benchmarks.broker import Broker
    from antbee.benchmarks.mjpeg import MjpegServer, alternating, jpeg
    from antbee.benchmarks.recorder import Recorder

    samples = resources.files("antbee.edge").joinpath("samples")
    work = options.out / "fleet-run"
    shutil.rmtree(work, ignore_errors=True)  # the last run's broker store and event logs would be counted again
    work.mkdir(parents=True)
    pictures = [jpeg(Path(str(samples / name))) for name in ("ant_1.jpg", "bee_1.jpg")]
    names = [f"bench-{index:02d}" for index in range(options.devices)]
    logs = {name: work / f"{name}.log" for name in names}
    events = {name: work / f"{name}.db" for name in names}
    processes = {}
    with ExitStack() as running:  # stopped in reverse order whatever fails, the devices first
        broker = Broker(work).start()
        running.callback(broker.stop)
        streams = MjpegServer(alternating(pictures, PERIOD_S), options.fps).start()
        running.callback(streams.stop)
        recorder = Recorder(broker.port).start()
        running.callback(recorder.stop)
        running.callback(_kill, processes)
        for name in names:
            processes[name] = _device(options, name, streams.stream_url(name), broker.url, events[name], logs[name])
        progress(f"{options.devices} devices starting")
        _wait_online(recorder, processes, logs, ONLINE_TIMEOUT_S)
        progress(f"{options.devices} devices online; running {options.seconds:.0f} s")
        _check_alive(processes, logs)
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
        usage = _usage(processes, logs, cpu0)
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
    return fleet_result(options, recorder.arrivals, published, lost, (start, start + wall), outage, usage, broker_use)


def _restart(broker, recorder, names: list[str], down_s: float) -> Outage:
    """Stop the broker for `down_s` seconds, start it again and wait until every device is back online."""
    stopped = time.time()
    broker.stop()
    time.sleep(down_s)
    broker.start()
    restarted = time.time()
    back = recorder.back_online(names, restarted, ONLINE_TIMEOUT_S)
    return Outage(stopped, time.time(), None) if back is None else Outage(stopped, back, round(back - restarted, 2))
