"""Classifier: a .tflite model, its labels and input contract, and `classify(rgb)` returning typed results."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from antbee.edge import metadata, tensors
from antbee.common.errors import ModelError, UsageError
from antbee.edge.interpreter import check_model_file, make_interpreter
from antbee.edge.preprocess import prepare


@dataclass(frozen=True)
class ClassifierOptions:
    """How to open a model; the edge CLI's flags map onto these fields."""

    model: Path
    labels: Path | None = None
    threads: int | None = None
    top_k: int = 1
    threshold: float = 0.0
    runtime: str = "auto"
    reference_kernels: bool = False


class Category(NamedTuple):
    """One class and its score."""

    index: int
    label: str
    score: float


class Timings(NamedTuple):
    """Milliseconds spent per stage of one classification (decoding is the caller's)."""

    preprocess_ms: float
    inference_ms: float
    postprocess_ms: float

    @property
    def total_ms(self) -> float:
        """Preprocess + inference + postprocess."""
        return self.preprocess_ms + self.inference_ms + self.postprocess_ms


@dataclass(frozen=True)
class Classification:
    """The top categories at or above the threshold (best first), every class's score, and timings."""

    categories: tuple[Category, ...]
    scores: np.ndarray
    timings: Timings

    @property
    def top(self) -> Category | None:
        """The best category, or None when none reaches the threshold."""
        return self.categories[0] if self.categories else None


class Classifier:
    """A TFLite image classifier: `classify(rgb)` for RGB uint8 images of any size."""

    def __init__(self, options: ClassifierOptions):
        if options.top_k < 1:
            raise UsageError(f"top-k {options.top_k}: expected a positive number")
        if not 0.0 <= options.threshold <= 1.0:
            raise UsageError(f"threshold {options.threshold}: expected a score between 0 and 1")
        self.options = options
        content = check_model_file(options.model)
        self.info = metadata.read(content, str(options.model))
        self.interpreter = make_interpreter(content, options.threads, options.runtime,
                                            options.reference_kernels, name=str(options.model))
        info = self.info or metadata.ModelInfo(labels=())
        self.input = tensors.input_spec(self.interpreter, info.mean, info.std)
        if info.size is not None and tuple(info.size) != self.input.size:
            raise ModelError(f"{options.model}: its metadata says input {info.size[0]}x{info.size[1]}, "
                             f"but the input tensor is {self.input.size[0]}x{self.input.size[1]}")
        self.output = tensors.output_spec(self.interpreter)
        self.labels = self._labels(options)
        self.resize = info.resize or "squash"  # plain models: the usual whole-frame resize
        self._buffer = np.empty((*self.input.size, 3), np.uint8)

    def classify(self, rgb: np.ndarray) -> Classification:
        """Classify one RGB uint8 image (HxWx3, any size)."""
        return self._classify(rgb, bgr=False)

    def classify_bgr(self, bgr: np.ndarray) -> Classification:
        """Classify one BGR uint8 image, as OpenCV decodes and captures them."""
        return self._classify(bgr, bgr=True)

    def _classify(self, image: np.ndarray, bgr: bool) -> Classification:
        start = time.perf_counter()
        self._set_input(image, bgr)
        invoked = time.perf_counter()
        self.interpreter.invoke()
        done = time.perf_counter()
        scores = tensors.scores(self.interpreter, self.output)
        # Ties (common with uint8 scores: 0.5/0.5) go to the lower class index, as argmax does in the
        # converter's verification and the benchmark, so the device and its report cannot disagree.
        order = np.argsort(-scores, kind="stable")[: self.options.top_k]
        categories = tuple(Category(int(i), self.labels[i], float(scores[i]))
                           for i in order if scores[i] >= self.options.threshold)
        end = time.perf_counter()
        timings = Timings(1e3 * (invoked - start), 1e3 * (done - invoked), 1e3 * (end - done))
        return Classification(categories, scores, timings)

    def _set_input(self, image: np.ndarray, bgr: bool) -> None:
        if self.input.lut is None:
            # A raw-pixel input: resize straight into the tensor's own buffer, no copy. The view
            # must not outlive this call, or invoke() refuses to run while it pins the buffer.
            prepare(image, self.input.size, self.resize, bgr=bgr, out=self.interpreter.tensor(self.input.index)()[0])
        else:
            prepared = prepare(image, self.input.size, self.resize, bgr=bgr, out=self._buffer)
            tensors.set_input(self.interpreter, self.input, prepared)

    def _labels(self, options: ClassifierOptions) -> tuple[str, ...]:
        if options.labels is not None:
            labels = tuple(metadata.read_labels_file(options.labels))
            source = str(options.labels)
        elif self.info is not None and self.info.labels:
            labels, source = self.info.labels, f"the labels inside {options.model}"
        else:
            return tuple(str(i) for i in range(self.output.classes))
        if len(labels) != self.output.classes:
            raise ModelError(f"{source}: {len(labels)} labels, but the model outputs "
                             f"{self.output.classes} scores")
        return labels
