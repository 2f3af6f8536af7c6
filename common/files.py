"""Atomic writes: a file appears whole under its name or not at all, even if the process dies mid-write."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write `data` to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data.encode() if isinstance(data, str) else data)
        publish(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return path


def publish(temporary: str | Path, path: Path) -> Path:
    """Rename a finished temporary file into place, readable as a plain open() would have made it."""
    umask = os.umask(0)  # mkstemp creates files 0600; models and reports are meant to be shared
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    os.replace(temporary, path)
    return path
