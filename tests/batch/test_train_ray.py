"""antbee-train --ray: backbone features from Ray actors equal the local ones, and so do the run's metrics."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from run_folders import train_run

pytest.importorskip("ray")


def test_features_from_actors_equal_the_local_ones(ray_address):
    import keras

    from antbee.batch.features import RayFeatures
    from antbee.train.backbones import build_backbone
    from antbee.train.fit import extract_features
    from antbee.train.model import build_models

    keras.utils.set_random_seed(0)
    models = build_models(build_backbone("mobilenet_v2:0.35", "none", (96, 96)), 2, (96, 96))
    pixels = np.random.default_rng(0).integers(0, 256, (70, 96, 96, 3)).astype(np.uint8)
    steps = []
    remote = RayFeatures(ray_address)(models.features, pixels, progress=steps.append)
    local = extract_features(models.features, pixels)
    assert remote.shape == local.shape == (70, models.features.output.shape[-1])
    np.testing.assert_allclose(remote, local, rtol=1e-5, atol=1e-6)
    assert steps == [32, 32, 6]
    assert np.std(local) > 0  # the comparison is of real, varying features


def _small_feature_model(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D()])


def test_a_new_model_gets_new_actors_even_after_the_old_one_is_dropped(ray_address):
    from antbee.batch.features import RayFeatures
    from antbee.train.fit import extract_features

    pixels = np.random.default_rng(1).integers(0, 256, (5, 8, 8, 3)).astype(np.uint8)
    features = RayFeatures(ray_address)
    first = _small_feature_model(1)
    features(first, pixels)
    dropped = weakref.ref(first)
    del first
    gc.collect()
    # A freed model's id can be handed to the next object, so the cached actors must hold their model.
    assert dropped() is not None
    second = _small_feature_model(2)
    np.testing.assert_allclose(features(second, pixels), extract_features(second, pixels), rtol=1e-5, atol=1e-6)
    assert not np.allclose(extract_features(second, pixels), extract_features(dropped(), pixels))


def test_training_with_ray_gives_the_same_features_and_metrics(ray_address, colour_data, tmp_path, monkeypatch):
    import keras

    import antbee.batch.features as ray_features
    import antbee.train.fit as fit

    seen: dict[str, list[np.ndarray]] = {"local": [], "ray": []}
    local_extract, ray_call = fit.extract_features, ray_features.RayFeatures.__call__

    def recording_local(*args, **kwargs):
        seen["local"].append(local_extract(*args, **kwargs))
        return seen["local"][-1]

    def recording_ray(self, *args, **kwargs):
        seen["ray"].append(ray_call(self, *args, **kwargs))
        return seen["ray"][-1]

    monkeypatch.setattr(fit, "extract_features", recording_local)
    monkeypatch.setattr(ray_features.RayFeatures, "__call__", recording_ray)
    keras.utils.set_random_seed(0)  # the untrained backbone's random weights, the same in both runs
    local = train_run(colour_data, tmp_path / "local")
    keras.utils.set_random_seed(0)
    distributed = train_run(colour_data, tmp_path / "ray", ray=ray_address)

    assert len(seen["ray"]) == len(seen["local"]) == 3  # train, mirrored train, test
    for remote, here in zip(seen["ray"], seen["local"], strict=True):
        np.testing.assert_allclose(remote, here, rtol=1e-5, atol=1e-6)
    assert distributed.metrics["config"].pop("ray") == ray_address
    assert local.metrics["config"].pop("ray") is None
    assert distributed.metrics["config"].pop("data") == local.metrics["config"].pop("data")
    assert distributed.metrics["config"].pop("out") != local.metrics["config"].pop("out")
    assert distributed.metrics == local.metrics  # same split, accuracy, confusion matrix, chosen C


def test_a_blank_ray_address_is_refused_before_any_work():
    from antbee.common.errors import UsageError
    from antbee.train.run import TrainOptions, validate

    with pytest.raises(UsageError, match="--ray"):
        validate(TrainOptions(ray=" "))
