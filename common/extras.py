"""The optional extras: one check that a module an extra brings is installed, with the line that installs it."""

from __future__ import annotations

import importlib.util

from antbee.common.errors import UsageError


def installed(module: str) -> bool:
    """Whether `module` (dotted names allowed) can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a dotted name whose parent package is missing
        return False


def require(module: str, extra: str, who: str, name: str | None = None) -> None:
    """UsageError "<who> needs <name> (not installed): pip install 'antbee[<extra>]'" unless `module` is installed;
    `name` is what the message calls it (default: the module)."""
    if not installed(module):
        raise UsageError(f"{who} needs {name or module} (not installed): pip install 'antbee[{extra}]'")
