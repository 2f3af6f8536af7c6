"""The run-folder contract: file names, the rejected twin, split.json, what retraining removes, the newest model."""

from __future__ import annotations

import os

import pytest

from antbee.common.errors import UsageError
from antbee.common.runs import (BENCH_DIR, SPLIT, Example, Skipped, Split, converted_files, is_rejected, load_split,
                                model_file, newest_model, rejected_twin, report_file, split_file)


def test_model_names_and_their_rejected_twins(tmp_path):
    assert model_file(tmp_path, "int8").name == "model_int8.tflite"
    assert model_file(tmp_path, "int8", rejected=True) == rejected_twin(model_file(tmp_path, "int8"))
    assert rejected_twin(tmp_path / "x.tflite").name == "x.rejected.tflite"
    assert is_rejected(rejected_twin(tmp_path / "x.tflite")) and not is_rejected(tmp_path / "x.tflite")
    assert report_file(model_file(tmp_path, "float16")).name == "model_float16.json"


def test_a_split_survives_saving_and_loading(tmp_path):
    split = Split(data="/data/set.zip", classes=("ant", "bee"), labels_from="folder", presplit=True,
                  train=(Example("train/ant/1.jpg", 0),), test=(Example("val/bee/2.png", 1),),
                  skipped=(Skipped("train/ant/x.gif", "unsupported file type '.gif'"),), resize="squash")
    split.save(split_file(tmp_path))
    assert split_file(tmp_path) == tmp_path / SPLIT
    assert load_split(tmp_path) == split


def test_a_missing_or_malformed_split_names_the_file(tmp_path):
    with pytest.raises(UsageError, match=f"{tmp_path / SPLIT}: no split info"):
        load_split(tmp_path)
    split_file(tmp_path).write_text('{"classes": ["a"')
    with pytest.raises(UsageError, match="malformed split info"):
        load_split(tmp_path)


def test_converted_files_are_the_variants_their_reports_and_the_bench_copies(tmp_path):
    converted = [model_file(tmp_path, "int8"), report_file(model_file(tmp_path, "int8")),
                 model_file(tmp_path, "float16", rejected=True), tmp_path / BENCH_DIR / "model_dynamic.tflite"]
    kept = [tmp_path / "mine.tflite", tmp_path / "model.keras", tmp_path / BENCH_DIR / "report.json"]
    for path in converted + kept:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x")
    assert sorted(converted_files(tmp_path)) == sorted(converted)


def test_the_newest_model_that_passed_its_gate(tmp_path):
    assert newest_model(tmp_path / "absent") is None
    older, newer, rejected = (tmp_path / "a.tflite", tmp_path / "b.tflite", rejected_twin(tmp_path / "c.tflite"))
    for age, path in ((300, older), (200, newer), (100, rejected)):
        path.write_bytes(b"x")
        os.utime(path, (1_000_000 - age, 1_000_000 - age))
    assert newest_model(tmp_path) == newer
