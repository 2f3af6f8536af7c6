"""The benchmark's pieces on their own: statistics, thread capping, memory subprocesses, the committed reference."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from antbee.benchmarks.acceptance import acceptance_checks
from antbee.benchmarks.latency import thread_counts
from antbee.benchmarks.results import COMPILED, INVOKE, KERAS, Latency, stats
from antbee.benchmarks.worker import WorkerError, run_module


def test_stats_are_numpy_percentiles():
    samples = np.arange(1, 101, dtype=float)
    summary = stats(samples)
    assert summary.n == 100 and summary.median_ms == 50.5 and summary.min_ms == 1 and summary.max_ms == 100
    assert summary.p90_ms == pytest.approx(np.percentile(samples, 90))
    assert summary.p99_ms == pytest.approx(np.percentile(samples, 99))
    with pytest.raises(ValueError):
        stats([])


def test_the_keras_speedup_check_takes_each_side_at_its_fastest_thread_count():
    def row(model, call, threads, ms):
        return Latency(model, call, threads, 0.0, 0.0, stats([ms]))

    # TensorFlow slower on 2 threads than on 1, XNNPACK faster: 5x and 10x per thread count, 8x best-vs-best.
    latency = [row(KERAS, COMPILED, 1, 8.0), row("int8", INVOKE, 1, 1.6),
               row(KERAS, COMPILED, 2, 10.0), row("int8", INVOKE, 2, 1.0)]
    checks = {c.name: c for c in acceptance_checks(latency, None)}
    best = checks["int8 speedup over the compiled Keras call, each at its fastest thread count "
                  "(int8 2 threads, Keras 1 thread)"]
    assert best.measured == "8.00 ms / 1.00 ms = 8.0x" and best.passed is True
    assert checks["int8 speedup over the compiled Keras call, 1 thread"].passed is None  # reported only
    latency[0] = row(KERAS, COMPILED, 1, 5.0)
    assert not [c for c in acceptance_checks(latency, None) if "fastest" in c.name][0].passed  # 5.0x < 6.0x


def test_thread_counts_are_capped_at_the_cores():
    assert thread_counts((1, 2, 4), 2) == ((1, 2), (4,))
    assert thread_counts((4,), 2) == ((2,), (4,))
    assert thread_counts((2, 1, 2), 8) == ((2, 1), ())


def test_edge_memory_process_reports_its_peak_rss(smoke_run):
    from antbee.benchmarks.memory import peak_memory
    from antbee.common.runs import load_split

    split = load_split(smoke_run.run_dir)
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


def test_live_ratios_and_checks_follow_the_issue_bounds():
    from antbee.benchmarks.live import FASTER, SLOWER, LiveRun, live_checks, live_ratios
    from antbee.benchmarks.results import stats

    slower = LiveRun(SLOWER, "int8", 2, 30.0, 10.0, 300, 0, 29.9, stats([5.0] * 9), stats([6.0] * 9), 6.0, 6.0)
    faster = LiveRun(FASTER, "int8", 2, 600.0, 10.0, 1000, 5000, 100.0, stats([10.0] * 9), stats([12.0] * 9),
                     12.0, 30.0)
    assert faster.age_bound_ms == pytest.approx(2 * 10 + 1000 / 600)
    ratios = {r.name: r.value for r in live_ratios([slower, faster])}
    assert ratios == pytest.approx({"live_fps_vs_source": 29.9 / 30, "live_age_vs_bound": 12 / faster.age_bound_ms,
                                    "live_age_late_vs_early": 2.5})
    verdicts = [c.passed for c in live_checks([slower, faster])]
    assert verdicts == [True, True, False]  # the age grew from 12 to 30 ms: that fails


def test_serve_ratio_and_check_need_the_rate_and_a_viewer_that_received_frames():
    from antbee.benchmarks.serve import ServeRates, serve_checks, serve_ratios

    rates = ServeRates("int8", 1, 600.0, 10.0, (100.0, 90.0, 110.0), (92.0, 95.0, 80.0), 150, 100)
    assert rates.ratio == pytest.approx(92 / 100)
    assert [(r.name, r.value) for r in serve_ratios(rates)] == [("serve_rate_vs_plain", pytest.approx(0.92))]
    assert [c.passed for c in serve_checks(rates)] == [True]
    slow = ServeRates("int8", 1, 600.0, 10.0, (100.0,), (85.0,), 150, 100)
    blind = ServeRates("int8", 1, 600.0, 10.0, (100.0,), (100.0,), 0, 100)
    assert [c.passed for c in serve_checks(slow) + serve_checks(blind)] == [False, False]
    assert serve_ratios(None) == serve_checks(None) == []


def test_serve_rates_runs_both_sides_with_a_viewer_that_gets_jpegs_and_events(tiny_models, tmp_path):
    from antbee.benchmarks.endtoend import camera_frame
    from antbee.benchmarks.serve import PAIRS, serve_rates

    rates = serve_rates(tiny_models.int8, "tiny", 1, camera_frame(None), 1.0, tmp_path)
    assert len(rates.plain_fps) == len(rates.serve_fps) == PAIRS
    assert min(rates.plain_fps + rates.serve_fps) > 0 and rates.viewer_jpegs > 0 and rates.viewer_events > 0


def test_pipeline_rows_are_guarded_from_full_runs_only():
    from antbee.benchmarks.results import Ratio
    from antbee.benchmarks.run import _pipeline_ratios
    from antbee.benchmarks.serve import ServeRates

    rates = ServeRates("int8", 1, 30.0, 1.0, plain_fps=(100.0,), serve_fps=(95.0,), viewer_jpegs=1, viewer_events=1)
    full = _pipeline_ratios((), rates, None, None, smoke=False)
    smoke = _pipeline_ratios((), rates, None, None, smoke=True)
    assert [r.name for r in full] == [r.name for r in smoke] == ["serve_rate_vs_plain"]
    assert all(isinstance(r, Ratio) and r.checked for r in full) and not any(r.checked for r in smoke)
