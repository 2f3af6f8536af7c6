"""Labels and input contract stored inside a .tflite: the standard TFLite Metadata and its packed files.

The standard metadata (read by `standard_metadata`) names the labels file and the normalisation;
the files themselves are a ZIP appended to the flatbuffer (the TFLite Support convention: any
interpreter loads the model and ignores the archive). antbee's models also pack `antbee.json`,
its input contract (size, resize mode); models written before the standard metadata carry only
the ZIP, and still read the same.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from antbee.common.errors import ModelError, UsageError
from antbee.edge.standard_metadata import read_standard

INFO_NAME = "antbee.json"
LABELS_NAME = "labels.txt"
FORMAT = "antbee/1"
MAX_MEMBER_BYTES = 4 * 2**20
# What reading a damaged archive member raises (found by fuzzing): a flipped flag bit makes a
# member "encrypted" (RuntimeError), a flipped method makes it deflate/bzip2/LZMA garbage.
_MEMBER_ERRORS: tuple[type[BaseException], ...] = (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError,
                                                   NotImplementedError, RuntimeError, zlib.error)
try:
    import lzma

    _MEMBER_ERRORS += (lzma.LZMAError,)
except ImportError:  # a Python built without liblzma cannot open LZMA members at all (NotImplementedError)
    pass


@dataclass(frozen=True)
class ModelInfo:
    """What the device needs besides the weights: class labels and how to feed pixels.

    The model takes (pixel - mean) / std of RGB pixels 0..255 after `resize` to `size`. A model
    that packs only a labels file states none of these (None): the runtime then uses its
    defaults for plain models. `labels` is empty when a model's metadata names no labels file.
    """

    labels: tuple[str, ...]
    size: tuple[int, int] | None = None
    resize: str | None = None
    mean: float | None = None
    std: float | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def to_json(self) -> str:
        """Serialise as the `antbee.json` associated file."""
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=2)


def attach(model: bytes, info: ModelInfo) -> bytes:
    """Return the model bytes with `labels.txt` and `antbee.json` appended as a stored ZIP, and no standard metadata.

    The layout antbee wrote before the standard metadata (the ZIP's offsets count from its own
    start); kept so tests can make such models and check the device still reads them.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(LABELS_NAME, "".join(f"{label}\n" for label in info.labels))
        archive.writestr(INFO_NAME, info.to_json())
    return model + buffer.getvalue()


def pack_files(model: bytes, files: dict[str, str]) -> bytes:
    """Return the model bytes with `files` appended as a stored ZIP.

    Its offsets count from the start of the model, as TFLite Support's populator writes them,
    so readers that do not look for data before the archive find the members too.
    """
    buffer = io.BytesIO(model)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_STORED) as archive:
        for file_name, text in files.items():
            archive.writestr(file_name, text)
    return buffer.getvalue()


def read(model: bytes, name: str = "model") -> ModelInfo | None:
    """Read the ModelInfo of a .tflite's bytes; None for a plain model with none.

    The standard metadata's labels and normalisation come first (they are what every tool
    reads); `antbee.json` adds the input size and resize mode. A model with only a packed
    `labels.txt` gives its labels with the defaults for everything else; a malformed one raises
    ModelError naming `name`.
    """
    standard = read_standard(model, name)
    wanted = {INFO_NAME, LABELS_NAME} | ({standard.labels_file} if standard and standard.labels_file else set())
    files = _packed_files(model, wanted, name)
    contract = _parse_info(files[INFO_NAME], name) if INFO_NAME in files else None
    if standard is None:
        if contract is None and LABELS_NAME in files:
            return ModelInfo(labels=tuple(parse_labels(files[LABELS_NAME])))
        return contract
    # The file the metadata names, else a packed labels.txt (a labels file appended by hand after
    # another tool's archive hides that archive), else none: the scores are then numbered.
    text = files.get(standard.labels_file or "", files.get(LABELS_NAME, ""))
    labels = tuple(parse_labels(text))
    if contract is None:
        return ModelInfo(labels=labels, mean=standard.mean, std=standard.std)
    return replace(contract, labels=labels or contract.labels,
                   mean=contract.mean if standard.mean is None else standard.mean,
                   std=contract.std if standard.std is None else standard.std)


def _packed_files(model: bytes, names: set[str], name: str) -> dict[str, str]:
    """The text of those of `names` packed in the model's appended ZIP; {} for a model with none."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(model))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return {}  # no readable archive at the end (e.g. an unsupported ZIP version): a plain model
    try:
        with archive:
            members = {item.filename: item for item in archive.infolist()}
            return {key: _read_member(archive, members[key]) for key in names if key in members}
    except _MEMBER_ERRORS as exc:
        raise ModelError(f"{name}: its packed metadata is unreadable ({exc})") from None


def read_labels_file(path: str | Path) -> list[str]:
    """Read a labels file: one label per line, index order; an optional leading index is dropped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: labels file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read labels ({exc})") from None
    labels = parse_labels(text)
    if not labels:
        raise UsageError(f"{path}: no labels in file (expected one label per line)")
    return labels


def parse_labels(text: str) -> list[str]:
    """Split label text into labels, skipping blank lines; `0 ant` style lines lose the index."""
    labels = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        head, _, rest = line.partition(" ")
        labels.append(rest.strip() if head.isdigit() and rest.strip() else line)
    return labels


def _read_member(archive: zipfile.ZipFile, item: zipfile.ZipInfo) -> str:
    if item.file_size > MAX_MEMBER_BYTES:
        raise ValueError(f"{item.filename} is {item.file_size} bytes, more than {MAX_MEMBER_BYTES}")
    return archive.read(item).decode("utf-8")


def _parse_info(text: str, name: str) -> ModelInfo:
    try:
        raw = json.loads(text)
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, expected {FORMAT!r}")
        size = None if raw.get("size") is None else tuple(int(v) for v in raw["size"])
        info = ModelInfo(
            labels=tuple(str(label) for label in raw["labels"]),
            size=None if size is None else (size[0], size[1]),
            resize=_optional(raw, "resize", str),
            mean=_optional(raw, "mean", float),
            std=_optional(raw, "std", float),
            extra=dict(raw.get("extra") or {}),
        )
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ModelError(f"{name}: malformed {INFO_NAME} ({exc})") from None
    if not info.labels or info.std == 0 or (info.size is not None and min(info.size) < 1):
        raise ModelError(f"{name}: malformed {INFO_NAME} (needs labels, a positive size and a non-zero std)")
    if (info.mean is None) != (info.std is None):
        raise ModelError(f"{name}: malformed {INFO_NAME} (mean and std go together)")
    return info


def _optional(raw: dict, key: str, kind):
    return None if raw.get(key) is None else kind(raw[key])
