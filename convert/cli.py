"""antbee-convert: a thin Typer layer over antbee.convert.run.convert_run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from antbee.common.command import Verbose, new_app, run, workstation
from antbee.common.errors import UsageError
from antbee.common.runs import KERAS_MODEL, RUN_DIR, model_file

PROG = "antbee-convert"
REJECTED = 1  # the model converted but failed its accuracy gate

app = new_app()


@app.command()
def convert_command(
    model: Annotated[Path, typer.Argument(help=f"{KERAS_MODEL} or a run folder from antbee-train.")] = RUN_DIR,
    int8: Annotated[bool, typer.Option(
        "--int8", help="Full-integer: int8 weights and activations, uint8 I/O.")] = False,
    float16: Annotated[bool, typer.Option("--float16", help="float16 weights.")] = False,
    dynamic: Annotated[bool, typer.Option(
        "--dynamic", help="Dynamic range: int8 weights, float activations.")] = False,
    float32: Annotated[bool, typer.Option("--float32", help="No quantization.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help=f"Output .tflite (default: {model_file(Path('RUN'), '<variant>')}).")] = None,
    calibration: Annotated[int, typer.Option(help="int8: training images used to calibrate activations.")] = 200,
    max_drop: Annotated[float, typer.Option(
        help="Largest accuracy drop against Keras that passes (0.01 = 1 pp).")] = 0.01,
    seed: Annotated[int, typer.Option(help="Seed for choosing calibration images.")] = 0,
    verbose: Verbose = False,
) -> None:
    """Convert a trained model to TFLite, verify it against Keras on the test split, and gate on the drop."""
    chosen = [name for name, flag in (("int8", int8), ("float16", float16), ("dynamic", dynamic),
                                      ("float32", float32)) if flag]
    with workstation(PROG) as (tracker, _):
        if len(chosen) > 1:
            raise UsageError(f"choose one variant, got --{' --'.join(chosen)}")
        from antbee.convert.report import print_result
        from antbee.convert.run import ConvertOptions, convert_run

        options = ConvertOptions(model=model, variant=chosen[0] if chosen else "int8", out=out,
                                 calibration=calibration, max_drop=max_drop, seed=seed)
        result = convert_run(options, tracker)
    print_result(result)
    if not result.verification.passed:
        raise typer.Exit(REJECTED)


def main() -> None:
    """Console-script entry point."""
    run(app, PROG)
