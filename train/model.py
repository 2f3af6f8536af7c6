"""The classifier: raw RGB pixels -> Rescaling -> frozen backbone -> Dropout -> Dense -> Softmax."""

from __future__ import annotations

from typing import NamedTuple

import keras

from antbee.train.backbones import Backbone


class Models(NamedTuple):
    """The full model and its two halves, which share layers (and so weights)."""

    full: keras.Model  # uint8-valued float pixels in, probabilities out
    features: keras.Model  # pixels in, backbone features out
    head: keras.Model  # features in, logits out (what training fits)


def build_models(backbone: Backbone, classes: int, size: tuple[int, int] = (224, 224),
                 dropout: float = 0.5, l2: float = 0.0) -> Models:
    """Build the classifier around `backbone`; the model normalises its own input."""
    pixels = keras.Input((*size, 3), name="pixels")  # RGB 0..255, so a converted model needs no outside maths
    scaled = keras.layers.Rescaling(backbone.scale, backbone.offset, name="normalize")(pixels)
    features = backbone.layer(scaled, training=False)  # batch norm stays in inference mode
    feature_model = keras.Model(pixels, features, name="features")

    feature_input = keras.Input((features.shape[-1],), name="features")
    regularizer = keras.regularizers.L2(l2) if l2 else None
    dropout_layer = keras.layers.Dropout(dropout, name="dropout")
    dense = keras.layers.Dense(classes, kernel_regularizer=regularizer, name="logits")
    head = keras.Model(feature_input, dense(dropout_layer(feature_input)), name="head")

    logits = dense(dropout_layer(features))
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    full = keras.Model(pixels, probabilities, name="antbee_classifier")
    return Models(full, feature_model, head)
