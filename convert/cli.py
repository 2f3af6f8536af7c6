"""antbee-convert: a thin Typer layer over antbee.convert.run.convert_run."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False)


@app.command()
def convert_command(
    model: Path = typer.Argument(Path("artifacts"), help="model.keras or a run folder from antbee-train."),
    int8: bool = typer.Option(False, "--int8", help="Full-integer: int8 weights and activations, uint8 I/O."),
    float16: bool = typer.Option(False, "--float16", help="float16 weights."),
    dynamic: bool = typer.Option(False, "--dynamic", help="Dynamic range: int8 weights, float activations."),
    float32: bool = typer.Option(False, "--float32", help="No quantization."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output .tflite (default: RUN/model_<variant>.tflite)."),
    calibration: int = typer.Option(200, help="int8: training images used to calibrate activations."),
    max_drop: float = typer.Option(0.01, help="Largest accuracy drop against Keras that passes (0.01 = 1 pp)."),
    seed: int = typer.Option(0, help="Seed for choosing calibration images."),
) -> None:
    """Convert a trained model to TFLite, verify it against Keras on the test split, and gate on the drop."""
    from rich.console import Console

    from antbee.common.errors import AntbeeError, UsageError

    console = Console(stderr=True)
    chosen = [name for name, flag in (("int8", int8), ("float16", float16), ("dynamic", dynamic),
                                      ("float32", float32)) if flag]
    try:
        if len(chosen) > 1:
            raise UsageError(f"choose one variant, got --{' --'.join(chosen)}")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from antbee.convert.report import print_result
        from antbee.convert.run import ConvertOptions, convert_run
        from antbee.train.progress import rich_tracker

        options = ConvertOptions(model=model, variant=chosen[0] if chosen else "int8", out=out,
                                 calibration=calibration, max_drop=max_drop, seed=seed)
        with rich_tracker(console) as (tracker, _):
            result = convert_run(options, tracker)
    except AntbeeError as exc:
        console.print(f"antbee-convert: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    print_result(result)
    if not result.verification.passed:
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    # SIGTERM would end the process without running `finally` blocks, leaving staging files;
    # as an exception it unwinds like Ctrl-C, and the previous artifacts stay as they were.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    app()
