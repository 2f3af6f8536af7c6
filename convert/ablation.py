"""Int8 accuracy against calibration set size: `python -m antbee.convert.ablation RUN --sizes 4,32,200`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from antbee.common.command import Verbose, new_app, require_workstation, run, user_errors
from antbee.common.errors import UsageError
from antbee.common.runs import RUN_DIR

PROG = "antbee.convert.ablation"

app = new_app()


def calibration_study(run: Path, sizes: list[int], seed: int = 0) -> list:
    """Convert `run` to int8 once per calibration size (into a scratch folder) and return each Verification."""
    from antbee.convert.run import ConvertOptions, convert_run

    results = []
    with tempfile.TemporaryDirectory(prefix="antbee-calibration-") as scratch:
        for size in sizes:
            options = ConvertOptions(model=run, variant="int8", calibration=size, seed=seed, max_drop=1.0,
                                     out=Path(scratch) / f"int8_{size}.tflite")
            results.append((size, convert_run(options).verification))
            typer.echo(f"calibration {size}: {results[-1][1].tflite_accuracy:.4f}", err=True)
    return results


def markdown(results) -> str:
    """The study as a Markdown table."""
    lines = ["| calibration images | Keras accuracy | int8 accuracy | top-1 agreement | largest score difference |",
             "|---|---|---|---|---|"]
    for size, v in results:
        lines.append(f"| {size} | {v.keras_accuracy:.2%} | {v.tflite_accuracy:.2%} | "
                     f"{v.n - v.disagreements}/{v.n} | {v.max_score_diff:.3f} |")
    return "\n".join(lines)


def parse_sizes(text: str) -> list[int]:
    """`4,32,200` -> [4, 32, 200]; anything else is a UsageError naming the flag."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise UsageError(f"--sizes {text!r}: expected positive whole numbers separated by commas")
    return sizes


@app.command()
def main(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="A run folder from antbee-train.")] = RUN_DIR,
    sizes: Annotated[str, typer.Option(help="Calibration set sizes to try, separated by commas.")] = "4,32,200",
    seed: Annotated[int, typer.Option(help="Seed for choosing calibration images.")] = 0,
    verbose: Verbose = False,
) -> None:
    """Print the calibration-size study for a training run."""
    with user_errors(PROG):
        wanted = parse_sizes(sizes)
        require_workstation()
        results = calibration_study(run_dir, wanted, seed)
    typer.echo(markdown(results))


if __name__ == "__main__":
    run(app, PROG)
