"""antbee-bench: a thin Typer layer over antbee.benchmarks.run (and the --check regression guard)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

PROG = "antbee-bench"
REGRESSED = 1

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


def parse_threads(text: str) -> tuple[int, ...]:
    """`1,2,4` -> (1, 2, 4); anything else is a UsageError naming the flag."""
    from antbee.common.errors import UsageError

    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"--threads {text!r}: expected positive whole numbers separated by commas") from None
    if not counts or min(counts) < 1:
        raise UsageError(f"--threads {text!r}: thread counts must be at least 1")
    return counts


@app.command()
def bench_command(
    run_dir: Path = typer.Argument(Path("artifacts"), metavar="RUN_DIR",
                                   help="A run folder from antbee-train (model.keras, split.json, .tflite files)."),
    data: Optional[str] = typer.Option(None, "--data", help="The data set's ZIP or folder, if it moved since "
                                       "training (or, without split.json, to re-derive the test split)."),
    threads: str = typer.Option("1,2,4", "--threads", metavar="N[,N...]",
                                help="Thread counts to time, capped at this machine's cores."),
    repeats: int = typer.Option(200, "--repeats", metavar="N", help="Timed runs per model and thread count."),
    warmup: int = typer.Option(20, "--warmup", metavar="N", help="Untimed runs before timing."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default: RUN_DIR/bench)."),
    check: Optional[Path] = typer.Option(None, "--check", metavar="REF",
                                         help="A reference report.json: exit 1 if a ratio or accuracy regressed."),
    smoke: bool = typer.Option(False, "--smoke", help="Fast: few repeats, one thread count, no memory runs."),
    reference: Optional[Path] = typer.Option(None, "--reference", metavar="FILE.tflite",
                                             help="The yardstick int8 model (default: Google's int8 MobileNetV2 "
                                                  "in ../shared/models)."),
    max_drop: float = typer.Option(0.01, "--max-drop", help="antbee-convert's accuracy gate for variants "
                                   "converted here; a failing variant is still benchmarked and marked."),
) -> None:
    """Benchmark the Keras model and every TFLite variant of a run: accuracy, size, latency, memory."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from rich.console import Console

    from antbee.common.errors import AntbeeError

    console = Console(stderr=True)
    try:
        from antbee.benchmarks import check as checks
        from antbee.benchmarks.models import DEFAULT_REFERENCE
        from antbee.benchmarks.run import BenchOptions, as_json, run_bench, write_outputs
        from antbee.train.progress import rich_tracker

        options = BenchOptions(run_dir=run_dir, data=data, threads=parse_threads(threads), repeats=repeats,
                               warmup=warmup, out=out, check=check, smoke=smoke,
                               reference=reference or DEFAULT_REFERENCE, max_drop=max_drop)
        wanted = checks.load_reference(check) if check is not None else None  # fail before the slow part
        with rich_tracker(console) as (tracker, _):
            report = run_bench(options, tracker)
        written = write_outputs(report, options.out_dir)
    except AntbeeError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)  # one line, whatever the terminal's width
        raise typer.Exit(exc.exit_code) from None
    for line in summary(report, written):
        print(line)
    if wanted is not None:
        results = checks.compare(as_json(report), wanted)
        for line in check_lines(results, check, wanted, report.machine.slug):
            print(line)
        if checks.failed(results):
            raise typer.Exit(REGRESSED)


def summary(report, written: list[Path]) -> list[str]:
    """What the run wrote, issue 5's checks and what was left out, as lines for stdout."""
    lines = [f"wrote {', '.join(str(p) for p in written)}"]
    verdicts = {True: "yes", False: "NO", None: "--"}
    lines += [f"  {verdicts[c.passed]:<3} {c.name}: {c.measured} (target {c.target})" for c in report.issue_checks]
    lines += [f"  note: {note}" for note in report.notes]
    return lines


def check_lines(results, path: Path, reference: dict, slug: str) -> list[str]:
    """The regression check, one line per compared figure, and the verdict."""
    from antbee.benchmarks import check as checks

    lines = [f"check against {path}:"]
    made_on = reference.get("machine", {}).get("slug")
    if made_on and made_on != slug:
        lines.append(f"  note: the reference was measured on {made_on}, this machine is {slug}")
    for r in results:
        now = "-" if r.current is None else f"{r.current:.4g}"
        lines.append(f"  {r.status:<12} {r.name:<34} reference {r.reference:<9.4g} now {now:<9} bound {r.bound}")
    regressions = sum(r.status == checks.REGRESSION for r in results)
    if checks.failed(results):
        lines.append(f"check FAILED: {regressions} regression(s)" if regressions
                     else "check FAILED: nothing in the reference was measured in this run")
    else:
        lines.append("check passed")
    return lines


def main() -> None:
    """Console-script entry point."""
    app()
