"""Download a file once into a cache folder (Keras' convention), with a one-line error when offline."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from antbee.common.errors import UsageError


def cache_dir(kind: str) -> Path:
    """`$KERAS_HOME/<kind>` (default `~/.keras/<kind>`), where Keras keeps datasets and models."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / kind


def fetch(url: str, dest: Path, what: str, offline_hint: str) -> Path:
    """Return `dest`, downloading `url` to it first if it is not there.

    Not keras.utils.get_file: that raises a bare Exception when offline, which could only be
    caught by catching everything; urllib's URLError/OSError name the failure exactly.
    """
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url, timeout=30) as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
        os.replace(partial, dest)
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise UsageError(f"cannot download {what} from {url} ({reason}); {offline_hint}") from None
    return dest
