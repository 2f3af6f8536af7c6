"""The regression guard (after PyCoral's): compare a run's ratios and accuracies with a committed reference."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from antbee.common.errors import UsageError

# Latency ratios come from one run, so the machine's speed cancels out, and the check takes them
# from minima (see ratios.ratios), which repeat closely from run to run at 1 thread and less so at
# 2 threads, where other jobs compete for the second core. 30% leaves room for that and still
# catches a lost quantization or a slow path.
# The runtime's overhead is checked the same way, as classify_bgr time over bare invoke time.
LATENCY_TOLERANCE = 0.30
# File sizes are deterministic for one converter version; 5% absorbs converter updates but not a
# variant that silently stopped quantizing.
SIZE_TOLERANCE = 0.05
# One image of the ants/bees test split (153 images) is 0.65 pp: one image may flip, two may not.
ACCURACY_TOLERANCE_PP = 1.0

OK, REGRESSION, MISSING = "ok", "REGRESSION", "not measured"


@dataclass(frozen=True)
class Check:
    """One compared figure: its reference and current values, the bound it must meet, and the verdict."""

    name: str
    reference: float
    current: float | None
    bound: str
    status: str


def load_reference(path: Path) -> dict:
    """Read a reference report.json; errors name the file and what was expected."""
    try:
        reference = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"--check {path}: reference report not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"--check {path}: not a readable report.json ({exc})") from None
    if not isinstance(reference, dict) or not isinstance(reference.get("ratios"), list):
        raise UsageError(f"--check {path}: not an antbee-bench report.json (no 'ratios' list)")
    return reference


def compare(current: Mapping, reference: Mapping) -> list[Check]:
    """Check every checked ratio and every accuracy of `reference` against `current` (report.json mappings)."""
    now = {row["name"]: row["value"] for row in current.get("ratios", [])}
    checks = [_ratio(row, now.get(row["name"])) for row in reference["ratios"] if row.get("checked", True)]
    accuracy = {row["model"]: row for row in current.get("accuracy", [])}
    for row in reference.get("accuracy", []):
        mine = accuracy.get(row["model"], {})
        for key in ("accuracy", "agreement"):
            if row.get(key) is None:
                continue
            floor = row[key] - ACCURACY_TOLERANCE_PP / 100
            value = mine.get(key)
            status = MISSING if value is None else OK if value >= floor - 1e-9 else REGRESSION
            checks.append(Check(f"{key}.{row['model']}", row[key], value, f">= {floor:.4f}", status))
    return checks


def _ratio(row: Mapping, value: float | None) -> Check:
    name, reference, higher = row["name"], row["value"], row["better"] == "higher"
    tolerance = SIZE_TOLERANCE if row["kind"] == "size" else LATENCY_TOLERANCE
    bound = reference * (1 - tolerance) if higher else reference * (1 + tolerance)
    good = value is not None and (value >= bound if higher else value <= bound)
    text = f"{'>=' if higher else '<='} {bound:.3g}"
    status = MISSING if value is None else OK if good else REGRESSION
    return Check(name, reference, value, text, status)


def failed(checks: list[Check]) -> bool:
    """A regression in any check, or nothing comparable at all (a check that checks nothing must not pass)."""
    return any(c.status == REGRESSION for c in checks) or not any(c.status == OK for c in checks)
