"""antbee.edge: the device runtime (numpy, OpenCV and a TFLite interpreter; never TensorFlow)."""

from antbee.edge.errors import AntbeeError, ImageError, ModelError, UsageError
from antbee.edge.preprocess import IMAGE_SIZE, RESIZE_MODES, load_rgb, prepare, preprocess

__all__ = [
    "AntbeeError",
    "IMAGE_SIZE",
    "ImageError",
    "ModelError",
    "RESIZE_MODES",
    "UsageError",
    "load_rgb",
    "prepare",
    "preprocess",
]
