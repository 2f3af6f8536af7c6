"""Atomic writes: a file appears whole under its name or not at all, even if the process dies mid-write."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write `data` to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = scratch_name(path, ".tmp")
    # Created inside the `try`: a signal landing right after creation still finds the cleanup armed.
    try:
        with open(temporary, "xb") as out:
            out.write(data.encode() if isinstance(data, str) else data)
        publish(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return path


def scratch_name(path: Path, suffix: str) -> Path:
    """An unused hidden name beside `path` for work in progress; the caller creates it with an exclusive open."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{suffix}")


def publish(temporary: str | Path, path: Path) -> Path:
    """Rename a finished temporary file into place, readable as a plain open() would have made it."""
    umask = os.umask(0)  # some writers (mkstemp, savefig) create files 0600; models and reports are shared
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    os.replace(temporary, path)
    return path
