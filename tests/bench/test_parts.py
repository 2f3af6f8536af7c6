"""The benchmark's pieces on their own: statistics, thread capping, memory subprocesses, the committed reference."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from antbee.benchmarks.latency import thread_counts
from antbee.benchmarks.results import stats
from antbee.benchmarks.worker import WorkerError, run_module


def test_stats_are_numpy_percentiles():
    samples = np.arange(1, 101, dtype=float)
    summary = stats(samples)
    assert summary.n == 100 and summary.median_ms == 50.5 and summary.min_ms == 1 and summary.max_ms == 100
    assert summary.p90_ms == pytest.approx(np.percentile(samples, 90))
    assert summary.p99_ms == pytest.approx(np.percentile(samples, 99))
    with pytest.raises(ValueError):
        stats([])


def test_thread_counts_are_capped_at_the_cores():
    assert thread_counts((1, 2, 4), 2) == ((1, 2), (4,))
    assert thread_counts((4,), 2) == ((2,), (4,))
    assert thread_counts((2, 1, 2), 8) == ((2, 1), ())


def test_edge_memory_process_reports_its_peak_rss(smoke_run):
    from antbee.benchmarks.memory import peak_memory
    from antbee.train.data import Split

    split = Split.load(smoke_run.run_dir / "split.json")
    model = smoke_run.out / "model_int8.tflite"  # converted by the smoke run
    memory = peak_memory("edge", model, split.data, [e.source for e in split.test], split.resize, "edge")
    assert memory.images == len(split.test)
    # VmHWM of the worker itself: a process that never imports TensorFlow stays far below this one's size
    assert 20 < memory.peak_rss_mb < 1000 and memory.seconds > 0


def test_a_failing_worker_is_a_worker_error():
    with pytest.raises(WorkerError, match="exited with"):
        run_module("antbee.benchmarks.memory", ["neither-edge-nor-keras", "m", "i"])


def test_committed_reference_is_a_full_run_of_this_benchmark():
    folder = resources.files("antbee.benchmarks").joinpath("reference")
    files = [f for f in folder.iterdir() if f.name.endswith(".json")]
    assert files, "benchmarks/reference/ holds no reference report"
    for file in files:
        report = json.loads(file.read_text())
        assert report["options"]["smoke"] is False
        names = {r["name"] for r in report["ratios"]}
        assert {"speedup_compiled.int8.t1.min", "int8_vs_reference.t1.min", "size_ratio.int8"} <= names
        assert {m["name"] for m in report["models"]} >= {"keras", "float32", "float16", "dynamic", "int8"}
