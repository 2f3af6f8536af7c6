"""antbee-bench end to end on a tiny trained run: the smoke report, the regression check, and bad input."""

from __future__ import annotations

import json
import os
import shutil

from antbee.common.runs import load_split

VARIANTS = ("float32", "float16", "dynamic", "int8")
PNGS = ("latency.png", "size_vs_accuracy.png", "confusion_matrices.png")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_smoke_writes_report_json_md_and_plots(smoke_run):
    out, report = smoke_run.out, smoke_run.report
    for name in ("report.md", "report.json", *PNGS):
        assert (out / name).is_file(), name
    for name in PNGS:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000, name
    assert set(report) >= {"machine", "models", "accuracy", "latency", "end_to_end", "frame_overhead", "memory",
                           "ratios", "acceptance_checks", "notes", "options"}
    machine = report["machine"]
    assert machine["cores"] >= 1 and machine["cpu"] and machine["python"] and machine["tensorflow"]
    assert machine["interpreter"] and machine["numpy"] and machine["opencv"]


def test_every_variant_is_benchmarked_and_sizes_match_the_files(smoke_run):
    models = {m["name"]: m for m in smoke_run.report["models"]}
    assert {"keras", *VARIANTS} <= set(models)
    for name in ("keras", *VARIANTS):
        path = models[name]["path"]
        assert models[name]["size_bytes"] == os.path.getsize(path) > 0
    for name in VARIANTS:  # converted into --out, not into the run folder
        assert models[name]["origin"] == "converted by antbee-bench"
        assert not (smoke_run.run_dir / f"model_{name}.tflite").exists()


def test_latency_rows_are_sane(smoke_run):
    rows = smoke_run.report["latency"]
    calls = {(r["model"], r["call"]) for r in rows}
    assert {("keras", "compiled call"), ("keras", "model.predict")} <= calls
    assert {(v, "set_input+invoke") for v in VARIANTS} <= calls
    for row in rows:
        stats = row["stats"]
        assert row["threads"] == 1 and stats["n"] == 10  # --smoke: one thread count, ten repeats
        assert 0 < stats["min_ms"] <= stats["median_ms"] <= stats["p90_ms"] <= stats["p99_ms"] <= stats["max_ms"]
        assert row["load_ms"] > 0 and row["first_ms"] > 0


def test_accuracy_end_to_end_and_overhead_are_sane(smoke_run):
    report = smoke_run.report
    accuracy = {a["model"]: a for a in report["accuracy"]}
    assert set(accuracy) == {"keras", *VARIANTS}
    tested = len(load_split(smoke_run.run_dir).test)
    for name, row in accuracy.items():
        assert 0 <= row["accuracy"] <= 1 and row["n"] == tested
        assert sum(map(sum, row["confusion_matrix"])) == row["n"]
        assert (row["agreement"] is None) == (name == "keras")
    assert accuracy["float32"]["agreement"] == 1.0  # float32 is the same function as Keras
    for row in report["end_to_end"]:
        parts = sum(row[k]["median_ms"] for k in ("decode", "preprocess", "inference", "postprocess"))
        assert row["total"]["median_ms"] > 0 and row["inference"]["median_ms"] > 0
        assert parts <= 2 * row["total"]["median_ms"]  # medians of parts roughly add up to the whole
    frame = report["frame_overhead"]
    assert frame["model"] == "int8" and frame["frame"] == "640x480 BGR"
    assert frame["classify"]["median_ms"] > 0 and frame["invoke"]["median_ms"] > 0
    names = {r["name"] for r in report["ratios"]}
    assert {"speedup_compiled.int8.t1", "speedup_predict.int8.t1", "size_ratio.int8", "classify_vs_invoke.int8.t1",
            "speedup_compiled.int8.t1.min", "classify_vs_invoke.int8.t1.min"} <= names
    if any(m["name"] == "reference_int8" for m in report["models"]):  # ../shared is there
        assert {"int8_vs_reference.t1", "int8_vs_reference.t1.min"} <= names
    assert all(r["checked"] == r["name"].endswith(".min") for r in report["ratios"] if r["kind"] == "latency")
    assert any(c["name"].startswith("edge runtime overhead") for c in report["acceptance_checks"])


def test_report_md_has_tables_and_spelled_out_ratios(smoke_run):
    text = (smoke_run.out / "report.md").read_text()
    assert text.index("| model |") < text.index("## Against Keras")  # tables first
    assert "int8 is " in text and "than Keras (compiled call) at 1 thread" in text and "pp accuracy" in text
    assert "## Acceptance checks" in text and "peak memory left out" in text


def test_check_passes_against_its_own_report(smoke_run, bench, tmp_path):
    reference = tmp_path / "own.json"
    shutil.copy(smoke_run.out / "report.json", reference)
    # The same --out, so the variants converted there are reused rather than converted again.
    result = bench(smoke_run.run_dir, "--smoke", "--out", smoke_run.out, "--check", reference)
    assert result.exit_code == 0, result.output
    assert "check passed" in result.stdout and "REGRESSION" not in result.stdout


def test_check_fails_when_the_reference_demands_a_100x_speedup(smoke_run, bench, tmp_path):
    doctored = json.loads((smoke_run.out / "report.json").read_text())
    for row in doctored["ratios"]:
        if row["name"].startswith("speedup_"):
            row["value"] *= 100
    reference = tmp_path / "doctored.json"
    reference.write_text(json.dumps(doctored))
    result = bench(smoke_run.run_dir, "--smoke", "--out", smoke_run.out, "--check", reference)
    assert result.exit_code == 1, result.output
    assert "REGRESSION" in result.stdout and "speedup_compiled.int8.t1.min" in result.stdout
    assert "check FAILED" in result.stdout


def test_tflite_only_folder_is_benchmarked_and_says_what_it_left_out(smoke_run, bench, tmp_path):
    folder = tmp_path / "only_tflite"
    folder.mkdir()
    for name in VARIANTS:
        shutil.copy(smoke_run.out / f"model_{name}.tflite", folder)
    result = bench(folder, "--smoke", "--out", tmp_path / "out", "--reference", tmp_path / "absent.tflite")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [m["name"] for m in report["models"]] == list(VARIANTS)
    assert {r["model"] for r in report["latency"]} == set(VARIANTS)
    assert report["accuracy"] == [] and report["memory"] == []
    notes = " ".join(report["notes"])
    assert "Keras left out" in notes and "accuracy" in notes and "absent.tflite not found" in notes
    assert "Keras left out" in result.stdout
    assert (tmp_path / "out" / "latency.png").is_file()


def test_thread_count_zero_is_a_one_line_error(bench, tmp_path):
    result = bench(tmp_path, "--threads", "0", "--smoke")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("antbee-bench: error: --threads") and "at least 1" in lines[0]


def test_unknown_run_folder_and_missing_reference_are_errors(bench, tmp_path):
    result = bench(tmp_path / "nope")
    assert result.exit_code == 2 and "no such run folder" in result.stderr
    result = bench(tmp_path, "--check", tmp_path / "missing.json")
    assert result.exit_code == 2 and "reference report not found" in result.stderr


def test_the_paced_live_source_rows_ratios_and_checks(smoke_run):
    report = smoke_run.report
    slower, faster = report["live"]
    assert slower["scenario"] == "camera slower than the classifier" and slower["source_fps"] <= 30
    assert faster["scenario"] == "camera faster than the classifier" and faster["source_fps"] > slower["source_fps"]
    for run in (slower, faster):
        assert run["model"] == "int8" and run["classified"] > 0 and run["age"]["median_ms"] > 0
        assert run["age"]["p90_ms"] >= run["age"]["median_ms"]
    assert faster["dropped"] > 0  # three camera frames per classification: the older ones are dropped
    ratios = {r["name"]: r for r in report["ratios"]}
    assert {"live_fps_vs_source", "live_age_vs_bound", "live_age_late_vs_early"} <= set(ratios)
    assert not any(ratios[name]["checked"] for name in ("live_fps_vs_source", "live_age_vs_bound"))  # smoke: unguarded
    assert any(c["name"].startswith("live, camera faster") for c in report["acceptance_checks"])
    assert "## A paced live source" in (smoke_run.out / "report.md").read_text()
