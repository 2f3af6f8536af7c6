"""The regression check's rules, on hand-made reports (no benchmarking)."""

from __future__ import annotations

import pytest

from antbee.benchmarks import check
from antbee.common.errors import UsageError


def _report(speedup=8.0, size=3.5, versus_reference=1.0, overhead=1.2, accuracy=0.95, agreement=1.0):
    return {
        "machine": {"slug": "x86_64-2core"},
        "ratios": [
            {"name": "speedup_compiled.int8.t1.min", "value": speedup, "kind": "latency", "better": "higher",
             "checked": True},
            {"name": "size_ratio.int8", "value": size, "kind": "size", "better": "higher", "checked": True},
            {"name": "int8_vs_reference.t1.min", "value": versus_reference, "kind": "latency", "better": "lower",
             "checked": True},
            {"name": "classify_vs_invoke.int8.t1.min", "value": overhead, "kind": "latency", "better": "lower",
             "checked": True},
            # Medians move with the machine's load; they are reported, never checked.
            {"name": "speedup_compiled.int8.t1", "value": speedup, "kind": "latency", "better": "higher",
             "checked": False},
        ],
        "accuracy": [{"model": "int8", "accuracy": accuracy, "agreement": agreement}],
    }


def _status(current, reference):
    return {c.name: c.status for c in check.compare(current, reference)}


def test_identical_reports_pass_and_unchecked_ratios_are_skipped():
    results = check.compare(_report(), _report())
    assert all(c.status == check.OK for c in results) and not check.failed(results)
    assert len(results) == 6 and "speedup_compiled.int8.t1" not in {c.name for c in results}
    demanding = _report()
    demanding["ratios"][-1]["value"] = 1000.0  # an unchecked median ratio: no bound comes from it
    assert not check.failed(check.compare(_report(), demanding))


@pytest.mark.parametrize("changed, name", [
    ({"speedup": 8.0 * (1 - check.LATENCY_TOLERANCE) - 0.1}, "speedup_compiled.int8.t1.min"),
    ({"size": 3.5 * (1 - check.SIZE_TOLERANCE) - 0.01}, "size_ratio.int8"),
    ({"versus_reference": 1.0 * (1 + check.LATENCY_TOLERANCE) + 0.01}, "int8_vs_reference.t1.min"),
    ({"overhead": 1.2 * (1 + check.LATENCY_TOLERANCE) + 0.01}, "classify_vs_invoke.int8.t1.min"),
    ({"accuracy": 0.95 - check.ACCURACY_TOLERANCE_PP / 100 - 0.001}, "accuracy.int8"),
    ({"agreement": 0.97}, "agreement.int8"),
])
def test_a_change_past_its_tolerance_is_a_regression(changed, name):
    statuses = _status(_report(**changed), _report())
    assert statuses[name] == check.REGRESSION
    assert sum(s == check.REGRESSION for s in statuses.values()) == 1


def test_changes_within_tolerance_or_for_the_better_pass():
    current = _report(speedup=8.0 * (1 - check.LATENCY_TOLERANCE) + 0.1, size=20.0, versus_reference=0.5,
                      overhead=1.2 * (1 + check.LATENCY_TOLERANCE) - 0.01, accuracy=0.99, agreement=0.995)
    assert not check.failed(check.compare(current, _report()))


def test_figures_missing_from_this_run_are_reported_not_failed():
    current = _report()
    current["ratios"] = current["ratios"][1:]
    results = check.compare(current, _report())
    assert {c.name: c.status for c in results}["speedup_compiled.int8.t1.min"] == check.MISSING
    assert not check.failed(results)


def test_a_check_that_compares_nothing_fails():
    empty = {"ratios": [], "accuracy": []}
    assert check.failed(check.compare(empty, _report()))


def test_load_reference_rejects_missing_and_foreign_files(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        check.load_reference(tmp_path / "missing.json")
    (tmp_path / "other.json").write_text('{"accuracy": 1}')
    with pytest.raises(UsageError, match="not an antbee-bench report"):
        check.load_reference(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(UsageError, match="not a readable report"):
        check.load_reference(tmp_path / "broken.json")
