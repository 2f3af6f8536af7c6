"""antbee-edge --config FILE.toml: the same settings as the flags, one key per flag (`events-keep = "7d"`)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from antbee.common.errors import UsageError


def load_config(path: Path, flags: dict[str, str]) -> dict[str, Any]:
    """Read a TOML file of flag settings; `flags` maps each flag's key (`events-keep`) to its parameter name.

    Returns {parameter name: value}. An unknown key or an unreadable file is a UsageError naming it.
    """
    try:
        with open(path, "rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError:
        raise UsageError(f"--config {path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"--config {path}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--config {path}: not valid TOML ({exc})") from None
    settings = {}
    for key, value in table.items():
        name = flags.get(key.replace("_", "-"))
        if name is None:
            raise UsageError(f"--config {path}: unknown setting {key!r} (expected flag names without the "
                             f"dashes: {', '.join(sorted(flags))})")
        if isinstance(value, dict):
            raise UsageError(f"--config {path}: {key!r} is a table, expected a value as its flag takes")
        settings[name] = value
    return settings
