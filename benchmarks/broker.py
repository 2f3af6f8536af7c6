"""A Mosquitto broker for the fleet benchmark: on a free loopback port, persistent, stoppable and restartable."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

from antbee.common.errors import AntbeeError, UsageError

MOSQUITTO = "/usr/sbin/mosquitto"
START_TIMEOUT_S = 10.0


class FleetError(AntbeeError):
    """The fleet run could not go on: the broker, a device or the subscriber failed to start."""

    exit_code = 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mosquitto_path() -> str:
    """Where mosquitto is (its usual Debian place, else on PATH); a UsageError saying how to get it if absent."""
    found = MOSQUITTO if Path(MOSQUITTO).is_file() else shutil.which("mosquitto")
    if found is None:
        raise UsageError("the fleet benchmark needs a Mosquitto broker: apt-get install mosquitto")
    return found


class Broker:
    """mosquitto on 127.0.0.1:`port` with persistence in `folder`, so that a restart keeps the queued QoS 1
    messages of persistent sessions (as a real broker restart does)."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.config = folder / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                               f"persistence_location {folder}/\nautosave_interval 1\n"
                               f"log_dest file {folder}/mosquitto.log\n"
                               # as root it would switch to a mosquitto user that cannot write `folder`
                               f"user {getpass.getuser()}\n"
                               "max_queued_messages 0\n", encoding="utf-8")  # keep a subscriber's whole backlog
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The URL antbee-edge --mqtt takes."""
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Broker:
        """Start mosquitto and wait until it accepts connections."""
        self.process = subprocess.Popen([mosquitto_path(), "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise FleetError(f"mosquitto did not start on port {self.port} (see {self.folder}/mosquitto.log)")

    def stop(self) -> None:
        """Stop mosquitto (SIGTERM: it writes its persistence file on the way out)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
