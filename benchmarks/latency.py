"""Batch-1 latency at one thread count: every TFLite model's bare interpreter and Keras, timed in turns."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from antbee.benchmarks.results import COMPILED, INVOKE, KERAS, PREDICT, Latency, Model, stats

# Timed calls run in blocks, one model after another, round after round: load from other jobs on
# this shared machine drifts over seconds, and taking turns spreads that drift over every model
# alike, so the ratios between them stay honest. Within a block a model's weights stay in cache.
BLOCK = 10
MIN_ROUNDS = 10  # short runs use smaller blocks so that they still take turns this often


def open_classifier(path: str | Path, threads: int):
    """A Classifier (the edge runtime's) with `threads` interpreter threads."""
    from antbee.edge.classifier import Classifier, ClassifierOptions

    return Classifier(ClassifierOptions(model=Path(path), threads=threads))


def time_invoke(classifier, image: np.ndarray) -> float:
    """Milliseconds for set_input + invoke of an already-prepared image (no pre/postprocessing)."""
    from antbee.edge import tensors

    interpreter, spec = classifier.interpreter, classifier.input
    start = time.perf_counter()
    tensors.set_input(interpreter, spec, image)
    interpreter.invoke()
    return 1e3 * (time.perf_counter() - start)


def block_size(repeats: int) -> int:
    """Calls per block: BLOCK, or fewer so that `repeats` calls take at least MIN_ROUNDS turns."""
    return max(1, min(BLOCK, repeats // MIN_ROUNDS))


def latencies(models: Sequence[Model], keras: Model | None, threads: int, repeats: int, warmup: int,
              image: np.ndarray, progress=None) -> list[Latency]:
    """Latency rows for the Keras model (both call styles) and every TFLite model at one thread count.

    `image` is an RGB uint8 picture at the Keras model's input size; each TFLite model gets it
    resized to its own input size.
    """
    import cv2

    from antbee.benchmarks.keras_latency import KerasWorker

    worker = KerasWorker(Path(keras.path), image, threads, warmup) if keras is not None else None
    try:
        opened, load_ms, first_ms, inputs = [], [], [], []
        for model in models:
            start = time.perf_counter()
            classifier = open_classifier(model.path, threads)
            load_ms.append(1e3 * (time.perf_counter() - start))
            height, width = classifier.input.size
            prepared = np.ascontiguousarray(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))
            first_ms.append(time_invoke(classifier, prepared))
            for _ in range(warmup):
                time_invoke(classifier, prepared)
            opened.append(classifier)
            inputs.append(prepared)
        samples: list[list[float]] = [[] for _ in models]
        keras_samples: dict[str, list[float]] = {COMPILED: [], PREDICT: []}
        done, size = 0, block_size(repeats)
        while done < repeats:
            block = min(size, repeats - done)
            if worker is not None:
                for call, timings in worker.block(block).items():
                    keras_samples[call].extend(timings)
            for classifier, prepared, timings in zip(opened, inputs, samples):
                timings.extend(time_invoke(classifier, prepared) for _ in range(block))
            done += block
            if progress is not None:
                progress(block)
    finally:
        if worker is not None:
            worker.close()
    rows = [Latency(KERAS, call, threads, worker.load_ms, worker.first_ms[call], stats(timings))
            for call, timings in keras_samples.items()] if worker is not None else []
    return rows + [Latency(model.name, INVOKE, threads, load, first, stats(timings))
                   for model, load, first, timings in zip(models, load_ms, first_ms, samples)]


def thread_counts(requested: Sequence[int], cores: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(counts to measure, counts that were over the machine's cores): each capped at `cores`, duplicates removed."""
    kept = tuple(dict.fromkeys(min(t, cores) for t in requested))
    capped = tuple(dict.fromkeys(t for t in requested if t > cores))
    return kept, capped
