"""The folder runner: results in input order from several interpreters, bounded read-ahead, the default plan."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from antbee.edge import folder
from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.folder import AHEAD_PER_WORKER, SEQUENTIAL, FolderPlan, classify_files, default_plan
from antbee.edge.sources import Unreadable

RED, BLUE = (20, 30, 220), (220, 30, 20)  # BGR: the tiny models call red "ant" and blue "bee"


@pytest.fixture
def classifier(tiny_models):
    return Classifier(ClassifierOptions(model=tiny_models.int8, threads=1))


@pytest.fixture
def mixed_folder(write_image, tmp_path):
    """24 red/blue images of different sizes, one file that is not an image, one unreadable entry."""
    items = []
    for i in range(24):
        items.append(write_image(f"photos/{i:02d}.jpg", RED if i % 3 else BLUE, size=(40 + i, 60 + 2 * i)))
    broken = tmp_path / "photos" / "broken.jpg"
    broken.write_bytes(b"not a picture")
    items.insert(5, broken)
    items.insert(11, Unreadable(tmp_path / "locked", "cannot list folder (Permission denied)"))
    return items


def _label(result):
    return None if result.error is not None else result.classification.top.label


def test_parallel_results_come_in_input_order_and_match_one_after_another(classifier, mixed_folder):
    sequential = list(classify_files(classifier, mixed_folder, SEQUENTIAL.workers))
    parallel = list(classify_files(classifier, mixed_folder, 3))
    assert [r.source for r in parallel] == [str(getattr(i, "path", i)) for i in mixed_folder]
    assert [_label(r) for r in parallel] == [_label(r) for r in sequential]
    assert [_label(r) for r in parallel if r.error is None] == \
        ["bee" if i % 3 == 0 else "ant" for i in range(24)]
    for mine, theirs in zip(parallel, sequential):
        if mine.error is None:
            np.testing.assert_array_equal(mine.classification.scores, theirs.classification.scores)
    errors = [r.error for r in parallel if r.error is not None]
    assert len(errors) == 2 and "broken.jpg" in errors[0] and "locked" in errors[1]


def test_each_worker_classifies_on_its_own_interpreter(classifier, mixed_folder, monkeypatch):
    seen = []
    real = folder.classify_file

    def spy(used, item):
        seen.append((id(used), threading.current_thread().name))
        return real(used, item)

    monkeypatch.setattr(folder, "classify_file", spy)
    list(classify_files(classifier, mixed_folder, 2))
    assert len({interpreter for interpreter, _ in seen}) == 2
    assert all(name.startswith("antbee-classify") for _, name in seen)


def test_only_a_bounded_number_of_files_is_read_ahead(classifier, write_image):
    path = write_image("one.png")
    drawn = 0

    def huge():  # a folder of any size: the runner must not take it all before the first result
        nonlocal drawn
        for _ in range(1000):
            drawn += 1
            yield path

    results = classify_files(classifier, huge(), 2)
    for count in range(1, 30):
        assert _label(next(results)) == "ant"
        assert drawn <= count + 2 * AHEAD_PER_WORKER
    results.close()


def test_closing_the_run_early_stops_its_workers(classifier, mixed_folder):
    results = classify_files(classifier, mixed_folder * 4, 2)
    next(results)
    results.close()  # what Ctrl-C or a closed pipe does to the loop that reads the results
    assert not [t for t in threading.enumerate() if t.name.startswith("antbee-classify")]


@pytest.mark.parametrize("threads, cores, files, expected", [
    (None, 2, None, FolderPlan(2, 1)),  # the default: a single-thread interpreter per core
    (None, 2, 500, FolderPlan(2, 1)),
    (None, 1, None, FolderPlan(0, 1)),
    (None, 4, 1, FolderPlan(0, 4)),  # one file: one interpreter, every core on it, in the caller
    (None, 4, 2, FolderPlan(2, 2)),  # fewer files than cores: the rest go to threads
    (None, 4, 3, FolderPlan(3, 1)),
    (2, 4, 1, FolderPlan(2, 2)),  # --threads given: as asked, whatever the count of files
    (2, 4, None, FolderPlan(2, 2)),
    (8, 2, None, FolderPlan(1, 8)),  # more threads than cores: one interpreter, as asked
])
def test_the_default_plan_uses_every_core_once(threads, cores, files, expected):
    assert default_plan(threads, cores, files) == expected


@pytest.mark.parametrize("kind, threads, expected", [
    ("files", [], 1), ("files", ["--threads", "2"], 2), ("file", [], "cores"), ("file", ["--threads", "1"], 1),
    ("video", [], "cores"), ("video", ["--threads", "1"], 1),
])
def test_the_cli_gives_files_single_thread_interpreters_and_a_live_source_every_core(
        tiny_models, write_image, red_blue_video, monkeypatch, kind, threads, expected):
    import os

    from typer.testing import CliRunner

    from antbee.edge import classifier as module
    from antbee.edge.cli import app

    opened = []

    class Spy(module.Classifier):
        def __init__(self, options):
            opened.append(options.threads)
            super().__init__(options)

    monkeypatch.setattr(module, "Classifier", Spy)
    count = 1 if kind == "file" else os.cpu_count() or 1  # as many files as cores: one image per interpreter
    images = [str(write_image(f"{index}.png")) for index in range(count)]
    source = ["--video", str(red_blue_video)] if kind == "video" else images
    result = CliRunner().invoke(app, ["--model", str(tiny_models.int8), "--no-display", *threads, *source])
    assert result.exit_code == 0, result.output
    assert opened[0] == (os.cpu_count() if expected == "cores" else expected)


def test_ctrl_c_in_a_parallel_folder_run_stops_it_at_once_with_exit_130(tiny_models, write_image, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    for i in range(300):  # big enough to take seconds, so the interrupt lands mid-run
        write_image(f"many/{i:03d}.png", RED, size=(900, 1200))
    command = [sys.executable, "-c", "from antbee.edge.cli import main; main()", "--model", str(tiny_models.int8),
               "--json", str(tmp_path / "many")]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "DISPLAY": "", "WAYLAND_DISPLAY": ""})
    first = child.stdout.readline()  # the workers are running now
    assert '"label": "ant"' in first
    child.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert time.monotonic() - interrupted < 5  # the pending files were cancelled, not classified
    assert "interrupted" in err and "Traceback" not in err
    assert len(out.splitlines()) + 1 < 300


def test_opencv_keeps_no_worker_pool_of_its_own_beside_the_workers():
    import cv2

    import antbee.edge.preprocess  # noqa: F401  (the module that turns the pool off, whoever loaded cv2 first)

    assert cv2.getNumThreads() == 1
