"""Load bit-flipped copies of a .tflite with antbee's Classifier, each in a forked child; print outcome counts.

Usage: python flip_worker.py MODEL COUNT SEED. The last stdout line is JSON:
{"tried": N, "loaded": .., "model_error": .., "other_exception": .., "signal": .., "examples": [...]}
A child that dies by a signal is exactly what must never happen to antbee-edge. This worker imports
only antbee.edge (no TensorFlow), so forking it is safe.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.common.errors import AntbeeError

LOADED, MODEL_ERROR, OTHER = 0, 3, 4


def mutate(base: bytes, rng: random.Random) -> bytes:
    """Flip 1 to 8 random bits."""
    data = bytearray(base)
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
    return bytes(data)


def load_in_child(path: Path) -> int:
    """Fork; the child opens the model and classifies one image. Returns the raw wait status."""
    pid = os.fork()
    if pid == 0:
        code = LOADED
        try:
            classifier = Classifier(ClassifierOptions(model=path))
            classifier.classify(np.zeros((40, 50, 3), np.uint8))
        except AntbeeError:
            code = MODEL_ERROR
        except BaseException as exc:  # noqa: BLE001 - exactly what we are counting
            sys.stdout.write(json.dumps({"exception": f"{type(exc).__name__}: {exc}"[:300]}) + "\n")
            code = OTHER
        sys.stdout.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def main() -> None:
    model, count, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    base = model.read_bytes()
    rng = random.Random(seed)
    counts = {"tried": 0, "loaded": 0, "model_error": 0, "other_exception": 0, "signal": 0}
    examples = []
    with tempfile.TemporaryDirectory(prefix="antbee-flip-") as folder:
        path = Path(folder) / "mutant.tflite"
        for index in range(count):
            data = mutate(base, rng)
            path.write_bytes(data)
            sys.stdout.flush()
            status = load_in_child(path)
            counts["tried"] += 1
            if os.WIFSIGNALED(status):
                counts["signal"] += 1
                kept = Path(folder).parent / f"antbee-crash-{seed}-{index}.tflite"
                kept.write_bytes(data)
                examples.append(f"mutant {index}: signal {os.WTERMSIG(status)} (kept as {kept})")
            else:
                code = os.WEXITSTATUS(status)
                key = {LOADED: "loaded", MODEL_ERROR: "model_error"}.get(code, "other_exception")
                counts[key] += 1
                if key == "other_exception":
                    examples.append(f"mutant {index}: exit {code}")
    print(json.dumps({**counts, "examples": examples[:10]}))


if __name__ == "__main__":
    main()
