"""Tiny .tflite models for the tests, built once per session (the `tiny_models` fixture): they decide ant/bee by colour."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

SIZE = 32
LABELS = ("ant", "bee")
RED_BGR = (20, 30, 220)  # decides "ant"
BLUE_BGR = (220, 30, 20)  # decides "bee"


class TinyModels(NamedTuple):
    """Paths of the tiny models: float32 and int8 with labels packed in, a plain int8, a [1, 10] input one."""

    float32: Path
    int8: Path
    plain: Path
    vector_input: Path
    folder: Path


def _colour_model():
    import keras

    inputs = keras.Input((SIZE, SIZE, 3), dtype="float32")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    conv = keras.layers.Conv2D(4, 3, name="conv")
    x = keras.layers.GlobalAveragePooling2D()(conv(x))
    dense = keras.layers.Dense(2, name="dense")
    outputs = keras.layers.Softmax()(dense(x))
    model = keras.Model(inputs, outputs)
    # Filter 0 averages red, filter 1 blue (RGB input); red decides "ant", blue "bee".
    kernel = np.zeros((3, 3, 3, 4), np.float32)
    kernel[:, :, 0, 0] = 1 / 9
    kernel[:, :, 2, 1] = 1 / 9
    conv.set_weights([kernel, np.zeros(4, np.float32)])
    head = np.zeros((4, 2), np.float32)
    head[0] = (10, -10)
    head[1] = (-10, 10)
    dense.set_weights([head, np.zeros(2, np.float32)])
    return model


def _vector_model():
    import keras

    inputs = keras.Input((10,), dtype="float32")
    outputs = keras.layers.Softmax()(keras.layers.Dense(2)(inputs))
    return keras.Model(inputs, outputs)


def _calibration():
    rng = np.random.default_rng(0)
    for i in range(48):
        if i % 2:
            image = rng.integers(0, 256, (1, SIZE, SIZE, 3))
        else:
            image = np.broadcast_to(rng.integers(0, 256, (1, 1, 1, 3)), (1, SIZE, SIZE, 3))
        yield [image.astype(np.float32)]


def _convert(saved_model: Path, int8: bool) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = _calibration
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    return converter.convert()


def build_tiny_models(folder: Path) -> TinyModels:
    """Build the tiny models into `folder` (a TensorFlow import and three conversions)."""
    from antbee.edge.metadata import ModelInfo, attach

    folder.mkdir(parents=True, exist_ok=True)
    _colour_model().export(str(folder / "saved_colour"), verbose=False)
    _vector_model().export(str(folder / "saved_vector"), verbose=False)
    info = ModelInfo(labels=LABELS, size=(SIZE, SIZE), resize="crop", mean=0.0, std=1.0)
    paths = {}
    for name, int8 in (("float32", False), ("int8", True)):
        content = _convert(folder / "saved_colour", int8)
        paths[name] = folder / f"tiny_{name}.tflite"
        paths[name].write_bytes(attach(content, info))
        if int8:
            paths["plain"] = folder / "tiny_plain.tflite"
            paths["plain"].write_bytes(content)
    paths["vector_input"] = folder / "vector_input.tflite"
    paths["vector_input"].write_bytes(_convert(folder / "saved_vector", False))
    return TinyModels(paths["float32"], paths["int8"], paths["plain"], paths["vector_input"], folder)
