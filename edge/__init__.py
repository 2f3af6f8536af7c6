"""antbee.edge: the device runtime (numpy, OpenCV and a TFLite interpreter; never TensorFlow)."""

from __future__ import annotations

import importlib

# Loaded on first use (PEP 562), so `antbee-edge --help` and `import antbee.edge` stay
# free of numpy and OpenCV.
_EXPORTS = {
    "Classification": "antbee.edge.classifier",
    "Classifier": "antbee.edge.classifier",
    "ClassifierOptions": "antbee.edge.classifier",
    "AntbeeError": "antbee.common.errors",
    "ImageError": "antbee.common.errors",
    "ModelError": "antbee.common.errors",
    "UsageError": "antbee.common.errors",
    "load_rgb": "antbee.edge.preprocess",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'antbee.edge' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
