"""Fleet model rollout: a {"url", "sha256"} message is downloaded (size-limited), hash-checked, offered to the slot."""

from __future__ import annotations

import hashlib
import json
import queue
import re
import threading
import urllib.error
import urllib.request
from typing import Callable, NamedTuple

from antbee.common.errors import UsageError
from antbee.edge.modelswap import ModelSlot, Outcome

MAX_MODEL_BYTES = 100 * 1024 * 1024
DOWNLOAD_TIMEOUT_S = 60.0
CHUNK = 1 << 16
STOP_WAIT_S = 5.0  # at a stop, how long a rollout under way may still take
SHA256 = re.compile(r"[0-9a-f]{64}")


class Request(NamedTuple):
    """One rollout message: where the model is and the sha256 it must have."""

    url: str
    sha256: str


def parse_request(payload: bytes, topic: str) -> Request:
    """A rollout message's JSON as a Request; UsageError saying what was expected otherwise."""
    try:
        message = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        message = None
    if not isinstance(message, dict) or not isinstance(message.get("url"), str) or \
            not isinstance(message.get("sha256"), str):
        raise UsageError(f"{topic}: expected a JSON object {{\"url\": ..., \"sha256\": ...}}")
    url, sha256 = message["url"], message["sha256"].lower()
    if not re.match(r"https?://[^/]", url):
        raise UsageError(f"{topic}: url {url!r}: expected an http:// or https:// URL")
    if not SHA256.fullmatch(sha256):
        raise UsageError(f"{topic}: sha256 {message['sha256']!r}: expected 64 hexadecimal digits")
    return Request(url, sha256)


def download(url: str, limit: int = MAX_MODEL_BYTES, timeout: float = DOWNLOAD_TIMEOUT_S) -> bytes:
    """The body at `url`, refused (UsageError) past `limit` bytes, on an HTTP error or after `timeout` s of silence."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the scheme is checked
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise UsageError(f"{url}: {int(declared)} bytes, over the {limit}-byte limit for a model")
            chunks, size = [], 0
            while chunk := response.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise UsageError(f"{url}: more than the {limit}-byte limit for a model")
                chunks.append(chunk)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise UsageError(f"{url}: cannot download it ({getattr(exc, 'reason', None) or exc})") from None
    return b"".join(chunks)


class Rollout:
    """Takes rollout messages from the MQTT thread and handles them one at a time on a thread of its own."""

    def __init__(self, slot: ModelSlot, report: Callable[[Outcome], None], limit: int = MAX_MODEL_BYTES,
                 timeout: float = DOWNLOAD_TIMEOUT_S):
        self._slot = slot
        self._report = report
        self._limit, self._timeout = limit, timeout
        self._refused: set[str] = set()  # hashes that failed the hash check or the slot's checks
        self._malformed: set[tuple[str, bytes]] = set()  # retained bad messages come again on every reconnect
        self._stopped = threading.Event()
        self._queue: queue.Queue[tuple[bytes, str] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="antbee-mqtt-rollout", daemon=True)

    def start(self) -> None:
        """Start handling messages."""
        self._thread.start()

    def offer(self, payload: bytes, topic: str) -> None:
        """Queue one message (quick: called on paho's network thread); an empty one (a cleared retain) is ignored."""
        if payload:
            self._queue.put((payload, topic))

    def stop(self, timeout: float = STOP_WAIT_S) -> None:
        """Stop after the message under way; a download still going after `timeout` s is abandoned unreported."""
        self._stopped.set()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            outcome = self.handle(*item)
            if outcome is not None and not self._stopped.is_set():
                self._report(outcome)

    def handle(self, payload: bytes, topic: str) -> Outcome | None:
        """What becomes of one message: None if there is nothing to do (the model runs already, or was refused)."""
        if (topic, payload) in self._malformed:
            return None
        try:
            request = parse_request(payload, topic)
        except UsageError as exc:
            self._malformed.add((topic, payload))
            return Outcome(False, topic, "", str(exc))
        if request.sha256 == self._slot.sha256 or request.sha256 in self._refused:
            return None
        try:
            content = download(request.url, self._limit, self._timeout)
        except UsageError as exc:
            return Outcome(False, request.url, request.sha256, str(exc))  # may work next time: not remembered
        actual = hashlib.sha256(content).hexdigest()
        if actual != request.sha256:
            self._refused.add(request.sha256)
            return Outcome(False, request.url, actual, f"its sha256 is {actual}, not the {request.sha256} asked for")
        outcome = self._slot.consider(content, request.url)
        if not outcome.accepted:
            self._refused.add(request.sha256)
        return outcome
