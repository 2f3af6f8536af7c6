"""Input and output tensors of a TFLite classifier: quantize pixels in, dequantize scores out."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from antbee.common.errors import ModelError


class InputSpec(NamedTuple):
    """What the input tensor takes: its index, (height, width), dtype, and the pixel lookup table."""

    index: int
    size: tuple[int, int]
    dtype: np.dtype
    lut: np.ndarray | None  # pixel value 0..255 -> tensor value; None when they are equal


def input_spec(interpreter, mean: float | None, std: float | None) -> InputSpec:
    """Describe the model's input; `mean`/`std` give the real value the model wants: (pixel - mean) / std.

    With no mean/std (a plain .tflite without metadata) a quantized input takes raw pixels,
    the convention of Google's and Coral's quantized classifiers, and a float input takes
    (pixel - 127.5) / 127.5, MobileNet's convention.
    """
    details = interpreter.get_input_details()
    if len(details) != 1:
        raise ModelError(f"expected a model with one input tensor, found {len(details)}")
    detail = details[0]
    shape = tuple(int(d) for d in detail["shape"])
    if len(shape) != 4 or shape[0] != 1 or shape[3] != 3 or min(shape[1:3]) < 1:
        raise ModelError(f"expected an image input of shape [1, height, width, 3], found {list(shape)}")
    dtype = np.dtype(detail["dtype"])
    if dtype not in (np.uint8, np.int8, np.float32):
        raise ModelError(f"expected a uint8, int8 or float32 input tensor, found {dtype}")
    scale, zero_point = detail["quantization"]
    pixels = np.arange(256, dtype=np.float64)
    if dtype == np.float32:
        real = (pixels - (127.5 if mean is None else mean)) / (127.5 if std is None else std)
        lut = real.astype(np.float32)
    elif mean is None or std is None or not scale:
        lut = pixels if dtype == np.uint8 else pixels - 128  # raw pixels (int8: shifted by 128)
        lut = lut.astype(dtype)
    else:
        # q = real / scale + zero_point, clipped to the integer range.
        info = np.iinfo(dtype)
        q = np.round((pixels - mean) / std / scale + zero_point)
        lut = np.clip(q, info.min, info.max).astype(dtype)
    identity = dtype == np.uint8 and np.array_equal(lut, pixels)
    return InputSpec(detail["index"], (shape[1], shape[2]), dtype, None if identity else lut)


def set_input(interpreter, spec: InputSpec, image: np.ndarray) -> None:
    """Write a prepared uint8 RGB image into the input tensor in place (no per-call allocation)."""
    tensor = interpreter.tensor(spec.index)()[0]
    if spec.lut is None:
        np.copyto(tensor, image)
    else:
        np.take(spec.lut, image, out=tensor, mode="clip")  # "clip" avoids a buffered copy


class OutputSpec(NamedTuple):
    """The output tensor: its index, class count and dequantization."""

    index: int
    classes: int
    scale: float
    zero_point: int


def output_spec(interpreter) -> OutputSpec:
    """Describe the model's score output (the first output tensor, shape [1, classes])."""
    detail = interpreter.get_output_details()[0]
    shape = [int(d) for d in detail["shape"]]
    if len(shape) != 2 or shape[0] != 1 or shape[1] < 1:
        raise ModelError(f"expected scores of shape [1, classes], found {shape}")
    scale, zero_point = detail["quantization"]
    return OutputSpec(detail["index"], shape[1], float(scale), int(zero_point))


def scores(interpreter, spec: OutputSpec) -> np.ndarray:
    """Read the output scores as float32: real = scale * (q - zero_point) for quantized outputs."""
    raw = interpreter.get_tensor(spec.index)[0]
    if spec.scale:
        return (raw.astype(np.float32) - spec.zero_point) * np.float32(spec.scale)
    return raw.astype(np.float32, copy=False)
