"""antbee-batch's output: rows added in parts that survive a kill, and the sources it already holds.

`.jsonl` is one file of `antbee-edge --json` lines, appended and flushed a batch at a time; a line cut
short by a kill is dropped when the file is opened again. `.parquet` is a folder of part files, each
written under a scratch name and renamed into place, so a part is there whole or not at all; pyarrow,
pandas and Ray read the folder as one table. Either way the driver is the only writer.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Protocol

from antbee.common.errors import UsageError
from antbee.common.files import publish, scratch_name

SUFFIXES = (".jsonl", ".parquet")


class Results(Protocol):
    """An output being written: the sources already in it, and `add` for rows (JSON lines)."""

    done: set[str]

    def add(self, lines: list[str]) -> None:
        """Write `lines` (JSON lines, one a row) so that a kill after this returns loses none of them."""

    def close(self) -> None:
        """Release what the output holds open; no `add` after this."""


def open_results(out: Path) -> Results:
    """Open `out` for adding rows, reading what a previous run left there."""
    if out.suffix == ".jsonl":
        return JsonlResults(out)
    if out.suffix == ".parquet":
        return ParquetResults(out)
    raise UsageError(f"--out {out}: expected a file name ending in {' or '.join(SUFFIXES)}")


def check_sources(out: Path, sources: list[str]) -> None:
    """Refuse, before any work, file names a `.parquet` output cannot hold (Parquet strings are UTF-8 only)."""
    if out.suffix != ".parquet":
        return
    for source in sources:
        try:
            source.encode("utf-8")
        except UnicodeEncodeError:
            shown = source.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            raise UsageError(f"{shown}: a file name that is not UTF-8 cannot be a Parquet string; "
                             f"use --out {out.with_suffix('.jsonl')}") from None


class JsonlResults:
    """Rows as JSON lines appended to one file."""

    def __init__(self, path: Path):
        if path.is_dir():
            raise UsageError(f"--out {path}: is a folder, expected a .jsonl file")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.done = set()
        # Read and checked before the file is opened for adding: a file not ours stays as it is, and no
        # handle is left open when it is refused.
        data = path.read_bytes() if path.exists() else b""
        whole = data[:data.rfind(b"\n") + 1]
        for number, line in enumerate(whole.splitlines(), 1):
            self.done.add(_source(line, f"{path} line {number}"))
        if len(whole) < len(data):
            os.truncate(path, len(whole))  # the last line was cut short by a kill: its image is done again
        self._file = open(path, "ab")  # noqa: SIM115 - closed by close()

    def add(self, lines: list[str]) -> None:
        """Append `lines` and flush them, so a kill after this loses none of them."""
        self._file.write("".join(f"{line}\n" for line in lines).encode("utf-8", "surrogateescape"))
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class ParquetResults:
    """Rows as Parquet part files in one folder."""

    def __init__(self, folder: Path):
        import pyarrow.parquet as pq

        if folder.exists() and not folder.is_dir():
            raise UsageError(f"--out {folder}: is a file, expected a .parquet folder of part files")
        folder.mkdir(parents=True, exist_ok=True)
        for scratch in folder.glob(".*.tmp"):  # a part being written when the last run was killed
            scratch.unlink()
        self.done = set()
        for part in sorted(folder.glob("*.parquet")):
            self.done.update(str(s) for s in pq.read_table(part, columns=["source"]).column("source").to_pylist())
        self._folder = folder
        self._run = secrets.token_hex(4)
        self._parts = 0

    def add(self, lines: list[str]) -> None:
        """Write `lines` as one new part file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([_parquet_row(json.loads(line)) for line in lines], schema=parquet_schema())
        path = self._folder / f"part-{self._run}-{self._parts:06d}.parquet"
        scratch = scratch_name(path, ".tmp")
        try:
            pq.write_table(table, scratch)
            publish(scratch, path)
        finally:
            scratch.unlink(missing_ok=True)
        self._parts += 1

    def close(self) -> None:
        """Nothing stays open between parts."""


def parquet_schema():
    """The Parquet columns: `antbee-edge --json`'s fields, scores as a map from class label to score."""
    import pyarrow as pa

    top = pa.struct([("index", pa.int64()), ("label", pa.string()), ("score", pa.float64())])
    return pa.schema([("source", pa.string()), ("label", pa.string()), ("score", pa.float64()),
                      ("scores", pa.map_(pa.string(), pa.float64())), ("top", pa.list_(top)),
                      ("latency_ms", pa.float64()), ("error", pa.string())])


def read_rows(out: Path) -> list[dict]:
    """Every row of an output as the dict its `antbee-edge --json` line parses to (absent fields left out)."""
    if out.suffix == ".jsonl":
        return [json.loads(line) for line in out.read_text(encoding="utf-8", errors="surrogateescape").splitlines()]
    import pyarrow.parquet as pq

    rows = []
    for part in sorted(out.glob("*.parquet")):
        for row in pq.read_table(part).to_pylist():
            if row["error"] is not None:
                rows.append({"source": row["source"], "error": row["error"]})
            else:
                rows.append({**{k: v for k, v in row.items() if k != "error"}, "scores": dict(row["scores"])})
    return rows


def _parquet_row(record: dict) -> dict:
    if record.get("scores") is not None:
        record["scores"] = list(record["scores"].items())
    return record


def _source(line: bytes, where: str) -> str:
    try:
        # File names that are not UTF-8 were written as their own bytes (surrogateescape), so they read back
        # as the same str the listing gives, and the file is skipped on a rerun.
        return str(json.loads(line.decode("utf-8", "surrogateescape"))["source"])
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"{where}: not an antbee-batch row (expected a JSON object with a source); "
                         "choose another --out") from None
