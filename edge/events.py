"""The event log: an SQLite file (WAL) of classifications, label changes, model updates and per-minute counts."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, NamedTuple

from antbee.common.errors import UsageError

CLASSIFICATION, LABEL, MODEL, SOURCE, COUNTS = "classification", "label", "model", "source", "counts"
NO_CLASS = "(none)"  # the label counted for a result where no class reached the threshold
FILES_SOURCE = "files"  # the source_id of image files classified by a plain antbee-edge run
DEFAULT_KEEP = "30d"
PRUNE_EVERY_S = 3600
MAX_RESULTS = 1000
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# seq is AUTOINCREMENT: SQLite then never hands out a number again, even after old rows are
# pruned, so a subscriber (MQTT) can resume from the last seq it saw. Times are UTC ISO 8601
# with milliseconds and one fixed offset, so they sort and compare as text.
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    time      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    source_id TEXT,
    source    TEXT,
    label     TEXT,
    score     REAL,
    detail    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE TABLE IF NOT EXISTS minute_counts (
    minute    TEXT NOT NULL,
    source_id TEXT NOT NULL,
    label     TEXT NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (minute, source_id, label)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS marks (
    name      TEXT PRIMARY KEY,
    seq       INTEGER NOT NULL
) WITHOUT ROWID;
"""


class Event(NamedTuple):
    """One row of the event log; `detail` is the kind's own record (a classification's --json object, ...)."""

    seq: int
    time: str
    kind: str
    source_id: str | None
    source: str | None
    label: str | None
    score: float | None
    detail: dict[str, Any]


def iso_time(seconds: float) -> str:
    """`seconds` since the epoch as UTC ISO 8601 with milliseconds, the log's one time format."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")


def parse_since(text: str) -> str:
    """An ISO 8601 time from a request (naive means UTC) in the log's format; UsageError if it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"since={text!r}: expected an ISO 8601 time such as 2026-05-01T12:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_age(text: str) -> float:
    """A duration such as 30d, 12h, 90m or 3600s, in seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if not match or float(match[1]) <= 0:
        raise UsageError(f"--events-keep {text!r}: expected a positive age such as 30d, 12h, 90m or 3600s")
    return float(match[1]) * _UNITS[match[2]]


def log_classification(log: EventLog, record: dict[str, Any], source_id: str) -> int:
    """Log one classification (its --json object, or error) as a row and in its minute's count; returns its seq."""
    label = record.get("label")
    if "error" not in record:
        log.count(source_id, label if label is not None else NO_CLASS)
    return log.record(CLASSIFICATION, record, source_id, record.get("source"), label, record.get("score"))


def default_path() -> Path:
    """$XDG_STATE_HOME/antbee/events.db (XDG_STATE_HOME defaults to ~/.local/state)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "antbee" / "events.db"


class EventLog:
    """An SQLite event log that any thread may write to; every record() is committed when it returns.

    WAL with synchronous=NORMAL: a killed process loses nothing committed and never corrupts the
    file; a power cut may lose the last commits, not the file (SQLite's documented guarantee).
    """

    def __init__(self, path: Path, keep_s: float = parse_age(DEFAULT_KEEP), clock=time.time):
        self.path = Path(path)
        self.keep_s = keep_s
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._pruned = 0.0
        self._listeners: list[Callable[[], None]] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(f"--events {self.path}: cannot open the event log ({exc})") from None
        self.prune()

    def record(self, kind: str, detail: dict[str, Any], source_id: str | None = None, source: str | None = None,
               label: str | None = None, score: float | None = None) -> int:
        """Append one event, commit it and return its seq."""
        now = self._clock()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO events (time, kind, source_id, source, label, score, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (iso_time(now), kind, source_id, source, label, score, json.dumps(detail, ensure_ascii=False)))
            seq = cursor.lastrowid
        self._written()
        if now - self._pruned > PRUNE_EVERY_S:
            self.prune()
        return seq

    def on_write(self, listener: Callable[[], None]) -> None:
        """Call `listener` (quick, from the writing thread) after each commit of new events."""
        self._listeners.append(listener)

    def count(self, source_id: str, label: str) -> None:
        """Count one result for its minute; counts are written when the minute is over (and at close)."""
        minute = iso_time(self._clock() // 60 * 60)
        with self._lock:
            flushed = bool(self._counts) and minute not in {key[0] for key in self._counts}
            if flushed:
                self._flush_counts()
            self._counts[(minute, source_id, label)] += 1
        if flushed:
            self._written()

    def events(self, since: str | None = None, limit: int = 100, kinds: tuple[str, ...] = (CLASSIFICATION, LABEL)
               ) -> list[Event]:
        """Events of `kinds` after `since` (oldest first, up to `limit`), or else the latest `limit` ones."""
        marks = ",".join("?" * len(kinds))
        if since is None:
            query = (f"SELECT * FROM (SELECT * FROM events WHERE kind IN ({marks}) ORDER BY seq DESC LIMIT ?) "
                     "ORDER BY seq")
            arguments: tuple = (*kinds, limit)
        else:
            query = f"SELECT * FROM events WHERE kind IN ({marks}) AND time > ? ORDER BY seq LIMIT ?"
            arguments = (*kinds, since, limit)
        with self._lock:
            rows = self._db.execute(query, arguments).fetchall()
        return [Event(*row[:7], json.loads(row[7])) for row in rows]

    def after(self, seq: int, limit: int = 100) -> list[Event]:
        """Events of every kind with a seq above `seq`, oldest first, up to `limit`."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)).fetchall()
        return [Event(*row[:7], json.loads(row[7])) for row in rows]

    def count_after(self, seq: int) -> int:
        """How many events have a seq above `seq`."""
        with self._lock:
            return self._db.execute("SELECT count(*) FROM events WHERE seq > ?", (seq,)).fetchone()[0]

    def mark(self, name: str) -> int:
        """The seq a forwarder `name` has delivered up to. The first time: the newest seq, so that a forwarder
        turned on later starts with the events written from then on."""
        with self._lock:
            row = self._db.execute("SELECT seq FROM marks WHERE name = ?", (name,)).fetchone()
            if row is not None:
                return row[0]
            newest = self._db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
            self._db.execute("INSERT INTO marks VALUES (?, ?)", (name, newest))
            return newest

    def set_mark(self, name: str, seq: int) -> None:
        """Persist that forwarder `name` has delivered every event up to `seq`."""
        with self._lock:
            self._db.execute("INSERT INTO marks VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
                             (name, seq))

    def flush(self) -> None:
        """Write the pending minute counts now (and their `counts` events)."""
        with self._lock:
            flushed = bool(self._counts)
            self._flush_counts()
        if flushed:
            self._written()

    def minute_counts(self) -> list[tuple[str, str, str, int]]:
        """Every (minute, source_id, label, count) written so far, oldest first."""
        with self._lock:
            return self._db.execute("SELECT * FROM minute_counts ORDER BY minute, source_id, label").fetchall()

    def prune(self) -> None:
        """Delete events and counts older than the keep age."""
        now = self._clock()
        cutoff = iso_time(now - self.keep_s)
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM events WHERE time < ?", (cutoff,))
            self._db.execute("DELETE FROM minute_counts WHERE minute < ?", (cutoff,))
            self._db.execute("COMMIT")
        self._pruned = now

    def close(self) -> None:
        """Write the pending counts and close the file (WAL checkpointed)."""
        with self._lock:
            self._flush_counts()
            self._db.close()

    def _flush_counts(self) -> None:
        if not self._counts:
            return
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT INTO minute_counts VALUES (?, ?, ?, ?) "
            "ON CONFLICT (minute, source_id, label) DO UPDATE SET count = count + excluded.count",
            [(*key, count) for key, count in self._counts.items()])
        # One counts event per (minute, source): the counts added now, so that a minute flushed twice (at a
        # stop and again after a restart within it) adds up at a subscriber as in minute_counts.
        written = iso_time(self._clock())
        per_source: dict[tuple[str, str], dict[str, int]] = {}
        for (minute, source_id, label), count in self._counts.items():
            per_source.setdefault((minute, source_id), {})[label] = count
        self._db.executemany(
            "INSERT INTO events (time, kind, source_id, detail) VALUES (?, ?, ?, ?)",
            [(written, COUNTS, source_id, json.dumps({"minute": minute, "counts": counts}, ensure_ascii=False))
             for (minute, source_id), counts in per_source.items()])
        self._db.execute("COMMIT")
        self._counts.clear()

    def _written(self) -> None:
        for listener in self._listeners:
            listener()
