"""antbee-train: a thin Typer layer over antbee.train.run.train."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=False)


@app.command()
def train_command(
    data: Optional[str] = typer.Argument(None, help="ZIP or folder of images; default: download the ants/bees reference set."),
    out: Path = typer.Option(Path("artifacts"), "--out", help="Run folder to write."),
    labels_from: str = typer.Option("detect", help="Classes from folder names, file names, or detect."),
    test_size: float = typer.Option(0.1, help="Test fraction when the data has no train/val folders."),
    seed: int = typer.Option(0, help="Random seed for the split and the head."),
    resize: str = typer.Option("crop", help="crop (shorter side + centre crop) or squash (plain resize)."),
    backbone: str = typer.Option("mobilenet_v2", help="mobilenet_v2, or tfhub:HANDLE_OR_PATH."),
    weights: str = typer.Option("imagenet", help="imagenet (Keras cache, downloaded once), none, or a .h5 path."),
    head: str = typer.Option("lbfgs", help="lbfgs (L2 logistic regression, C by CV) or adam (early stopping)."),
    flip: bool = typer.Option(True, help="Add mirrored training images as extra cached features."),
    epochs: int = typer.Option(20, help="Adam head: most epochs."),
    patience: int = typer.Option(3, help="Adam head: early-stopping patience (epochs)."),
    learning_rate: float = typer.Option(1e-3, help="Adam head: learning rate."),
    dropout: float = typer.Option(0.5, help="Dropout before the Dense head (Adam training)."),
    label_smoothing: float = typer.Option(0.0, help="Adam head: label smoothing."),
    cv: int = typer.Option(0, help="Also run repeated stratified K-fold CV over all images with K folds."),
    cv_repeats: int = typer.Option(3, help="Repeats of the K-fold CV."),
) -> None:
    """Train an image classifier on a frozen MobileNetV2 and write a run folder."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from rich.console import Console

    from antbee.common.errors import AntbeeError
    from antbee.train.progress import rich_tracker
    from antbee.train.report import print_summary
    from antbee.train.run import TrainOptions, train

    options = TrainOptions(data=data, out=str(out), labels_from=labels_from, test_size=test_size, seed=seed,
                           resize=resize, backbone=backbone, weights=weights, head=head, flip=flip, epochs=epochs,
                           patience=patience, learning_rate=learning_rate, dropout=dropout,
                           label_smoothing=label_smoothing, cv=cv, cv_repeats=cv_repeats)
    console = Console(stderr=True)
    try:
        with rich_tracker(console) as (tracker, on_epoch):
            result = train(options, tracker, on_epoch)
    except AntbeeError as exc:
        console.print(f"antbee-train: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    print_summary(result)


def main() -> None:
    """Console-script entry point."""
    # SIGTERM would end the process without running `finally` blocks, leaving staging files;
    # as an exception it unwinds like Ctrl-C, and the previous artifacts stay as they were.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    app()
