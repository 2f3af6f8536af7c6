"""Tiny training runs for the tests: the options that make them fast, and copying and comparing run folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import NamedTuple

from antbee.common.runs import KERAS_MODEL, LABELS, METRICS, SPLIT

# MobileNetV2 alpha 0.35 without pretrained weights: fast, but its features carry no reliable signal,
# so tests of tiny runs check what the pipeline does and writes, not how accurate it is.
TINY = {"backbone": "mobilenet_v2:0.35", "weights": "none"}
TINY_ARGS = ["--backbone", "mobilenet_v2:0.35", "--weights", "none"]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` and its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(folder: Path) -> list[str]:
    """Temporary or half-written files: `.verifying`, `.tmp`, hidden files."""
    return [p.name for p in folder.rglob("*")
            if p.name.endswith((".verifying", ".tmp")) or p.name.startswith(".")]


def copy_run(run: Path, to: Path) -> Path:
    """A copy of a run folder's training outputs (no converted models)."""
    to.mkdir(parents=True)
    for name in (KERAS_MODEL, LABELS, SPLIT, METRICS):
        shutil.copy(run / name, to / name)
    return to


class Run(NamedTuple):
    """A training run's folder and its metrics."""

    out: Path
    metrics: dict


def train_run(data: Path, out: Path, **options) -> Run:
    """Train a tiny run (TINY, L-BFGS head, a quarter of the images to test) on `data` into `out`."""
    from antbee.train.run import TrainOptions, train

    train(TrainOptions(data=str(data), out=str(out), test_size=0.25, seed=0, **{**TINY, **options}))
    return Run(out, json.loads((out / METRICS).read_text()))
