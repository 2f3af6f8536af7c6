"""Subscribe to the fleet's topics and fold what arrives into the fleet picture, calling back on each change."""

from __future__ import annotations

import queue
import ssl
import time
import uuid
from collections.abc import Callable

from antbee.common.errors import AntbeeError
from antbee.fleet.view import SUBSCRIPTIONS, Device, fold

ONCE_TIMEOUT_S = 10.0  # --once gives up waiting for the retained picture after this long
CONNECT_TIMEOUT_S = 10.0
_SYNC = "_fleet"  # <prefix>/_fleet/<client id>/sync: our own echo, which ends the retained messages


class BrokerError(AntbeeError):
    """The broker could not be reached or refused us."""


def _client(broker, client_id: str):
    from paho.mqtt.client import CallbackAPIVersion, Client

    client = Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    if broker.user is not None:
        client.username_pw_set(broker.user, broker.password)
    if broker.tls:
        client.tls_set(ca_certs=str(broker.ca) if broker.ca else None, cert_reqs=ssl.CERT_REQUIRED)
    return client


def watch(broker, prefix: str, on_change: Callable[[Device], None], once: bool = False,
          seconds: float | None = None) -> dict[str, Device]:
    """Follow the fleet under `prefix` until `seconds` pass (forever if None) or, with `once`, until the
    retained picture is in; return the devices seen.

    The end of the retained picture: after subscribing, we publish to a topic of our own that we also
    subscribe to; the broker sends a subscription's retained messages before anything published after it,
    so our echo arrives last (a broker whose ACL drops the echo leaves --once to its timeout)."""
    client_id = f"antbee-fleet-{uuid.uuid4().hex[:12]}"
    sync = f"{prefix}/{_SYNC}/{client_id}/sync"
    inbox: queue.Queue = queue.Queue()
    client = _client(broker, client_id)

    def on_connect(client, userdata, flags, reason, properties):
        if reason.is_failure:
            inbox.put(("refused", str(reason)))
            return
        client.subscribe([(f"{prefix}/{topic}", 0) for topic in SUBSCRIPTIONS] + [(sync, 1)])

    def on_subscribe(client, userdata, mid, reasons, properties):
        client.publish(sync, b"", qos=1)

    client.on_connect, client.on_subscribe = on_connect, on_subscribe
    client.on_message = lambda client, userdata, message: inbox.put((message.topic, message.payload))
    try:
        client.connect(broker.host, broker.port, keepalive=30)
    except (OSError, ssl.SSLError) as exc:
        raise BrokerError(f"--mqtt {broker.host}:{broker.port}: cannot connect ({exc})") from None
    client.loop_start()
    try:
        return _follow(inbox, prefix, sync, on_change, once, seconds)
    finally:
        client.disconnect()
        client.loop_stop()


def _follow(inbox: queue.Queue, prefix: str, sync: str, on_change, once: bool, seconds: float | None):
    devices: dict[str, Device] = {}
    limit = seconds if seconds is not None else ONCE_TIMEOUT_S if once else None
    deadline = None if limit is None else time.monotonic() + limit
    while deadline is None or time.monotonic() < deadline:
        try:
            topic, payload = inbox.get(timeout=0.2 if deadline is None else max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            continue
        if topic == "refused":
            raise BrokerError(f"the broker refused the connection ({payload})")
        if topic == sync:
            if once:
                break
            continue
        changed = fold(devices, prefix, topic, payload)
        if changed is not None:
            on_change(changed)
    return devices
