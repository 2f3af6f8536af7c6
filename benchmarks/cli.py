"""antbee-bench: a thin Typer layer over antbee.benchmarks.run (and the --check regression guard)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from antbee.benchmarks.fleet import FULL, SMOKE
from antbee.common.command import Verbose, new_app, run, user_errors, workstation
from antbee.common.runs import BENCH_DIR, KERAS_MODEL, RUN_DIR, SPLIT

PROG = "antbee-bench"
REGRESSED = 1

app = new_app()


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
    run_dir: Annotated[Path, typer.Argument(
        metavar="RUN_DIR", help=f"A run folder from antbee-train ({KERAS_MODEL}, {SPLIT}, .tflite files).")] = RUN_DIR,
    data: Annotated[str | None, typer.Option(
        "--data", help=f"The data set's ZIP or folder, if it moved since training (or, without {SPLIT}, "
        "to re-derive the test split).")] = None,
    threads: Annotated[str, typer.Option(
        "--threads", metavar="N[,N...]", help="Thread counts to time, capped at this machine's cores.")] = "1,2,4",
    repeats: Annotated[int, typer.Option(
        "--repeats", metavar="N", help="Timed runs per model and thread count.")] = 200,
    warmup: Annotated[int, typer.Option("--warmup", metavar="N", help="Untimed runs before timing.")] = 20,
    out: Annotated[Path | None, typer.Option("--out", help="Report folder (default: RUN_DIR/bench).")] = None,
    check: Annotated[Path | None, typer.Option(
        "--check", metavar="REF", help="A reference report.json: exit 1 if a ratio or accuracy regressed.")] = None,
    smoke: Annotated[bool, typer.Option(
        "--smoke", help="Fast: few repeats, one thread count, no memory runs.")] = False,
    reference: Annotated[Path | None, typer.Option(
        "--reference", metavar="FILE.tflite",
        help="The yardstick int8 model (default: Google's int8 MobileNetV2 in ../shared/models).")] = None,
    max_drop: Annotated[float, typer.Option(
        "--max-drop", help="antbee-convert's accuracy gate for variants converted here; a failing variant is "
        "still benchmarked and marked.")] = 0.01,
    verbose: Verbose = False,
) -> None:
    """Benchmark the Keras model and every TFLite variant of a run: accuracy, size, latency, memory.
    (`antbee-bench fleet --help`: devices on an MQTT broker; `antbee-bench batch --help`: antbee-batch on Ray.)"""
    with workstation(PROG) as (tracker, _):
        from antbee.benchmarks import check as checks
        from antbee.benchmarks.models import DEFAULT_REFERENCE
        from antbee.benchmarks.run import BenchOptions, as_json, run_bench, write_outputs

        options = BenchOptions(run_dir=run_dir, data=data, threads=parse_threads(threads), repeats=repeats,
                               warmup=warmup, out=out, check=check, smoke=smoke,
                               reference=reference or DEFAULT_REFERENCE, max_drop=max_drop)
        wanted = checks.load_reference(check) if check is not None else None  # fail before the slow part
        report = run_bench(options, tracker)
        written = write_outputs(report, options.out_dir)
    for line in summary(report, written):
        print(line)
    if wanted is not None:
        results = checks.compare(as_json(report), wanted)
        for line in check_lines(results, check, wanted, report.machine.slug):
            print(line)
        if checks.failed(results):
            raise typer.Exit(REGRESSED)


def summary(report, written: list[Path]) -> list[str]:
    """What the run wrote, the acceptance checks and what was left out, as lines for stdout."""
    lines = [f"wrote {', '.join(str(p) for p in written)}"]
    verdicts = {True: "yes", False: "NO", None: "--"}
    lines += [f"  {verdicts[c.passed]:<3} {c.name}: {c.measured} (target {c.target})" for c in report.acceptance_checks]
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


fleet_app = new_app()
FLEET = "fleet"  # `antbee-bench fleet ...` runs the fleet benchmark; anything else is the model benchmark


@fleet_app.command()
def fleet_command(
    devices: Annotated[int | None, typer.Option(
        "--devices", metavar="N", help=f"Simulated devices (processes).  [default: {FULL.devices}]")] = None,
    seconds: Annotated[float | None, typer.Option(
        "--seconds", metavar="S", help=f"Length of the measured run.  [default: {FULL.seconds:g}]")] = None,
    fps: Annotated[float, typer.Option("--fps", metavar="FPS", help="Each simulated camera's frames per second.")
                   ] = 3.0,
    broker_down: Annotated[float | None, typer.Option(
        "--broker-down", metavar="S",
        help=f"Stop the broker this long mid-run, then start it again (0: never).  [default: {FULL.broker_down:g}]")
    ] = None,
    model: Annotated[Path | None, typer.Option(
        "--model", metavar="FILE.tflite", help="The devices' model (default: the one antbee-edge would load).")] = None,
    threads: Annotated[int, typer.Option("--threads", metavar="N", help="Interpreter threads per device.")] = 1,
    out: Annotated[Path, typer.Option(
        "--out", metavar="DIR", help="Where fleet.json and the run's broker, logs and event logs go.")
    ] = RUN_DIR / BENCH_DIR,
    smoke: Annotated[bool, typer.Option("--smoke", help=(
        f"Fast: {SMOKE.devices} devices, {SMOKE.seconds:g} s, the broker down {SMOKE.broker_down:g} s "
        "(not with --devices, --seconds or --broker-down)."))] = False,
    verbose: Verbose = False,
) -> None:
    """Run N antbee-edge devices against one Mosquitto: events/s, latency, zero loss across a broker restart,
    CPU and RSS per device."""
    with user_errors(f"{PROG} {FLEET}"):
        from antbee.benchmarks.broker import mosquitto_path
        from antbee.benchmarks.fleet import FleetOptions, run_fleet, scale
        from antbee.benchmarks.fleet_report import table_lines, write_report
        from antbee.edge.runner import default_model

        size = scale(smoke, devices, seconds, broker_down)
        options = FleetOptions(model=model or default_model(), out=out, devices=size.devices, seconds=size.seconds,
                               fps=fps, broker_down=size.broker_down, threads=threads)
        mosquitto_path()  # says how to install it before anything starts
        result = run_fleet(options, progress=lambda line: print(line, file=sys.stderr, flush=True))
        written = write_report(result, options.out)
    for line in table_lines(result):
        print(line)
    print(f"wrote {written}")
    if result.lost:
        raise typer.Exit(REGRESSED)


batch_app = new_app()


@batch_app.command()
def batch_command(
    images: Annotated[str, typer.Argument(
        metavar="IMAGES", help="Image files, folders or globs: copied to 2000 files (200 with --smoke) for both runs.")],
    model: Annotated[Path | None, typer.Option(
        "--model", metavar="FILE.tflite", help="The model (default: the one antbee-edge would load).")] = None,
    smoke: Annotated[bool, typer.Option("--smoke", help="Fast: 200 files.")] = False,
    verbose: Verbose = False,
) -> None:
    """antbee-batch on a local Ray against the single-process folder pipeline, same model and files, one run."""
    from antbee.common.extras import require

    with user_errors(f"{PROG} {BATCH}"):
        require("ray", "batch", f"{PROG} {BATCH}")
        from antbee.benchmarks.batch import IMAGES, SMOKE_IMAGES, bench_batch
        from antbee.edge.runner import default_model

        result = bench_batch(model or default_model(), images, SMOKE_IMAGES if smoke else IMAGES)
    for line in result.lines():
        print(line)


BATCH = "batch"
# One console script, three commands: the model benchmark keeps its RUN_DIR argument (a group would take
# that place), and `fleet` or `batch` as the first word picks another app.
SUBCOMMANDS = {FLEET: fleet_app, BATCH: batch_app}


def main() -> None:
    """Console-script entry point."""
    chosen = SUBCOMMANDS.get(sys.argv[1] if len(sys.argv) > 1 else "")
    if chosen is not None:
        name = sys.argv[1]
        sys.argv = [sys.argv[0], *sys.argv[2:]]
        run(chosen, f"{PROG} {name}")
        return
    run(app, PROG)
