"""Hypothesis fuzzing of the image decoder/preprocessing and the model metadata reader.

Only the documented error type (AntbeeError: ImageError, ModelError, UsageError) may escape.
derandomize=True makes every run, in CI too, try the same examples; the counts below are sized
to keep the fuzzers short and are what tools/reliability_report.py quotes.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from antbee.edge import metadata
from antbee.common.errors import AntbeeError, ModelError
from antbee.edge.preprocess import load_bgr, prepare, preprocess

EXAMPLES = {"arbitrary image bytes": 3000, "mutated JPEG/PNG/GIF/WebP/TIFF/BMP": 5000, "arrays into prepare()": 3000,
            "arbitrary metadata bytes": 3000, "mutated metadata ZIPs": 5000}
SETTINGS = dict(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _seeds() -> list[bytes]:
    from PIL import Image

    rng = np.random.default_rng(3)
    picture = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    seeds = []
    for fmt, kwargs in (("JPEG", {}), ("JPEG", {"progressive": True}), ("PNG", {}), ("GIF", {}), ("WEBP", {}),
                        ("TIFF", {}), ("BMP", {})):
        buffer = io.BytesIO()
        picture.save(buffer, fmt, **kwargs)
        seeds.append(buffer.getvalue())
    return seeds


SEEDS = _seeds()
MODEL_HEAD = b"\x1c\x00\x00\x00TFL3" + bytes(56)


def _packed(labels=("ant", "bee"), only_labels=False) -> bytes:
    if only_labels:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("labels.txt", "\n".join(labels))
        return MODEL_HEAD + buffer.getvalue()
    return metadata.attach(MODEL_HEAD, metadata.ModelInfo(labels=labels, size=(32, 32)))


def _standard(labels=("ant", "bee")) -> bytes:
    """A model flatbuffer (no operators) whose TFLITE_METADATA names a packed labels file, as antbee-convert writes."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    from antbee.convert.metadata_writer import ModelCard, image_classifier_metadata

    info = metadata.ModelInfo(labels=labels, mean=127.5, std=127.5)
    written = image_classifier_metadata(info, ModelCard("fuzz", "seed", "1"), integer_input=False, contract=False)
    model = schema.ModelT()
    model.version, model.buffers = 3, [schema.BufferT(), schema.BufferT()]
    model.buffers[1].data = list(written)
    model.metadata = [schema.MetadataT()]
    model.metadata[0].name, model.metadata[0].buffer = "TFLITE_METADATA", 1
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return metadata.pack_files(bytes(builder.Output()), {"labels.txt": "\n".join(labels)})


META_SEEDS = [_packed(), _packed(("a", "b", "c")), _packed(only_labels=True), _standard()]


@st.composite
def mutated(draw, seeds):
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 12))):
        action = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if action == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "set" and data:
            data[position] = draw(st.sampled_from([0, 0xFF, 0x7F, 0x80, draw(st.integers(0, 255))]))
        elif action == "cut":
            data = data[:position]
        elif action == "insert":
            data[position:position] = draw(st.binary(max_size=16))
        elif action == "delete":
            del data[position:position + draw(st.integers(1, 16))]
    return bytes(data)


def _decode(data: bytes) -> None:
    try:
        image = load_bgr(data, "fuzz")
    except AntbeeError:
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert preprocess(data, (16, 16), name="fuzz").shape == (16, 16, 3)


@settings(max_examples=EXAMPLES["arbitrary image bytes"], **SETTINGS)
@given(st.one_of(st.binary(max_size=2048),
                 st.tuples(st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"GIF89a",
                                            b"BM", b"RIFF\x00\x00\x00\x00WEBPVP8X", b"II*\x00", b"MM\x00*"]),
                           st.binary(max_size=512)).map(b"".join)))
def test_arbitrary_bytes_decode_or_raise_image_error(data):
    _decode(data)


@settings(max_examples=EXAMPLES["mutated JPEG/PNG/GIF/WebP/TIFF/BMP"], **SETTINGS)
@given(mutated(SEEDS))
def test_mutated_images_decode_or_raise_image_error(data):
    _decode(data)


DTYPES = [np.uint8, np.int8, np.uint16, np.int32, np.float32, np.float64, np.bool_]


@st.composite
def arrays(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = tuple(draw(st.lists(st.integers(0, 40), min_size=0, max_size=4)))
    if len(shape) == 3 and draw(st.booleans()):
        shape = (*shape[:2], draw(st.sampled_from([1, 3, 4])))
    array = np.asarray(draw(st.integers(0, 255))).astype(dtype) * np.ones(shape, dtype)
    if array.ndim >= 2 and array.shape[1] > 1 and draw(st.booleans()):
        array = array[:, ::-1]  # non-contiguous views, as a mirrored camera frame is
    return array


@settings(max_examples=EXAMPLES["arrays into prepare()"], **SETTINGS)
@given(arrays(), st.sampled_from(["crop", "squash"]), st.booleans(),
       st.tuples(st.integers(1, 64), st.integers(1, 64)))
def test_prepare_takes_any_array_or_raises_image_error(array, resize, bgr, size):
    try:
        out = prepare(array, size, resize, bgr=bgr)
    except AntbeeError:
        return
    assert out.shape == (*size, 3) and out.dtype == np.uint8


def _read(data: bytes) -> None:
    try:
        info = metadata.read(data, "fuzz.tflite")
    except ModelError as error:
        assert "fuzz.tflite" in str(error)
        return
    assert info is None or all(isinstance(label, str) for label in info.labels)


@settings(max_examples=EXAMPLES["arbitrary metadata bytes"], **SETTINGS)
@given(st.one_of(st.binary(max_size=1024), st.binary(max_size=300).map(lambda b: MODEL_HEAD + b + b"PK\x05\x06"
                                                                        + bytes(18))))
def test_arbitrary_bytes_read_as_metadata_give_info_none_or_model_error(data):
    _read(data)


@settings(max_examples=EXAMPLES["mutated metadata ZIPs"], **SETTINGS)
@given(mutated(META_SEEDS))
def test_mutated_metadata_gives_info_none_or_model_error(data):
    _read(data)
