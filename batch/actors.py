"""The Ray Data actor: one edge Classifier per worker process, turning batches of paths into result rows."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from antbee.common import logs
from antbee.common.errors import ImageError
from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.loops import quiet_opencv
from antbee.edge.output import format_json
from antbee.edge.preprocess import load_bgr
from antbee.edge.runner import Result, classify_file
from antbee.edge.sources import Unreadable


class ClassifyActor:
    """Opens the model once; each call classifies a batch as antbee-edge does, one JSON line per source.

    The model (and labels file) come as bytes with the job, so no worker needs the driver's files. A batch
    holds `source` (a path or URI), `reason` (why the path cannot be used, or ""), and for a URI its `path`
    on `filesystem` (an index into `filesystems`; -1 for a local path); the output holds `row` (the
    `antbee-edge --json` line), `failed` (an error row) and `worker` (this process's id, so the driver can
    say how many processes did the work).
    """

    def __init__(self, options: ClassifierOptions, model: bytes, labels: bytes | None = None,
                 filesystems: tuple = ()):
        self.filesystems = filesystems
        logs.configure(False)  # this worker's libraries as quiet as antbee-edge's; ANTBEE_VERBOSE=1 shows them
        quiet_opencv()  # a bad file's row names the file and reason; OpenCV's own log lines only add noise
        # The interpreter and the labels are read while the Classifier is made, so the copies can go after.
        with tempfile.TemporaryDirectory(prefix="antbee-batch-") as folder:
            model_path = Path(folder, options.model.name)
            model_path.write_bytes(model)
            labels_path = None
            if labels is not None:
                labels_path = Path(folder, options.labels.name if options.labels else "labels.txt")
                labels_path.write_bytes(labels)
            self.classifier = Classifier(replace(options, model=model_path, labels=labels_path))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows, failed = [], []
        for source, reason, path, filesystem in zip(batch["source"], batch["reason"], batch["path"],
                                                    batch["filesystem"], strict=True):
            if filesystem >= 0:
                result = self._classify_remote(str(source), str(path), self.filesystems[filesystem])
            else:
                result = classify_file(self.classifier, Unreadable(Path(source), str(reason)) if reason
                                       else Path(source))
            rows.append(format_json(result, self.classifier))
            failed.append(result.error is not None)
        return {"row": np.array(rows, dtype=object), "failed": np.array(failed, bool),
                "worker": np.full(len(rows), os.getpid())}

    def _classify_remote(self, uri: str, path: str, filesystem) -> Result:
        # As classify_file, with the bytes read through pyarrow rather than open().
        start = time.perf_counter()
        try:
            with filesystem.open_input_file(path) as stream:
                data = stream.read()
        except (OSError, ValueError) as exc:  # a missing object, a refused read; ArrowInvalid is a ValueError
            return Result(uri, error=f"{uri}: cannot read it ({' '.join(str(exc).split())})")
        try:
            image = load_bgr(data, uri, size=self.classifier.input.size, resize=self.classifier.resize)
            classification = self.classifier.classify_bgr(image)
        except ImageError as exc:
            return Result(uri, error=str(exc))
        return Result(uri, classification, latency_ms=1e3 * (time.perf_counter() - start))
