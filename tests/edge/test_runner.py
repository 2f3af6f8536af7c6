"""The edge run's pieces: EdgeOptions validation, default model choice, per-file and per-frame results, stats."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from antbee.edge import runner
from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.common.errors import ModelError, UsageError
from antbee.edge.runner import EdgeOptions, Result, Stats, classify_file, classify_frame, default_model
from antbee.edge.sources import Frame, Unreadable

RED, BLUE = (20, 30, 220), (220, 30, 20)


@pytest.fixture(scope="module")
def classifier(tiny_models):
    return Classifier(ClassifierOptions(model=tiny_models.int8, top_k=2))


@pytest.mark.parametrize("kwargs, expected", [
    ({}, "no inputs"),
    ({"inputs": ("a.jpg",), "camera": ("0",)}, "INPUTS and --camera given together"),
    ({"inputs": ("a.jpg",), "camera": ("0",), "video": ("v.avi",)}, "INPUTS and --camera and --video given"),
    ({"video": ("v.avi",), "max_frames": 0}, "--max-frames 0: expected a positive number"),
    ({"video": (" ",)}, "expected a video file or a stream URL"),
    ({"camera": ("0",), "reconnect": -1}, "--reconnect -1: expected 0 or more"),
])
def test_edge_options_reject_unusable_combinations(kwargs, expected):
    with pytest.raises(UsageError, match=expected):
        EdgeOptions(**kwargs)


def test_edge_options_live():
    assert EdgeOptions(camera=("0",)).live and EdgeOptions(video=("v.avi",)).live
    assert EdgeOptions(camera=("0", "picam"), video=("v.avi",)).live  # several sources in one run
    assert not EdgeOptions(inputs=("a.jpg",)).live


def _model(folder: Path, name: str, mtime: float) -> Path:
    path = folder / name
    path.write_bytes(b"model")
    os.utime(path, (mtime, mtime))
    return path


def test_default_model_is_the_newest_not_rejected_tflite_in_the_run_folder(tmp_path):
    _model(tmp_path, "old.tflite", 1_000)
    newest = _model(tmp_path, "antbee_int8.tflite", 2_000)
    _model(tmp_path, "antbee_float16.rejected.tflite", 3_000)
    _model(tmp_path, "model.keras", 4_000)
    assert default_model(tmp_path) == newest


def test_default_model_falls_back_to_the_packaged_one_then_fails_clearly(tmp_path, monkeypatch):
    packaged = tmp_path / "pkg" / "models" / "antbee_int8.tflite"
    packaged.parent.mkdir(parents=True)
    packaged.write_bytes(b"model")
    monkeypatch.setattr(runner.resources, "files", lambda package: tmp_path / "pkg")
    assert default_model(tmp_path / "no-run-folder") == packaged
    packaged.unlink()
    with pytest.raises(ModelError, match="pass --model FILE.tflite"):
        default_model(tmp_path / "no-run-folder")


def test_classify_file_gives_the_label_and_a_latency(classifier, write_image):
    result = classify_file(classifier, write_image("blue.jpg", BLUE))
    assert result.error is None and result.frame is None
    assert [c.label for c in result.classification.categories] == ["bee", "ant"]
    assert result.latency_ms > 0


def test_classify_file_turns_bad_files_into_error_results(classifier, tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    result = classify_file(classifier, empty)
    assert result.classification is None and "empty.png: empty file" in result.error
    locked = classify_file(classifier, Unreadable(tmp_path / "locked", "cannot list folder (Permission denied)"))
    assert locked.error.endswith("locked: cannot list folder (Permission denied)")


def test_classify_frame_classifies_any_size_and_reports_bad_frames(classifier):
    for shape in [(48, 64, 3), (7, 300, 3), (500, 20, 3), (30, 30)]:
        image = np.full(shape, 200, np.uint8)
        if len(shape) == 3:
            image[:] = RED
        result = classify_frame(classifier, Frame(3, image, "camera 0"))
        assert result.error is None and result.frame == 3, shape
        assert result.latency_ms == pytest.approx(result.classification.timings.total_ms)
        if len(shape) == 3:
            assert result.classification.top.label == "ant"
    for bad in [np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 2), np.uint8), np.zeros((0, 5), np.uint8)]:
        result = classify_frame(classifier, Frame(4, bad, "camera 0"))
        assert result.classification is None and result.error.startswith("camera 0 frame 4: "), bad.shape


def test_stats_count_rates_and_failures():
    ticks = iter([10.0, 10.1, 10.2, 10.4])
    stats = Stats(clock=lambda: next(ticks))
    for result in [Result("a", latency_ms=4.0), Result("b", error="bad"), Result("c", latency_ms=8.0),
                   Result("d", latency_ms=6.0)]:
        stats.add(result)
    summary = stats.summary()
    assert (summary.results, summary.failures) == (4, 1)
    assert summary.mean_fps == pytest.approx(3 / 0.4)
    assert summary.mean_latency_ms == pytest.approx(6.0)
    assert 4 < stats.fps < 11


def test_stats_of_nothing_are_zero():
    assert Stats().summary() == (0, 0, 0.0, 0.0, 0)


def test_a_frame_result_carries_its_source_id_capture_time_and_age(classifier):
    import json
    import time

    from antbee.edge.output import format_json

    image = np.full((48, 64, 3), BLUE, np.uint8)
    frame = Frame(7, image, "camera 0", "entrance", 1_780_000_000.25, time.monotonic() - 0.05)
    result = classify_frame(classifier, frame)
    assert result.source_id == "entrance" and result.time == 1_780_000_000.25
    assert 50 <= result.age_ms < 50 + 1000 and result.age_ms >= result.latency_ms
    record = json.loads(format_json(result, classifier))
    assert record["time"] == "2026-05-28T20:26:40.250Z" and record["frame"] == 7
    assert record["source_id"] == "entrance" and record["age_ms"] == round(result.age_ms, 3)
