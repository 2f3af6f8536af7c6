"""Write standard TFLite Metadata for an image classifier into .tflite bytes (workstation side: needs TensorFlow).

The metadata is built with the official generated schema (the flatbuffers object API) and put
into the model with TensorFlow Lite's own flatbuffer tools, as MediaPipe's and TFLite Support's
metadata writers do; neither writer installs beside this project's TensorFlow (see
docs/metadata.md). The associated files (labels, antbee's contract) are packed after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import flatbuffers
import numpy as np

from antbee.edge import metadata_schema_py_generated as fb
from antbee.edge.metadata import INFO_NAME, LABELS_NAME, ModelInfo, pack_files
from antbee.edge.standard_metadata import METADATA_IDENTIFIER, METADATA_NAME

# Nothing written here is newer than schema 1.0.0 (see the history in metadata_schema.fbs).
MIN_PARSER_VERSION = "1.0.0"


@dataclass(frozen=True)
class ModelCard:
    """The human side of the metadata: what the model is called and who made it."""

    name: str
    description: str
    version: str
    author: str | None = None
    license: str | None = None


def with_metadata(model: bytes, info: ModelInfo, card: ModelCard, contract: bool = True) -> bytes:
    """Return `model` with standard image-classifier metadata, its labels file and (with `contract`) antbee.json.

    `info.mean`/`info.std` say what the model wants, (pixel - mean) / std; None means raw pixels.
    """
    from tensorflow.lite.python import schema_py_generated as schema

    tflite = _read_model(model)
    graph = tflite.subgraphs[0]
    integer_input = graph.tensors[graph.inputs[0]].type in (schema.TensorType.UINT8, schema.TensorType.INT8)
    files = {LABELS_NAME: "".join(f"{label}\n" for label in info.labels)}
    if contract:
        files[INFO_NAME] = info.to_json()
    return _populate(tflite, image_classifier_metadata(info, card, integer_input, contract), files)


def populate(model: bytes, metadata: bytes, files: dict[str, str]) -> bytes:
    """Return `model` with the `metadata` flatbuffer as its TFLITE_METADATA and `files` packed after it."""
    return _populate(_read_model(model), metadata, files)


def _read_model(model: bytes):
    from tensorflow.lite.tools import flatbuffer_utils

    return flatbuffer_utils.read_model_from_bytearray(bytearray(model))


def _populate(tflite, metadata: bytes, files: dict[str, str]) -> bytes:
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    buffer = schema.BufferT()
    buffer.data = np.frombuffer(metadata, np.uint8)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(tflite.buffers)
    tflite.buffers.append(buffer)
    tflite.metadata = [m for m in tflite.metadata or () if m.name not in (METADATA_NAME, METADATA_NAME.encode())]
    tflite.metadata.append(entry)
    return pack_files(flatbuffer_utils.convert_object_to_bytearray(tflite), files)


def image_classifier_metadata(info: ModelInfo, card: ModelCard, integer_input: bool, contract: bool) -> bytes:
    """The TFLITE_METADATA flatbuffer: one subgraph, an RGB image in, one score per label out."""
    mean = 0.0 if info.mean is None else info.mean
    std = 1.0 if info.std is None else info.std
    normalisation = fb.ProcessUnitT()
    normalisation.optionsType = fb.ProcessUnitOptions.NormalizationOptions
    normalisation.options = fb.NormalizationOptionsT()
    normalisation.options.mean, normalisation.options.std = [mean] * 3, [std] * 3
    image = fb.TensorMetadataT()
    image.name = "image"
    image.description = (f"RGB image, {_size(info)}, as pixels 0..255; the model takes (pixel - {mean:g}) / {std:g}"
                         + (f", after a {info.resize} resize" if info.resize else ""))
    image.content = _content(fb.ContentProperties.ImageProperties, fb.ImagePropertiesT())
    image.content.contentProperties.colorSpace = fb.ColorSpaceType.RGB
    image.processUnits = [normalisation]
    # The input's value range: raw integers for a quantized input, else the normalised pixel range.
    low, high = (0.0, 255.0) if integer_input else ((0.0 - mean) / std, (255.0 - mean) / std)
    image.stats = _stats(low, high)

    labels = fb.AssociatedFileT()
    labels.name, labels.type = LABELS_NAME, fb.AssociatedFileType.TENSOR_AXIS_LABELS
    labels.description = "The class labels, one a line, in the order of the scores."
    scores = fb.TensorMetadataT()
    scores.name = "probability"
    scores.description = f"Probability of each of the {len(info.labels)} labels."
    scores.content = _content(fb.ContentProperties.FeatureProperties, fb.FeaturePropertiesT())
    scores.stats = _stats(0.0, 1.0)
    scores.associatedFiles = [labels]

    subgraph = fb.SubGraphMetadataT()
    subgraph.name = "image_classifier"
    subgraph.inputTensorMetadata, subgraph.outputTensorMetadata = [image], [scores]
    model = fb.ModelMetadataT()
    model.name, model.description, model.version = card.name, card.description, card.version
    model.author, model.license = card.author, card.license
    model.subgraphMetadata = [subgraph]
    model.minParserVersion = MIN_PARSER_VERSION
    if contract:
        own = fb.AssociatedFileT()
        own.name, own.type = INFO_NAME, fb.AssociatedFileType.UNKNOWN
        own.description = "antbee's input contract (input size, resize mode crop or squash, normalisation), JSON."
        model.associatedFiles = [own]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=METADATA_IDENTIFIER)
    return bytes(builder.Output())


def _content(kind: int, properties) -> fb.ContentT:
    content = fb.ContentT()
    content.contentPropertiesType, content.contentProperties = kind, properties
    return content


def _stats(low: float, high: float) -> fb.StatsT:
    stats = fb.StatsT()
    stats.min, stats.max = [low], [high]
    return stats


def _size(info: ModelInfo) -> str:
    return "any size" if info.size is None else f"{info.size[1]}x{info.size[0]}"
