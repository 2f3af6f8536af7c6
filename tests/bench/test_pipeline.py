"""The benchmark's pipeline rows: a big photo full against reduced decode, and a folder against the work bound."""

from __future__ import annotations

import pytest

from antbee.benchmarks.pipeline import SMOKE_FOLDER_IMAGES, pipeline_checks, pipeline_ratios
from antbee.benchmarks.results import BigPhoto, FolderThroughput, stats
from antbee.edge.folder import default_plan

PIPELINE_RATIOS = {"big_photo.full_vs_reduced.min", "folder.default_vs_bound", "folder.default_vs_sequential"}


def test_the_smoke_report_has_both_rows_their_ratios_and_checks(smoke_run):
    report = smoke_run.report
    big, folder = report["big_photo"], report["folder"]
    assert big["photo"].startswith("4032x3024 JPEG")
    assert big["threads"] == default_plan(files=1).threads  # as antbee-edge runs a single file: every core
    assert big["reduction"] == 8  # a 224x224 crop of a 3024 square: 378 >= 1.5 x 224 at 1/8
    for row in (big["full"], big["reduced"]):
        assert row["n"] >= 1 and 0 < row["min_ms"] <= row["median_ms"]
    assert folder["images"] == SMOKE_FOLDER_IMAGES and folder["cores"] >= 1
    plan = default_plan()
    assert (folder["workers"], folder["threads"]) == (plan.workers, plan.threads)
    assert folder["invoke"]["n"] > 0 and folder["decode"]["n"] == SMOKE_FOLDER_IMAGES
    expected = folder["cores"] * 1e3 / (folder["invoke"]["median_ms"] + folder["decode"]["mean_ms"])
    assert folder["bound_per_s"] == pytest.approx(expected)
    assert folder["default_per_s"] > 0 and folder["sequential_per_s"] > 0
    ratios = {r["name"]: r for r in report["ratios"]}
    assert PIPELINE_RATIOS <= set(ratios)
    # One short smoke round is too noisy for the regression guard: the rows join it from full runs only.
    assert not any(ratios[n]["checked"] for n in PIPELINE_RATIOS)
    assert ratios["folder.default_vs_bound"]["value"] == pytest.approx(
        folder["default_per_s"] / folder["bound_per_s"])
    names = [c["name"] for c in report["acceptance_checks"]]
    assert sum("full-size decode" in n or n.startswith("folder") for n in names) == 3
    markdown = (smoke_run.out / "report.md").read_text()
    assert "from bytes to a result" in markdown and "all-cores work bound" in markdown


def _folder(rate: float, bound: float, sequential: float) -> FolderThroughput:
    one = stats([1.0])
    return FolderThroughput("int8", 100, 2, 2, 1, one, one, bound, rate, sequential)


@pytest.mark.parametrize("rate, passed", [(900, [True, True]), (800, [False, True]), (400, [False, False])])
def test_the_folder_targets_are_0_85_of_the_bound_and_1_7_times_the_old_default(rate, passed):
    checks = pipeline_checks(None, _folder(rate, bound=1000, sequential=250))
    assert [c.passed for c in checks] == passed


@pytest.mark.parametrize("reduced_ms, speedup, passed", [(10.0, "6.0x", True), (15.0, "4.0x", True),
                                                         (16.0, "3.8x", False)])
def test_the_big_photo_target_is_four_times_faster_than_a_full_decode(reduced_ms, speedup, passed):
    big = BigPhoto("int8", 1, "4032x3024 JPEG, 1.0 MB", 8, stats([50.0, 60.0, 70.0]), stats([reduced_ms] * 3))
    [check] = pipeline_checks(big, None)
    assert check.passed is passed and check.measured.endswith(speedup)
    assert {r.name for r in pipeline_ratios(big, None)} == {"big_photo.full_vs_reduced.min"}


def test_nothing_measured_gives_no_checks_and_no_ratios():
    assert pipeline_checks(None, None) == [] and pipeline_ratios(None, None) == []
