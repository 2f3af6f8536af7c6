"""antbee-train --ray: the frozen backbone's features computed by Ray actors, each loading the backbone once."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from antbee.batch.cluster import connect_ray
from antbee.common import logs

# Images sent to an actor at a time: the batch extract_features runs locally, so the sums are the same.
CHUNK = 32


class FeatureActor:
    """Holds the feature model (pixels in, backbone features out) and runs it on chunks of images."""

    def __init__(self, model: bytes):
        logs.configure(False)  # before TensorFlow loads in this worker; ANTBEE_VERBOSE=1 still shows its lines
        import keras

        import antbee.train.backbones  # noqa: F401 - registers the TF Hub layer a saved model may hold

        with tempfile.TemporaryDirectory(prefix="antbee-features-") as folder:
            path = Path(folder, "features.keras")
            path.write_bytes(model)
            self.model = keras.saving.load_model(path, compile=False)

    def features(self, pixels: np.ndarray) -> np.ndarray:
        """N x D features of N images, as antbee.train.fit.extract_features computes them."""
        from antbee.train.fit import extract_features

        return extract_features(self.model, pixels, batch_size=CHUNK)


class RayFeatures:
    """A drop-in for antbee.train.fit.extract_features that runs the feature model on Ray actors.

    One actor per node: a batched convolution already uses every core of its machine, so more actors on
    one node would only split its cores. The actors start at the first call and serve every later one.
    """

    def __init__(self, address: str):
        self.address = address
        self._pool = None
        self._model = None  # the model the actors hold; kept, so no later model can take its id

    def __call__(self, feature_model, pixels: np.ndarray, batch_size: int = CHUNK,
                 progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Run the frozen backbone over `pixels` (N x H x W x 3, 0..255) on the actors; N x D features in order."""
        pool = self._actors(feature_model)
        chunks = [pixels[start:start + batch_size] for start in range(0, len(pixels), batch_size)]
        parts = []
        for part in pool.map(lambda actor, chunk: actor.features.remote(chunk), chunks):
            parts.append(part)
            if progress is not None:
                progress(len(part))
        return np.concatenate(parts) if parts else np.zeros((0, feature_model.output.shape[-1]), np.float32)

    def _actors(self, feature_model):
        import ray
        from ray.util import ActorPool

        if self._pool is not None and self._model is feature_model:
            return self._pool
        if not ray.is_initialized():
            # Left running to the end of the process (Ray shuts down at exit): the train and test
            # splits each call this, and the actors serve them all.
            connect_ray(self.address)
        with tempfile.TemporaryDirectory(prefix="antbee-features-") as folder:
            path = Path(folder, "features.keras")
            feature_model.save(path)
            model = ray.put(path.read_bytes())
        nodes = sum(1 for node in ray.nodes() if node["Alive"])
        actor = ray.remote(num_cpus=1, scheduling_strategy="SPREAD")(FeatureActor)
        self._pool = ActorPool([actor.remote(model) for _ in range(max(1, nodes))])
        self._model = feature_model
        return self._pool
