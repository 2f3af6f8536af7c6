"""The --mqtt settings: a frozen MqttOptions checked where the flags enter, and the broker address they name."""

from __future__ import annotations

import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from antbee.common.errors import UsageError

DEFAULT_PREFIX = "antbee"
DEFAULT_KEEPALIVE_S = 30
PASSWORD_ENV = "ANTBEE_MQTT_PASSWORD"
PORTS = {"mqtt": 1883, "mqtts": 8883}


class Broker(NamedTuple):
    """Where and how to connect: host, port, TLS (with an optional CA file), user and password."""

    host: str
    port: int
    tls: bool
    ca: Path | None
    user: str | None
    password: str | None


@dataclass(frozen=True)
class MqttOptions:
    """The MQTT flags, one field each: --mqtt, --mqtt-ca, --mqtt-user, --mqtt-password-file, --device-id,
    --group, --mqtt-prefix, --mqtt-frames, --mqtt-keepalive."""

    mqtt: str
    mqtt_ca: Path | None = None
    mqtt_user: str | None = None
    mqtt_password_file: Path | None = None
    device_id: str | None = None
    group: str | None = None
    mqtt_prefix: str = DEFAULT_PREFIX
    mqtt_frames: bool = False
    mqtt_keepalive: int = DEFAULT_KEEPALIVE_S

    def __post_init__(self) -> None:
        self.broker()  # refuses a bad URL, CA file or password file, naming the flag
        check_name("--device-id", self.device)
        if self.group is not None:
            check_name("--group", self.group)
        check_prefix(self.mqtt_prefix)
        if not 5 <= self.mqtt_keepalive <= 65535:
            raise UsageError(f"--mqtt-keepalive {self.mqtt_keepalive}: expected seconds between 5 and 65535")

    @property
    def device(self) -> str:
        """The device id: --device-id, else this machine's host name."""
        return self.device_id if self.device_id is not None else socket.gethostname()

    def broker(self) -> Broker:
        """The broker the flags name (the password read from its file or ANTBEE_MQTT_PASSWORD)."""
        return broker_of(self.mqtt, self.mqtt_ca, self.mqtt_user, self.mqtt_password_file)


def broker_of(mqtt: str, ca: Path | None = None, user: str | None = None,
              password_file: Path | None = None) -> Broker:
    """The broker that --mqtt, --mqtt-ca, --mqtt-user and --mqtt-password-file name; UsageError naming the flag."""
    url = urlsplit(mqtt)
    try:
        port = url.port
    except ValueError:
        port = -1
    if url.scheme not in PORTS or not url.hostname or port == -1 or url.path not in ("", "/") or \
            url.query or url.fragment:
        raise UsageError(f"--mqtt {mqtt!r}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
    if url.password is not None:
        raise UsageError(f"--mqtt {url.scheme}://{url.hostname}...: a password in the URL is refused (it shows in "
                         f"the process list); put it in a file named by --mqtt-password-file or in {PASSWORD_ENV}")
    tls = url.scheme == "mqtts"
    if ca is not None:
        _check_ca(ca, tls)
    if user is None and url.username:
        user = unquote(url.username)
    return Broker(url.hostname, port or PORTS[url.scheme], tls, ca, user, _password(password_file))


def client_for(broker: Broker, client_id: str):
    """A paho client (MQTT 3.1.1, callback API 2) set up for `broker`: its user, password and TLS."""
    from paho.mqtt.client import CallbackAPIVersion, Client

    client = Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    if broker.user is not None:
        client.username_pw_set(broker.user, broker.password)
    if broker.tls:
        client.tls_set(ca_certs=None if broker.ca is None else str(broker.ca))
    return client


def _check_ca(ca: Path, tls: bool) -> None:
    if not tls:
        raise UsageError(f"--mqtt-ca {ca}: expected an mqtts:// URL to go with it")
    if not ca.is_file():
        raise UsageError(f"--mqtt-ca {ca}: not a file (expected the broker's CA certificate, PEM)")
    try:  # what paho's tls_set does with it later, where a bad file would be a traceback
        ssl.create_default_context(cafile=str(ca))
    except (ssl.SSLError, OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--mqtt-ca {ca}: not a CA certificate paho can use ({exc}); expected the broker's "
                         "CA certificate, PEM") from None


def _password(password_file: Path | None) -> str | None:
    if password_file is None:
        return os.environ.get(PASSWORD_ENV) or None
    try:
        text = password_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--mqtt-password-file {password_file}: cannot read it ({exc})") from None
    password = text.rstrip("\r\n")
    if not password:
        raise UsageError(f"--mqtt-password-file {password_file}: empty (expected the password)")
    return password


def check_prefix(prefix: str) -> None:
    """Refuse a topic prefix that is empty, holds + or #, or starts or ends with / (UsageError naming the flag)."""
    if not prefix or any(c in prefix for c in "+#") or prefix.startswith("/") or prefix.endswith("/"):
        raise UsageError(f"--mqtt-prefix {prefix!r}: expected a topic prefix such as antbee "
                         "(not empty, no + or #, no leading or trailing /)")


def without_mqtt(flags: dict) -> None:
    """Refuse MQTT flags given without --mqtt (UsageError naming the first one)."""
    defaults = {"mqtt_prefix": DEFAULT_PREFIX, "mqtt_frames": False, "mqtt_keepalive": DEFAULT_KEEPALIVE_S}
    for name, value in flags.items():
        if value != defaults.get(name):
            raise UsageError(f"--{name.replace('_', '-')} without --mqtt: expected --mqtt URL too")


def check_name(flag: str, name: str) -> None:
    """Refuse a topic level that is empty or holds /, + or # (UsageError naming `flag`)."""
    if not name or any(c in name for c in "/+#") or not name.isprintable():
        raise UsageError(f"{flag} {name!r}: expected a name usable as one MQTT topic level "
                         "(not empty, no /, + or #)")
