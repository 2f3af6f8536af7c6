"""A Mosquitto broker on a free 127.0.0.1 port: persistent, stoppable and restartable on the same port; anonymous,
or with users and TLS. The fleet benchmark's broker and the tests'."""

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
LOG_TAIL = 5  # lines of mosquitto's log in the error when it does not start


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
    messages of persistent sessions (as a real broker restart does). Anonymous, or with `users` ({name: password})
    and TLS: a CA made here (its file is `ca`) signs the broker's certificate for 127.0.0.1."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.port = folder, free_port()
        self.ca: Path | None = None
        secured = ""
        if users:
            self.ca = make_certificates(folder)
            secured = (f"cafile {self.ca}\ncertfile {folder}/server.pem\nkeyfile {folder}/server.key\n"
                       f"password_file {password_file(folder, users)}\n")
        self.config = folder / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous {'false' if users else 'true'}\n"
                               f"{secured}persistence true\npersistence_location {folder}/\nautosave_interval 1\n"
                               f"log_dest file {folder}/mosquitto.log\n"
                               # as root it would switch to a mosquitto user that cannot write `folder`
                               f"user {getpass.getuser()}\n"
                               "max_queued_messages 0\n", encoding="utf-8")  # keep a subscriber's whole backlog
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The URL antbee-edge --mqtt takes."""
        return f"{'mqtts' if self.ca else 'mqtt'}://127.0.0.1:{self.port}"

    def start(self) -> Broker:
        """Start mosquitto (again on the same port after a stop) and wait until it accepts connections."""
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
        tail = " | ".join(self.log().strip().splitlines()[-LOG_TAIL:])
        raise FleetError(f"mosquitto did not start on port {self.port}: {tail or 'no log'} "
                         f"(see {self.folder}/mosquitto.log)")

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

    def log(self) -> str:
        """What mosquitto has logged so far."""
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


def password_file(folder: Path, users: dict[str, str]) -> Path:
    """mosquitto's password file for `users` ({name: password}), made with mosquitto_passwd."""
    passwords = folder / "passwords"
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    for name, password in users.items():
        subprocess.run([tool, "-b", *(() if passwords.exists() else ("-c",)), str(passwords), name, password],
                       check=True, capture_output=True)
    return passwords


def make_certificates(folder: Path) -> Path:
    """A CA and a server certificate for 127.0.0.1 signed by it (openssl), in `folder`; returns the CA's file."""
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=antbee test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                                       "authorityKeyIdentifier=keyid,issuer\nsubjectKeyIdentifier=hash\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    return folder / "ca.pem"
