"""Int8 accuracy against calibration set size: `python -m antbee.convert.ablation RUN --sizes 4,32,200`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer

from antbee.convert.run import ConvertOptions, convert_run


def calibration_study(run: Path, sizes: list[int], seed: int = 0) -> list:
    """Convert `run` to int8 once per calibration size (into a scratch folder) and return each Verification."""
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


def main(run: Path = typer.Argument(Path("artifacts")), sizes: str = "4,32,200", seed: int = 0) -> None:
    """Print the calibration-size study for a training run."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    typer.echo(markdown(calibration_study(run, [int(s) for s in sizes.split(",")], seed)))


if __name__ == "__main__":
    typer.run(main)
