"""What antbee-batch classifies: SOURCE arguments (files, folders, globs, lists of paths) as image paths."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from antbee.common.errors import UsageError
from antbee.edge.sources import Unreadable, expand_inputs

LIST_SUFFIX = ".txt"


def list_sources(arguments: Iterable[str]) -> list[Path | Unreadable]:
    """Image paths in argument order, each once: a `.txt` argument lists paths (one a line), the rest
    are expanded as antbee-edge expands its inputs (files, folders walked recursively, globs).

    A listed path is taken as it is (relative ones from the list's folder) and not checked here: a
    missing or broken file becomes an error row, so a stale list cannot stop the job.
    """
    found: list[Path | Unreadable] = []
    seen: set[str] = set()
    for argument in arguments:
        items = _read_list(Path(argument)) if argument.endswith(LIST_SUFFIX) else expand_inputs([argument])
        for item in items:
            key = str(item.path if isinstance(item, Unreadable) else item)
            if key not in seen:
                seen.add(key)
                found.append(item)
    return found


def _read_list(path: Path) -> list[Path]:
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the list of paths ({exc.strerror})") from None
    lines = (line.strip() for line in text.splitlines())
    listed = [path.parent / line for line in lines if line and not line.startswith("#")]
    if not listed:
        raise UsageError(f"{path}: lists no paths (expected one image path a line)")
    return listed
