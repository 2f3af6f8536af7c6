"""Read a .tflite's standard TFLite Metadata (its TFLITE_METADATA flatbuffer) without TensorFlow or MediaPipe."""

from __future__ import annotations

import struct
from typing import NamedTuple

import numpy as np
from flatbuffers.table import Table
from flatbuffers.util import BufferHasIdentifier

from antbee.common.errors import ModelError
from antbee.edge import metadata_schema_py_generated as fb

MODEL_IDENTIFIER = b"TFL3"
METADATA_IDENTIFIER = b"M001"
METADATA_NAME = "TFLITE_METADATA"
# What reading a damaged flatbuffer raises: offsets past the end (struct.error, IndexError),
# strings that are not UTF-8, enum values the schema does not know.
_FLATBUFFER_ERRORS = (struct.error, IndexError, ValueError, TypeError, UnicodeDecodeError, AttributeError,
                      KeyError)


class StandardMetadata(NamedTuple):
    """What the device takes from the standard metadata: the labels file's name and the normalisation.

    A float input wants (pixel - mean) / std of RGB pixels 0..255; None where the metadata says
    nothing, and for a quantized input, which takes the pixels as they are (MediaPipe's and the
    Task Library's reading of the standard: its normalisation applies to float inputs).
    """

    name: str | None
    labels_file: str | None
    mean: float | None
    std: float | None


def read_standard(model: bytes, name: str = "model") -> StandardMetadata | None:
    """The standard metadata of a .tflite's bytes, or None when it has none; ModelError names `name` if malformed."""
    if len(model) < 8 or not BufferHasIdentifier(model, 0, MODEL_IDENTIFIER):
        return None
    try:
        root = Table(model, struct.unpack_from("<I", model, 0)[0])
        buffer = _metadata_buffer(model, root)
        if buffer is None:
            return None
        if not BufferHasIdentifier(buffer, 0, METADATA_IDENTIFIER):
            raise ValueError(f"its {METADATA_NAME} buffer lacks the identifier {METADATA_IDENTIFIER.decode()}")
        metadata = fb.ModelMetadataT.InitFromObj(fb.ModelMetadata.GetRootAs(buffer, 0))
        subgraph = (metadata.subgraphMetadata or [None])[0]
        inputs = (subgraph and subgraph.inputTensorMetadata) or [None]
        outputs = (subgraph and subgraph.outputTensorMetadata) or [None]
        mean, std = _normalisation(inputs[0], name) if _input_type(root) in FLOAT_TYPES else (None, None)
        return StandardMetadata(_text(metadata.name), _labels_file(outputs[0]), mean, std)
    except _FLATBUFFER_ERRORS as exc:
        raise ModelError(f"{name}: its TFLite metadata is unreadable ({type(exc).__name__}: {exc})") from None


# The few fields of the TFLite model schema (schema.fbs) read here, with the flatbuffers library:
# Model.subgraphs is field 2, .buffers 4, .metadata 6; SubGraph.tensors 0, .inputs 1; Tensor.type 1;
# Metadata.name 0, .buffer 1; Buffer.data 0, .offset 1, .size 2 (models over 2 GB keep data outside).
FLOAT_TYPES = (0, 1)  # TensorType FLOAT32, FLOAT16


def _input_type(root: Table) -> int | None:
    graphs = _tables(root, 2)
    if not graphs:
        return None
    slot = _slot(graphs[0], 1)
    if not slot or graphs[0].VectorLen(slot) < 1:
        return None
    index = struct.unpack_from("<i", graphs[0].Bytes, graphs[0].Vector(slot))[0]
    tensors = _tables(graphs[0], 0)
    return _scalar(tensors[index], 1, "<b") if 0 <= index < len(tensors) else None


def _metadata_buffer(model: bytes, root: Table) -> bytes | None:
    for entry in _tables(root, 6):
        if _string(entry, 0) != METADATA_NAME:
            continue
        index = _scalar(entry, 1, "<I")
        buffers = _tables(root, 4)
        if index >= len(buffers):
            raise ValueError(f"{METADATA_NAME} points at buffer {index} of {len(buffers)}")
        offset, size = _scalar(buffers[index], 1, "<Q"), _scalar(buffers[index], 2, "<Q")
        if offset > 1:
            return bytes(model[offset:offset + size])
        slot = _slot(buffers[index], 0)
        if not slot:
            return b""
        start = buffers[index].Vector(slot)
        return bytes(model[start:start + buffers[index].VectorLen(slot)])
    return None


def _slot(table: Table, field: int) -> int:
    """Where field number `field` of the table is (relative to the table), 0 when absent."""
    return table.Offset(4 + 2 * field)  # the vtable's entries start after its two uint16 sizes


def _tables(table: Table, field: int) -> list[Table]:
    slot = _slot(table, field)
    if not slot:
        return []
    start, count = table.Vector(slot), table.VectorLen(slot)
    if count > len(table.Bytes) // 4:
        raise ValueError(f"a vector of {count} entries in a {len(table.Bytes)}-byte model")
    return [Table(table.Bytes, table.Indirect(start + 4 * i)) for i in range(count)]


def _string(table: Table, field: int) -> str | None:
    slot = _slot(table, field)
    return table.String(table.Pos + slot).decode("utf-8") if slot else None


def _scalar(table: Table, field: int, layout: str) -> int:
    slot = _slot(table, field)
    return struct.unpack_from(layout, table.Bytes, table.Pos + slot)[0] if slot else 0


def _normalisation(tensor, name: str) -> tuple[float | None, float | None]:
    for unit in (tensor and tensor.processUnits) or ():
        if unit.optionsType != fb.ProcessUnitOptions.NormalizationOptions or unit.options is None:
            continue
        mean = np.asarray(unit.options.mean if unit.options.mean is not None else [], np.float64).ravel()
        std = np.asarray(unit.options.std if unit.options.std is not None else [], np.float64).ravel()
        if mean.size == 0 or std.size == 0:
            return None, None
        # One value for every channel is what the pixel lookup table of the device can apply.
        if np.ptp(mean) or np.ptp(std):
            raise ModelError(f"{name}: its metadata normalises each colour channel differently "
                             f"(mean {mean.tolist()}, std {std.tolist()}); expected one mean and std for all")
        if not np.isfinite([mean[0], std[0]]).all() or std[0] == 0:
            raise ModelError(f"{name}: its metadata's normalisation (mean {mean[0]}, std {std[0]}) "
                             "needs a finite mean and a finite non-zero std")
        return float(mean[0]), float(std[0])
    return None, None


def _labels_file(tensor) -> str | None:
    for item in (tensor and tensor.associatedFiles) or ():
        if item.type == fb.AssociatedFileType.TENSOR_AXIS_LABELS and item.name:
            return _text(item.name)
    return None


def _text(value) -> str | None:
    return value.decode("utf-8") if isinstance(value, bytes) else value
