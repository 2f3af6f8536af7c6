"""Fixtures for the training tests: tiny synthetic data sets (folders and a ZIP) with bad files, and tiny runs.

The images come from tests/synthetic.py; the runs use run_folders.TINY, so they are fast but check what
the pipeline does and writes, not how accurate it is (the real-data tests do that).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import NamedTuple

import pytest

from antbee.common.runs import HISTORY, METRICS
from run_folders import TINY, TINY_ARGS
from synthetic import FOLDER_BAD, ZIP_BAD, ZIP_UNSAFE, bad_bytes, encode, flat_names, image, write


class DataSets(NamedTuple):
    folder: Path  # train/{red,blue}/img_NNN.jpg + val/{red,blue}/img_NNN.png, with FOLDER_BAD
    flat: Path  # red_001.jpg, blue17.png, green.3.jpg in one folder, 3 classes x 10
    zip: Path  # the flat images under shapes/ in a ZIP, with ZIP_BAD and ZIP_UNSAFE members
    root: Path  # the folder holding all three


@pytest.fixture(scope="session")
def datasets(tmp_path_factory) -> DataSets:
    root = tmp_path_factory.mktemp("datasets")
    folder = root / "folder"
    for part, count, suffix in (("train", 8, ".jpg"), ("val", 4, ".png")):
        for c, colour in enumerate(("red", "blue")):
            for i in range(count):
                seed = 1000 * c + 100 * (part == "val") + i
                write(folder / part / colour / f"img_{i:03d}{suffix}", encode(image(colour, seed), suffix))
    for name, kind in FOLDER_BAD.items():
        write(folder / name, bad_bytes(kind))

    flat = root / "flat"
    for name, (colour, seed) in flat_names().items():
        write(flat / name, encode(image(colour, seed, (48, 36)), Path(name).suffix))

    archive = root / "shapes.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name, (colour, seed) in flat_names().items():
            z.writestr(f"shapes/{name}", encode(image(colour, seed, (48, 36)), Path(name).suffix))
        for i, (name, kind) in enumerate(ZIP_BAD.items()):
            z.writestr(name, bad_bytes(kind, i))
        for i, name in enumerate(ZIP_UNSAFE):
            z.writestr(name, encode(image("red", 5000 + i), ".jpg"))
        z.writestr("__MACOSX/shapes/._red_000.jpg", b"\x00\x05\x16\x07 resource fork")
    return DataSets(folder, flat, archive, root)


class Run(NamedTuple):
    out: Path
    metrics: dict
    history: dict
    featurised: int | None = None  # images run through the backbone, where counted


def load_run(out: Path) -> Run:
    return Run(out, json.loads((out / METRICS).read_text()), json.loads((out / HISTORY).read_text()))


@pytest.fixture(scope="session")
def folder_run(datasets, tmp_path_factory) -> Run:
    """The folder layout (pre-split train/val, bad files inside), L-BFGS head, through the Python API."""
    from antbee.train.run import TrainOptions, train

    out = tmp_path_factory.mktemp("folder_run") / "run"
    train(TrainOptions(data=str(datasets.folder), out=str(out), seed=0, **TINY))
    return load_run(out)


@pytest.fixture(scope="session")
def flat_run(datasets, tmp_path_factory) -> Run:
    """The flat layout (classes in file names), stratified 80/20 split, 2-fold CV, through the CLI."""
    from typer.testing import CliRunner

    from antbee.train.cli import app

    out = tmp_path_factory.mktemp("flat_run") / "run"
    result = CliRunner().invoke(app, [str(datasets.flat), "--out", str(out), *TINY_ARGS, "--test-size", "0.2",
                                      "--seed", "3", "--resize", "squash", "--cv", "2", "--cv-repeats", "1"])
    assert result.exit_code == 0, (result.output, result.exception)
    return load_run(out)


@pytest.fixture(scope="session")
def zip_run(datasets, tmp_path_factory) -> Run:
    """The ZIP (classes in file names, bad and unsafe members), Adam head with at most 4 epochs.

    Counts the images the frozen backbone is run on (`featurised`): features are computed once per
    image (and its mirror image), however many epochs the head trains.
    """
    import antbee.train.fit as fit
    from antbee.train.run import TrainOptions, train

    featurised = []
    real = fit.extract_features

    def counting(model, pixels, *args, **kwargs):
        featurised.append(len(pixels))
        return real(model, pixels, *args, **kwargs)

    out = tmp_path_factory.mktemp("zip_run") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fit, "extract_features", counting)
        train(TrainOptions(data=str(datasets.zip), out=str(out), head="adam", epochs=4, patience=1, seed=1,
                           **TINY))
    return load_run(out)._replace(featurised=sum(featurised))
