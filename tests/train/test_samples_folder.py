"""The retraining loop: the folder antbee-edge --samples writes (DIR/<label>/<time>_<source>.jpg), corrected by
hand, is a data set antbee-train takes as it is."""

from __future__ import annotations

import numpy as np
from run_folders import TINY_ARGS
from typer.testing import CliRunner

from antbee.common.runs import LABELS
from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.runner import Result
from antbee.edge.sampling import SampleOptions, Sampler
from antbee.edge.sources import Frame

RED, BLUE = (20, 30, 220), (220, 30, 20)  # BGR: the tiny models call red "ant", blue "bee"


def test_antbee_train_takes_the_samples_folder_after_a_correction(tiny_models, tmp_path):
    from antbee.train.cli import app

    classifier = Classifier(ClassifierOptions(model=tiny_models.int8))
    samples = tmp_path / "samples"
    now = iter(range(1_800_000_000, 1_800_001_000))
    sampler = Sampler(SampleOptions(samples, below=1.0, per_minute=1000), classifier, clock=lambda: float(next(now)))
    rng = np.random.default_rng(0)
    for index in range(24):  # red and blue frames with a little noise, so no two are the same
        colour = RED if index % 2 else BLUE
        image = np.clip(np.full((64, 64, 3), colour, np.int16) + rng.integers(-20, 20, (64, 64, 3)), 0, 255)
        image = image.astype(np.uint8)
        result = Result("camera 0", classifier.classify_bgr(image), frame=index, source_id="0", latency_ms=1.0)
        sampler.result(result, Frame(index, image, "camera 0"))
    assert {p.name for p in samples.iterdir()} == {"ant", "bee"}
    wrong = next((samples / "bee").glob("*.jpg"))
    wrong.rename(samples / "ant" / wrong.name)  # a person moves one to the other class (on purpose, here)

    out = tmp_path / "run"
    done = CliRunner().invoke(app, [str(samples), "--out", str(out), *TINY_ARGS, "--test-size", "0.25"])
    assert done.exit_code == 0, (done.output, done.exception)
    assert (out / LABELS).read_text().split() == ["ant", "bee"]
