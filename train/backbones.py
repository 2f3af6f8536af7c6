"""Feature-extractor backbones: Keras' MobileNetV2, or a TF Hub feature-vector module in a registered layer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from antbee.common.errors import UsageError
from antbee.train.fetch import cache_dir, fetch

WEIGHTS_NAME = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/" + WEIGHTS_NAME


@dataclass(frozen=True)
class Backbone:
    """A frozen feature extractor and the pixel scaling it expects: real = pixel * scale + offset."""

    layer: keras.layers.Layer
    scale: float
    offset: float
    name: str


def build_backbone(backbone: str = "mobilenet_v2", weights: str = "imagenet",
                   size: tuple[int, int] = (224, 224)) -> Backbone:
    """Build the backbone named `backbone` (`mobilenet_v2`, `mobilenet_v2:ALPHA` or `tfhub:HANDLE`), frozen."""
    if backbone.startswith("tfhub:"):
        layer = HubFeatureVector(backbone.removeprefix("tfhub:"))
        return Backbone(layer, 1 / 255, 0.0, backbone)  # TF Hub image modules take [0, 1]
    name, _, alpha_text = backbone.partition(":")
    try:
        alpha = float(alpha_text or 1.0)
    except ValueError:
        alpha = 0.0
    if name != "mobilenet_v2" or alpha <= 0:
        raise UsageError(f"--backbone {backbone!r}: expected mobilenet_v2[:ALPHA] or tfhub:HANDLE_OR_PATH")
    if alpha != 1.0 and weights != "none":
        raise UsageError(f"--backbone {backbone!r}: only alpha 1.0 has bundled weight handling; use --weights none")
    resolved = resolve_weights(weights)
    try:
        model = keras.applications.MobileNetV2(input_shape=(*size, 3), alpha=alpha, include_top=False,
                                               pooling="avg", weights=resolved)
    except (ValueError, OSError) as exc:
        raise UsageError(f"--weights {weights}: cannot load MobileNetV2 weights ({_short(exc)})") from None
    model.trainable = False
    return Backbone(model, 1 / 127.5, -1.0, backbone)  # MobileNetV2 takes [-1, 1]


def resolve_weights(weights: str) -> str | None:
    """`imagenet` -> the file in Keras' cache (downloaded once); `none` -> None; else a path that must exist."""
    if weights == "none":
        return None
    if weights == "imagenet":
        return str(fetch(WEIGHTS_URL, cache_dir("models") / WEIGHTS_NAME, "ImageNet weights",
                         "offline? pass --weights PATH to a local copy of " + WEIGHTS_NAME))
    if not Path(weights).is_file():
        raise UsageError(f"--weights {weights}: no such file (expected imagenet, none or a .h5 weights file)")
    return weights


@keras.saving.register_keras_serializable(package="antbee")
class HubFeatureVector(keras.layers.Layer):
    """A TF Hub image feature-vector module (a TF2 SavedModel) as a frozen Keras 3 layer.

    `hub.KerasLayer` is a tf-keras (Keras 2) layer and cannot sit in a Keras 3 model, so the
    module is loaded with TensorFlow and called through its serving signature.
    """

    def __init__(self, handle: str, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self.handle = handle
        self._module = _load_hub_module(handle)
        signature = self._module.signatures.get("serving_default")
        if signature is None:
            raise UsageError(f"tfhub:{handle}: the module has no serving_default signature")
        self._signature = signature
        self._input_name = next(iter(signature.structured_input_signature[1]))

    def call(self, inputs):
        outputs = self._signature(**{self._input_name: tf.cast(inputs, tf.float32)})
        return next(iter(outputs.values()))

    def compute_output_shape(self, input_shape):
        outputs = self._signature.structured_outputs
        return (input_shape[0], next(iter(outputs.values())).shape[-1])

    def get_config(self):
        return {**super().get_config(), "handle": self.handle}


def _load_hub_module(handle: str):
    if Path(handle).exists():
        try:
            return tf.saved_model.load(handle)
        except (OSError, ValueError) as exc:
            raise UsageError(f"tfhub:{handle}: not a loadable SavedModel ({_short(exc)})") from None
    import tensorflow_hub as hub  # resolves tfhub.dev / Kaggle handles into its own cache

    try:
        return hub.load(handle)
    except (OSError, ValueError) as exc:
        raise UsageError(f"tfhub:{handle}: cannot load ({_short(exc)}); offline? pass a local module folder") from None


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]
