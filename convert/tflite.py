"""Keras model -> SavedModel -> .tflite bytes with standard TFLite Metadata, the labels and input contract inside."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from antbee.convert.quantization import QuantizationConfig
from antbee.common.errors import ModelError, UsageError
from antbee.common.files import write_atomic
from antbee.common.runs import KERAS_MODEL
from antbee.convert.metadata_writer import ModelCard, with_metadata
from antbee.edge.metadata import ModelInfo


def load_keras_model(path: Path):
    """Load a `.keras` file with safe_mode (no code from the file runs); errors say why it cannot load."""
    import keras

    import antbee.train.backbones  # noqa: F401  registers the TF Hub layer for deserialization

    if not path.is_file():
        raise UsageError(f"{path}: model not found (expected a {KERAS_MODEL} or a run folder from antbee-train)")
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except ValueError as exc:
        text = " ".join(str(exc).split())
        if "safe_mode" in text or "unsafe" in text.lower() or "lambda" in text.lower():
            raise ModelError(f"{path}: refuses to load: it needs unsafe deserialization (e.g. a Lambda layer)") from None
        raise ModelError(f"{path}: not a loadable Keras model ({text[:200]})") from None
    except (OSError, TypeError, KeyError, EOFError) as exc:
        raise ModelError(f"{path}: not a loadable Keras model ({type(exc).__name__}: {str(exc)[:200]})") from None


def convert(model, config: QuantizationConfig) -> bytes:
    """Convert a Keras model through a SavedModel export (the reliable path under Keras 3)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="antbee-export-") as folder:
        model.export(folder, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        config.apply(converter)
        return converter.convert()


def write_model(content: bytes, info: ModelInfo, card: ModelCard, path: Path) -> Path:
    """Write the model with its metadata and packed files, atomically."""
    return write_atomic(path, with_metadata(content, info, card))
