"""One named constructor per TFLite conversion mode (after TFLite Model Maker's QuantizationConfig)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

@dataclass(frozen=True)
class QuantizationConfig:
    """How to set up a TFLiteConverter for one variant."""

    variant: str
    optimize: bool = False
    float16: bool = False
    representative: Callable[[], Iterable[np.ndarray]] | None = None

    @classmethod
    def for_int8(cls, representative: Callable[[], Iterable[np.ndarray]]) -> QuantizationConfig:
        """Full-integer: int8 weights (per channel) and activations, uint8 input and output tensors."""
        return cls("int8", optimize=True, representative=representative)

    @classmethod
    def for_float16(cls) -> QuantizationConfig:
        """float16 weights, float32 computation."""
        return cls("float16", optimize=True, float16=True)

    @classmethod
    def for_dynamic(cls) -> QuantizationConfig:
        """Dynamic range: int8 weights, float activations quantized on the fly."""
        return cls("dynamic", optimize=True)

    @classmethod
    def for_float32(cls) -> QuantizationConfig:
        """No quantization."""
        return cls("float32")

    def apply(self, converter) -> None:
        """Configure a tf.lite.TFLiteConverter for this variant."""
        import tensorflow as tf

        if self.optimize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if self.float16:
            converter.target_spec.supported_types = [tf.float16]
        if self.representative is not None:
            converter.representative_dataset = lambda: ([x[None].astype(np.float32)] for x in self.representative())
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            # uint8 at both ends: the device feeds camera pixels as they are and reads 0..255 scores.
            converter.inference_input_type = tf.uint8
            converter.inference_output_type = tf.uint8
