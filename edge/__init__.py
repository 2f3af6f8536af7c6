"""antbee.edge: the device runtime (numpy, OpenCV and a TFLite interpreter; never TensorFlow)."""

from antbee.edge.classifier import Classification, Classifier, ClassifierOptions
from antbee.edge.errors import AntbeeError, ImageError, ModelError, UsageError
from antbee.edge.preprocess import load_rgb

__all__ = [
    "AntbeeError",
    "Classification",
    "Classifier",
    "ClassifierOptions",
    "ImageError",
    "ModelError",
    "UsageError",
    "load_rgb",
]
