"""Fixtures for the conversion tests: a colour-telling training run (built once per session).

`tiny_run` (tests/conftest.py) has the real architecture, so every TFLite variant converts the real
graph, but it checks conversion, not agreement. `colour_run` is the same pipeline with a small
convolutional backbone in place of MobileNetV2 and `resize="squash"`, so the model really tells the
colours apart (test accuracy 1.0) and agreement with Keras means something.
"""

from __future__ import annotations

import pytest

from run_folders import Run, train_run


def _colour_backbone(backbone="mobilenet_v2", weights="imagenet", size=(224, 224)):
    import keras

    from antbee.train.backbones import Backbone

    layer = keras.Sequential([
        keras.layers.Conv2D(8, 8, strides=8, activation="relu", name="colour_conv",
                            kernel_initializer=keras.initializers.GlorotUniform(seed=1),
                            bias_initializer=keras.initializers.Constant(0.05)),
        keras.layers.GlobalAveragePooling2D(name="colour_pool"),
    ], name="colour_backbone")
    return Backbone(layer, 1 / 255, 0.0, "colour")


@pytest.fixture(scope="session")
def colour_run(colour_data, tmp_path_factory) -> Run:
    """The real pipeline with a small conv backbone that separates the colours."""
    import antbee.train.backbones as backbones

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backbones, "build_backbone", _colour_backbone)
        run = train_run(colour_data, tmp_path_factory.mktemp("colour") / "run", resize="squash")
    assert run.metrics["accuracy"] == 1.0, "precondition: the colour model must separate the colours"
    return run
