"""Read a data set from a ZIP or a folder: classes from folder or file names, the split, and what was skipped."""

from __future__ import annotations

import hashlib
import re
import zipfile
import zlib
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import numpy as np

from antbee.common.errors import ImageError, UsageError
from antbee.common.runs import Example, Skipped, Split
from antbee.edge.preprocess import IMAGE_SUFFIXES, MAX_FILE_BYTES

SPLIT_DIRS = {"train": "train", "training": "train", "val": "test", "valid": "test",
              "validation": "test", "test": "test"}
LABELS_FROM = ("detect", "folder", "filename")
MAX_MEMBERS = 200_000
MAX_TOTAL_BYTES = 32 * 2**30
_ZIP_MEMBER_ERRORS: tuple[type[BaseException], ...] = (zipfile.BadZipFile, zlib.error, EOFError,
                                                       NotImplementedError, RuntimeError, ValueError)
try:
    import lzma

    _ZIP_MEMBER_ERRORS += (lzma.LZMAError,)
except ImportError:  # a Python without liblzma: LZMA members raise NotImplementedError instead
    pass


class DataSource:
    """Files of a data set, as relative POSIX names, from a ZIP or a folder."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        if not self.path.exists():
            raise UsageError(f"{self.path}: data not found (expected a ZIP file or a folder of images)")
        if self.path.is_file():
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise UsageError(f"{self.path}: not a readable ZIP file ({exc})") from None

    def names(self) -> tuple[list[str], list[Skipped]]:
        """All file names, and the ones rejected for unsafe paths (absolute, `..`)."""
        if self._zip is None:
            return _walk(self.path), []
        infos = [i for i in self._zip.infolist() if not i.is_dir()]
        if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
            raise UsageError(f"{self.path}: ZIP too large (over {MAX_MEMBERS} files or "
                             f"{MAX_TOTAL_BYTES // 2**30} GiB uncompressed)")
        names, unsafe = [], []
        for info in infos:
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if info.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                unsafe.append(Skipped(info.filename, "unsafe path in ZIP (absolute or '..'), rejected"))
            else:
                names.append(info.filename)
        return names, unsafe

    def read(self, name: str) -> bytes:
        """The bytes of one file, at most MAX_FILE_BYTES."""
        if self._zip is None:
            path = self.path / name
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ImageError(f"{name}: file larger than {MAX_FILE_BYTES // 2**20} MiB")
            return path.read_bytes()
        info = self._zip.getinfo(name)
        if info.file_size > MAX_FILE_BYTES:
            raise ImageError(f"{name}: file larger than {MAX_FILE_BYTES // 2**20} MiB")
        # Asking for exactly the declared size (at most MAX_FILE_BYTES) makes zipfile inflate no
        # more than that, even for a member whose data inflates much further (a ZIP bomb lying in
        # its headers): it then fails the CRC check. A damaged member (bad CRC, bad deflate data,
        # unknown method, flagged encrypted) is one unreadable image, not the end of the run.
        try:
            with self._zip.open(info) as member:
                return member.read(info.file_size)
        except _ZIP_MEMBER_ERRORS as exc:
            raise ImageError(f"{name}: damaged in the ZIP ({type(exc).__name__}: {exc})") from None

    def close(self) -> None:
        """Close the ZIP, if any."""
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> DataSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_split(data: str | Path, labels_from: str = "detect", test_size: float = 0.1,
               seed: int = 0) -> Split:
    """List the data set's images, find their classes and split them into train and test."""
    if labels_from not in LABELS_FROM:
        raise UsageError(f"--labels-from {labels_from!r}: expected one of {', '.join(LABELS_FROM)}")
    if not 0.0 < test_size < 1.0:
        raise UsageError(f"--test-size {test_size}: expected a fraction between 0 and 1")
    with DataSource(data) as source:
        names, skipped = source.names()
    images = []
    for name in sorted(names):
        path = PurePosixPath(name)
        if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
            continue  # hidden files and macOS resource forks are not data
        if path.suffix.lower() in IMAGE_SUFFIXES:
            images.append(path)
        else:
            skipped.append(Skipped(name, f"unsupported file type {path.suffix or '(none)'!r}; "
                                         f"expected one of {' '.join(IMAGE_SUFFIXES)}"))
    if not images:
        raise UsageError(f"{data}: no images found (expected {' '.join(IMAGE_SUFFIXES)} files)")
    parts = [_split_part(p) for p in images]
    if labels_from == "detect":
        folders = {p.parent.name for p in images if p.parent.name.lower() not in SPLIT_DIRS}
        labels_from = "folder" if len(folders) >= 2 else "filename"
    labels = [p.parent.name if labels_from == "folder" else filename_label(p.name) for p in images]
    classes = tuple(sorted(set(labels)))
    if len(classes) < 2:
        raise UsageError(f"{data}: found only the class {classes[0]!r}; expected at least two "
                         f"(one folder per class, or the class in each file name)")
    index = {name: i for i, name in enumerate(classes)}
    examples = [Example(str(p), index[label]) for p, label in zip(images, labels)]
    presplit = "train" in parts and "test" in parts
    if presplit:
        train = [e for e, part in zip(examples, parts) if part == "train"]
        test = [e for e, part in zip(examples, parts) if part == "test"]
        skipped += [Skipped(e.source, "outside the train/ and val/ (or test/) folders")
                    for e, part in zip(examples, parts) if part is None]
    else:
        train, test = stratified_split(examples, test_size, seed)
    _check_classes(data, classes, train)
    return Split(str(Path(data).resolve()), classes, labels_from, presplit, tuple(train), tuple(test),
                 tuple(skipped))


def stratified_split(examples: list[Example], test_size: float, seed: int) -> tuple[list, list]:
    """Split examples keeping each class's share in both parts (scikit-learn's stratified shuffle)."""
    from sklearn.model_selection import train_test_split

    counts = Counter(e.label for e in examples)
    if min(counts.values()) < 2:
        raise UsageError("every class needs at least two images to be split into train and test")
    try:
        train, test = train_test_split(examples, test_size=test_size, random_state=seed,
                                       stratify=[e.label for e in examples])
    except ValueError as exc:
        raise UsageError(f"cannot split {len(examples)} images with --test-size {test_size}: {exc}") from None
    return list(train), list(test)


def filename_label(name: str) -> str:
    """The class in a file name: the stem without its trailing number (`ant_001.jpg` -> `ant`)."""
    stem = PurePosixPath(name).stem
    label = re.sub(r"[\s_.\-]*\(?\d+\)?$", "", stem)
    return label or stem


class Images(NamedTuple):
    """Decoded, prepared images and what could not be read."""

    pixels: np.ndarray  # N x H x W x 3 uint8 RGB
    labels: np.ndarray
    kept: list[Example]
    skipped: list[Skipped]
    hashes: list[tuple[str, str]]  # sha256 of each file's bytes and of its prepared pixels


def read_images(source: DataSource, examples: tuple[Example, ...] | list[Example], size, resize,
                progress=None) -> Images:
    """Decode and prepare examples through the one shared preprocessing function."""
    from antbee.edge.preprocess import preprocess

    pixels = np.empty((len(examples), *size, 3), np.uint8)
    kept, skipped, hashes = [], [], []
    for example in examples:
        try:
            raw = source.read(example.source)
            pixels[len(kept)] = preprocess(raw, size, resize, name=example.source)
            hashes.append((hashlib.sha256(raw).hexdigest(), hashlib.sha256(pixels[len(kept)]).hexdigest()))
            kept.append(example)
        except ImageError as exc:
            skipped.append(Skipped(example.source, str(exc).removeprefix(f"{example.source}: ")))
        except OSError as exc:
            skipped.append(Skipped(example.source, f"cannot read ({exc})"))
        if progress is not None:
            progress()
    labels = np.array([e.label for e in kept], np.int64)
    return Images(pixels[: len(kept)], labels, kept, skipped, hashes)


def _split_part(path: PurePosixPath) -> str | None:
    for part in path.parts[:-1]:
        if part.lower() in SPLIT_DIRS:
            return SPLIT_DIRS[part.lower()]
    return None


def _check_classes(data, classes: tuple[str, ...], train: list[Example]) -> None:
    counts = Counter(e.label for e in train)
    empty = [name for i, name in enumerate(classes) if counts[i] == 0]
    if empty:
        raise UsageError(f"{data}: class {empty[0]!r} has no training images")


def _walk(root: Path) -> list[str]:
    # os.walk does not follow symlinked folders by default, so a symlink loop cannot trap it.
    import os

    names = []
    for folder, _, files in os.walk(root):
        for file in files:
            path = Path(folder) / file
            if path.is_file():
                names.append(path.relative_to(root).as_posix())
    return names
