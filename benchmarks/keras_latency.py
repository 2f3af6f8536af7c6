"""Keras batch-1 latency (compiled call and model.predict) in a worker process per thread count.

TensorFlow fixes its thread pools when it initialises, so each thread count needs its own
process. The parent drives it block by block over a pipe (`python -m
antbee.benchmarks.keras_latency MODEL IMAGE.npy THREADS WARMUP`; stdin takes a block size per
line, stdout answers one JSON line per block) and times TFLite between blocks: the two take
turns, never run at once, and see the same background load.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from antbee.benchmarks.results import COMPILED, PREDICT
from antbee.benchmarks.worker import WorkerError, worker_env


class KerasWorker:
    """A running worker: `load_ms`, `first_ms` (per call), and `block(n)` -> {call: [ms, ...]}."""

    def __init__(self, model: Path, image: np.ndarray, threads: int, warmup: int):
        self._folder = tempfile.TemporaryDirectory(prefix="antbee-bench-")
        folder = Path(self._folder.name)
        np.save(folder / "image.npy", image)
        self._log_path = folder / "stderr.txt"
        self._log = open(self._log_path, "wb")
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(model), str(folder / "image.npy"), str(threads), str(warmup)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True, env=worker_env())
        hello = self._answer()
        self.load_ms: float = hello["load_ms"]
        self.first_ms: dict[str, float] = hello["first_ms"]

    def block(self, size: int) -> dict[str, list[float]]:
        """Time `size` compiled calls, then `size` model.predict calls."""
        self._send(str(size))
        return self._answer()

    def close(self) -> None:
        """Stop the worker and remove its files."""
        if self._process.poll() is None:
            try:
                self._send("quit")
                self._process.wait(timeout=30)
            except (OSError, WorkerError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        self._log.close()
        self._folder.cleanup()

    def __enter__(self) -> KerasWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _send(self, line: str) -> None:
        try:
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            raise self._failure() from None

    def _answer(self) -> dict:
        for line in self._process.stdout:  # skip anything a library printed; answers are JSON objects
            if line.startswith("{"):
                return json.loads(line)
        raise self._failure()

    def _failure(self) -> WorkerError:
        self._process.wait()
        self._log.flush()
        tail = self._log_path.read_text(errors="replace").strip().splitlines()[-3:]
        return WorkerError(f"the Keras latency worker exited with {self._process.returncode}: "
                           f"{' | '.join(tail) or 'no output'}")


def serve(model_path: Path, image: np.ndarray, threads: int, warmup: int) -> None:
    """The worker side: set TF's threads, load the model, warm up, then answer block requests on stdin."""
    import tensorflow as tf

    # Both pools get `threads`: intra-op splits each convolution, inter-op would run independent
    # ops side by side; a MobileNet is one chain of ops, so this caps the busy cores at `threads`.
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    from antbee.convert.tflite import load_keras_model

    start = time.perf_counter()
    model = load_keras_model(model_path)
    load_ms = 1e3 * (time.perf_counter() - start)
    batch = image[None].astype(np.float32)
    tensor = tf.constant(batch)
    compiled = tf.function(lambda x: model(x, training=False))

    def call_compiled() -> float:
        start = time.perf_counter()
        compiled(tensor).numpy()
        return 1e3 * (time.perf_counter() - start)

    def call_predict() -> float:
        start = time.perf_counter()
        model.predict(batch, verbose=0)
        return 1e3 * (time.perf_counter() - start)

    calls = {COMPILED: call_compiled, PREDICT: call_predict}
    first = {name: call() for name, call in calls.items()}  # tracing and predict's set-up happen here
    for call in calls.values():
        for _ in range(warmup):
            call()
    _reply({"load_ms": load_ms, "first_ms": first})
    for line in sys.stdin:
        if not line.strip().isdigit():
            break
        size = int(line)
        _reply({name: [call() for _ in range(size)] for name, call in calls.items()})


def _reply(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    """The worker's entry point: internal to antbee-bench (which starts it), so plain argparse, not a command."""
    parser = argparse.ArgumentParser(prog="python -m antbee.benchmarks.keras_latency")
    parser.add_argument("model", type=Path)
    parser.add_argument("image", type=Path)
    parser.add_argument("threads", type=int)
    parser.add_argument("warmup", type=int)
    args = parser.parse_args()
    serve(args.model, np.load(args.image), args.threads, args.warmup)


if __name__ == "__main__":
    main()
