"""What antbee-batch classifies: SOURCE arguments (files, folders, globs, lists of paths, URIs) as sources."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from antbee.common.errors import UsageError
from antbee.edge.sources import WALK_SUFFIXES, Unreadable, expand_inputs

LIST_SUFFIX = ".txt"


class Remote(NamedTuple):
    """A file on a pyarrow filesystem (s3://, gs://, file://): its URI, its path there, which filesystem."""

    uri: str
    path: str
    filesystem: int  # index into Sources.filesystems


class Sources(NamedTuple):
    """The sources in argument order, each once, and the filesystems their Remote ones are on."""

    items: list[Path | Unreadable | Remote]
    filesystems: list[Any]  # pyarrow.fs.FileSystem, which pickle, so they travel to the actors

    @staticmethod
    def key(item: Path | Unreadable | Remote) -> str:
        """What a row's `source` says for `item`."""
        if isinstance(item, Remote):
            return item.uri
        return str(item.path if isinstance(item, Unreadable) else item)


def list_sources(arguments: Iterable[str]) -> Sources:
    """Sources in argument order, each once: a `.txt` argument lists paths or URIs (one a line); a URI
    (`s3://bucket/photos/`) names a file or a folder on any filesystem pyarrow reads; the rest are expanded
    as antbee-edge expands its inputs (files, folders walked recursively, globs).

    A listed path is taken as it is (relative ones from the list's folder) and not checked here: a
    missing or broken file becomes an error row, so a stale list cannot stop the job.
    """
    filesystems = _Filesystems()
    items: list[Path | Unreadable | Remote] = []
    seen: set[str] = set()
    for argument in arguments:
        if argument.endswith(LIST_SUFFIX) and "://" not in argument:
            found = [filesystems.remote(line) if "://" in line else Path(argument).parent / line
                     for line in _read_list(Path(argument))]
        elif "://" in argument:
            found = filesystems.expand(argument)
        else:
            found = expand_inputs([argument])
        for item in found:
            key = Sources.key(item)
            if key not in seen:
                seen.add(key)
                items.append(item)
    return Sources(items, filesystems.opened)


class _Filesystems:
    # One filesystem per scheme and bucket (or host), opened once: a million listed URIs make one client.
    def __init__(self):
        self.opened: list[Any] = []
        self._index: dict[str, int] = {}

    def remote(self, uri: str) -> Remote:
        parts = urlsplit(uri)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self._index:
            from pyarrow.fs import FileSystem

            try:
                self.opened.append(FileSystem.from_uri(root if parts.netloc else uri)[0])
            except (ValueError, OSError) as exc:  # pyarrow.ArrowInvalid is a ValueError
                raise UsageError(f"{uri}: pyarrow cannot open its filesystem ({exc})") from None
            self._index[root] = len(self.opened) - 1
        # pyarrow's paths: "bucket/key" on object stores, "/abs/path" locally.
        return Remote(uri, f"{parts.netloc}{parts.path}", self._index[root])

    def expand(self, uri: str) -> list[Remote]:
        from pyarrow.fs import FileSelector, FileType

        top = self.remote(uri)
        top = top._replace(path=top.path.rstrip("/") or "/")
        filesystem = self.opened[top.filesystem]
        try:
            info = filesystem.get_file_info(top.path)
            if info.type == FileType.File:
                return [top]
            if info.type != FileType.Directory:
                raise UsageError(f"{uri}: no such file or folder")
            infos = filesystem.get_file_info(FileSelector(top.path, recursive=True))
        except OSError as exc:
            raise UsageError(f"{uri}: cannot list it ({exc})") from None
        scheme = uri.split("://", 1)[0]
        found = [Remote(f"{scheme}://{info.path}", info.path, top.filesystem)
                 for info in sorted(infos, key=lambda info: info.path)
                 if info.type == FileType.File and Path(info.path).suffix.lower() in WALK_SUFFIXES]
        if not found:
            raise UsageError(f"{uri}: folder holds no image files (expected {', '.join(sorted(WALK_SUFFIXES))})")
        return found


def _read_list(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the list of paths ({exc.strerror})") from None
    lines = [line.strip() for line in text.splitlines()]
    listed = [line for line in lines if line and not line.startswith("#")]
    if not listed:
        raise UsageError(f"{path}: lists no paths (expected one image path a line)")
    return listed
