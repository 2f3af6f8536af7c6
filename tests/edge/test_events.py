"""The SQLite event log: rows, seq, retention, per-minute counts, the default path, and kill -9 safety."""

import sqlite3
import subprocess
import sys

import pytest

from antbee.common.errors import UsageError
from antbee.edge.events import (CLASSIFICATION, LABEL, MODEL, EventLog, default_path, iso_time, parse_age,
                                parse_since)

START = 1_800_000_000.0  # a fixed time, 2027-01-15


class Clock:
    def __init__(self, now=START):
        self.now = now

    def __call__(self):
        return self.now


def test_events_are_returned_with_increasing_seq_and_their_detail(tmp_path):
    log = EventLog(tmp_path / "e.db")
    first = log.record(CLASSIFICATION, {"source": "a.jpg", "label": "ant"}, "api", "a.jpg", "ant", 0.9)
    second = log.record(LABEL, {"previous": None}, "0", "cam", "bee", 0.8)
    log.record(MODEL, {"action": "refused"})
    assert second > first
    events = log.events()
    assert [(e.seq, e.kind, e.label, e.detail) for e in events] == [
        (first, CLASSIFICATION, "ant", {"source": "a.jpg", "label": "ant"}), (second, LABEL, "bee", {"previous": None})]
    assert [e.kind for e in log.events(kinds=(MODEL,))] == [MODEL]
    log.close()


def test_seq_is_never_reused_after_pruning_and_restarting(tmp_path):
    clock = Clock()
    log = EventLog(tmp_path / "e.db", keep_s=60, clock=clock)
    seqs = [log.record(CLASSIFICATION, {}) for _ in range(3)]
    log.close()
    clock.now += 3600  # every row is now older than the keep age: pruned on open
    log = EventLog(tmp_path / "e.db", keep_s=60, clock=clock)
    assert log.events() == []
    assert log.record(CLASSIFICATION, {}) == seqs[-1] + 1
    log.close()


def test_since_and_limit(tmp_path):
    clock = Clock()
    log = EventLog(tmp_path / "e.db", clock=clock)
    for i in range(5):
        log.record(CLASSIFICATION, {"i": i})
        clock.now += 10
    assert [e.detail["i"] for e in log.events(limit=2)] == [3, 4]  # the latest, oldest first
    since = parse_since(iso_time(START + 15))
    assert [e.detail["i"] for e in log.events(since=since, limit=2)] == [2, 3]
    log.close()


def test_counts_are_written_per_minute_per_source_per_label(tmp_path):
    clock = Clock(START - START % 60)
    log = EventLog(tmp_path / "e.db", clock=clock)
    for label in ("ant", "ant", "bee"):
        log.count("0", label)
    log.count("api", "ant")
    assert log.minute_counts() == []  # the minute is not over yet
    clock.now += 60
    log.count("0", "bee")
    minute = iso_time(START - START % 60)
    assert log.minute_counts() == [(minute, "0", "ant", 2), (minute, "0", "bee", 1), (minute, "api", "ant", 1)]
    log.close()
    reopened = EventLog(tmp_path / "e.db", clock=clock)
    assert reopened.minute_counts()[-1] == (iso_time(clock.now), "0", "bee", 1)  # flushed at close
    reopened.close()


def test_parse_since_takes_offsets_and_naive_utc():
    assert parse_since("2026-05-01T14:00:00+02:00") == parse_since("2026-05-01T12:00:00") == \
        "2026-05-01T12:00:00.000+00:00"
    with pytest.raises(UsageError, match="ISO 8601"):
        parse_since("yesterday")


def test_parse_age():
    assert parse_age("30d") == 30 * 86400 and parse_age("90m") == 5400 and parse_age("1.5h") == 5400
    for bad in ("", "30", "-1d", "0h", "3 weeks"):
        with pytest.raises(UsageError, match="--events-keep"):
            parse_age(bad)


def test_default_path_follows_xdg_state_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_path() == tmp_path / "antbee" / "events.db"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_path().parts[-4:] == (".local", "state", "antbee", "events.db")


def test_an_unopenable_path_is_a_usage_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="--events"):
        EventLog(tmp_path / "file" / "e.db")


WRITER = """
import sys
from antbee.edge.events import CLASSIFICATION, EventLog
log = EventLog(sys.argv[1])
while True:
    seq = log.record(CLASSIFICATION, {"padding": "x" * 2000}, "0", "cam", "ant", 0.5)
    log.count("0", "ant")
    print(seq, flush=True)
"""


@pytest.mark.parametrize("rows_before_kill", [1, 50, 400])
def test_kill_9_during_writes_keeps_every_committed_row(tmp_path, rows_before_kill):
    path = tmp_path / "e.db"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    committed = [int(writer.stdout.readline()) for _ in range(rows_before_kill)]
    writer.kill()  # SIGKILL: no handler, no flush, mid-write
    writer.wait()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    stored = {seq for (seq,) in db.execute("SELECT seq FROM events")}
    db.close()
    assert set(committed) <= stored
    log = EventLog(path)  # and it opens and goes on counting from where it was
    assert log.record(CLASSIFICATION, {}) > max(stored)
    log.close()
