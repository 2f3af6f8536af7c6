"""The Ray Data actor: one edge Classifier per worker process, turning batches of paths into result rows."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from antbee.common import logs
from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.output import format_json
from antbee.edge.runner import classify_file
from antbee.edge.sources import Unreadable


class ClassifyActor:
    """Opens the model once; each call classifies a batch as antbee-edge does, one JSON line per source.

    The model (and labels file) come as bytes with the job, so no worker needs the driver's files. A batch
    holds `source` (a path) and `reason` (why the path cannot be used, or ""); the output holds `row` (the
    `antbee-edge --json` line), `failed` (an error row) and `worker` (this process's id, so the driver can
    say how many processes did the work).
    """

    def __init__(self, options: ClassifierOptions, model: bytes, labels: bytes | None = None):
        logs.configure(False)  # this worker's libraries as quiet as antbee-edge's; ANTBEE_VERBOSE=1 shows them
        _quiet_opencv()  # a bad file's row names the file and reason; OpenCV's own log lines only add noise
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
        for source, reason in zip(batch["source"], batch["reason"], strict=True):
            item = Unreadable(Path(source), str(reason)) if reason else Path(source)
            result = classify_file(self.classifier, item)
            rows.append(format_json(result, self.classifier))
            failed.append(result.error is not None)
        return {"row": np.array(rows, dtype=object), "failed": np.array(failed, bool),
                "worker": np.full(len(rows), os.getpid())}


def _quiet_opencv() -> None:
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # OpenCV 5
    except AttributeError:
        cv2.setLogLevel(2)  # OpenCV 4.x: 2 is LOG_LEVEL_ERROR
