"""Peak RSS of a fresh process classifying the test images: the edge runtime against Keras.

Each side runs alone in its own process, `python -m antbee.benchmarks.memory edge|keras MODEL
IMAGES.json --result FILE`, so its peak holds only what that side loads: the edge runtime never
imports TensorFlow, the Keras side imports nothing of the interpreter's.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from antbee.benchmarks.results import Memory
from antbee.benchmarks.worker import run_module, write_result

SIDES = ("edge", "keras")


def peak_memory(side: str, model: Path, data: str, sources: list[str], resize: str, label: str) -> Memory:
    """Classify `sources` (names inside `data`) in a subprocess on `side`; return its peak RSS."""
    if side not in SIDES:
        raise ValueError(f"side {side!r}: expected one of {SIDES}")
    with tempfile.TemporaryDirectory(prefix="antbee-bench-") as folder:
        images = Path(folder) / "images.json"
        images.write_text(json.dumps({"data": data, "sources": sources, "resize": resize}))
        finished = run_module(__name__, [side, str(model), str(images)])
    return Memory(label, round(finished.result["peak_rss_mb"], 1), int(finished.result["images"]), finished.seconds)


def classify_edge(model: Path, data: str, sources: list[str]) -> int:
    """Decode and classify each image with the edge runtime, as antbee-edge does; return how many."""
    from antbee.edge.classifier import Classifier, ClassifierOptions
    from antbee.edge.preprocess import load_bgr
    from antbee.train.data import DataSource

    classifier = Classifier(ClassifierOptions(model=model))
    with DataSource(data) as source:
        for name in sources:
            image = load_bgr(source.read(name), name, size=classifier.input.size, resize=classifier.resize)
            classifier.classify_bgr(image)
    return len(sources)


def classify_keras(model_path: Path, data: str, sources: list[str], resize: str) -> int:
    """Decode and classify each image with the Keras model's compiled call; return how many."""
    import numpy as np
    import tensorflow as tf

    from antbee.convert.tflite import load_keras_model
    from antbee.edge.preprocess import IMAGE_SIZE, preprocess
    from antbee.train.data import DataSource

    model = load_keras_model(model_path)
    compiled = tf.function(lambda x: model(x, training=False))
    with DataSource(data) as source:
        for name in sources:
            pixels = preprocess(source.read(name), IMAGE_SIZE, resize, name=name)
            compiled(tf.constant(pixels[None].astype(np.float32))).numpy()
    return len(sources)


def main() -> None:
    """The worker's entry point: internal to antbee-bench (which starts it), so plain argparse, not a command."""
    parser = argparse.ArgumentParser(prog="python -m antbee.benchmarks.memory")
    parser.add_argument("side", choices=SIDES)
    parser.add_argument("model", type=Path)
    parser.add_argument("images", type=Path)
    parser.add_argument("--result", required=True)
    args = parser.parse_args()
    images = json.loads(args.images.read_text())
    if args.side == "edge":
        count = classify_edge(args.model, images["data"], images["sources"])
    else:
        count = classify_keras(args.model, images["data"], images["sources"], images["resize"])
    write_result(args.result, {"images": count})


if __name__ == "__main__":
    main()
