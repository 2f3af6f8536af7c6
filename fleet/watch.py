"""Subscribe to the fleet's topics and fold what arrives into the fleet picture, calling back on each change."""

from __future__ import annotations

import queue
import ssl
import time
import uuid
from collections.abc import Callable
from typing import NamedTuple

from antbee.common.errors import AntbeeError
from antbee.edge.mqtt.options import DEFAULT_KEEPALIVE_S, Broker, client_for
from antbee.fleet.view import Device, fold, subscriptions

ONCE_TIMEOUT_S = 10.0  # --once gives up waiting for the retained picture after this long
CONNECT_TIMEOUT_S = 10.0
_SYNC = "_fleet"  # <prefix>/_fleet/<client id>/sync: our own echo, which ends the retained messages


class BrokerError(AntbeeError):
    """The broker could not be reached or refused us."""


class IncompleteError(AntbeeError):
    """--once gave up before the end of the retained picture: what it printed may lack devices (exit 1)."""

    exit_code = 1


class Picture(NamedTuple):
    """The devices seen, and whether the retained picture is known to be complete (our echo came back)."""

    devices: dict[str, Device]
    complete: bool


def watch(broker: Broker, prefix: str, on_change: Callable[[Device], None], once: bool = False,
          seconds: float | None = None) -> Picture:
    """Follow the fleet under `prefix` until `seconds` pass (forever if None) or, with `once`, until the
    retained picture is in (or ONCE_TIMEOUT_S pass: then it is not `complete`); return what was seen.

    The end of the retained picture: after subscribing, we publish to a topic of our own that we also
    subscribe to; the broker sends a subscription's retained messages before anything published after it,
    so our echo arrives last (a broker whose ACL drops the echo leaves --once to its timeout)."""
    client_id = f"antbee-fleet-{uuid.uuid4().hex[:12]}"
    sync = f"{prefix}/{_SYNC}/{client_id}/sync"
    inbox: queue.Queue = queue.Queue()
    client = client_for(broker, client_id)

    def on_connect(client, userdata, flags, reason, properties):
        if reason.is_failure:
            inbox.put(("refused", str(reason)))
            return
        client.subscribe([(topic, 0) for topic in subscriptions(prefix)] + [(sync, 1)])

    def on_subscribe(client, userdata, mid, reasons, properties):
        client.publish(sync, b"", qos=1)

    client.on_connect, client.on_subscribe = on_connect, on_subscribe
    client.on_message = lambda client, userdata, message: inbox.put((message.topic, message.payload))
    try:
        client.connect(broker.host, broker.port, keepalive=DEFAULT_KEEPALIVE_S)
    except (OSError, ssl.SSLError) as exc:
        raise BrokerError(f"--mqtt {broker.host}:{broker.port}: cannot connect ({exc})") from None
    client.loop_start()
    try:
        return _follow(inbox, prefix, sync, on_change, once, seconds)
    finally:
        client.disconnect()
        client.loop_stop()


def once_limit(seconds: float | None) -> float:
    """How long --once waits for the end of the retained picture: --seconds if given, else ONCE_TIMEOUT_S."""
    return seconds if seconds is not None else ONCE_TIMEOUT_S


def _follow(inbox: queue.Queue, prefix: str, sync: str, on_change, once: bool, seconds: float | None) -> Picture:
    devices: dict[str, Device] = {}
    limit = once_limit(seconds) if once else seconds
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
                return Picture(devices, True)
            continue
        changed = fold(devices, prefix, topic, payload)
        if changed is not None:
            on_change(changed)
    return Picture(devices, not once)
