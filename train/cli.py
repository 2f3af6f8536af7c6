"""antbee-train: a thin Typer layer over antbee.train.run.train."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from antbee.common.command import Verbose, new_app, run, workstation
from antbee.common.runs import RUN_DIR

PROG = "antbee-train"

app = new_app()


@app.command()
def train_command(
    data: Annotated[str | None, typer.Argument(
        help="ZIP or folder of images; default: download the ants/bees reference set.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Run folder to write.")] = RUN_DIR,
    labels_from: Annotated[str, typer.Option(help="Classes from folder names, file names, or detect.")] = "detect",
    test_size: Annotated[float, typer.Option(help="Test fraction when the data has no train/val folders.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Random seed for the split and the head.")] = 0,
    resize: Annotated[str, typer.Option(help="crop (shorter side + centre crop) or squash (plain resize).")] = "crop",
    backbone: Annotated[str, typer.Option(help="mobilenet_v2, or tfhub:HANDLE_OR_PATH.")] = "mobilenet_v2",
    weights: Annotated[str, typer.Option(
        help="imagenet (Keras cache, downloaded once), none, or a .h5 path.")] = "imagenet",
    head: Annotated[str, typer.Option(
        help="lbfgs (L2 logistic regression, C by CV) or adam (early stopping).")] = "lbfgs",
    flip: Annotated[bool, typer.Option(help="Add mirrored training images as extra cached features.")] = True,
    epochs: Annotated[int, typer.Option(help="Adam head: most epochs.")] = 20,
    patience: Annotated[int, typer.Option(help="Adam head: early-stopping patience (epochs).")] = 3,
    learning_rate: Annotated[float, typer.Option(help="Adam head: learning rate.")] = 1e-3,
    dropout: Annotated[float, typer.Option(help="Dropout before the Dense head (Adam training).")] = 0.5,
    label_smoothing: Annotated[float, typer.Option(help="Adam head: label smoothing.")] = 0.0,
    cv: Annotated[int, typer.Option(
        help="Also run repeated stratified K-fold CV over all images with K folds.")] = 0,
    cv_repeats: Annotated[int, typer.Option(help="Repeats of the K-fold CV.")] = 3,
    ray: Annotated[str | None, typer.Option(
        "--ray", metavar="ADDRESS", help="Compute the backbone features on a Ray cluster: auto, host:6379 or "
        "ray://host:10001 (needs antbee[batch]); the head is fitted here.")] = None,
    verbose: Verbose = False,
) -> None:
    """Train an image classifier on a frozen MobileNetV2 and write a run folder."""
    with workstation(PROG) as (tracker, on_epoch):
        from antbee.train.report import print_summary
        from antbee.train.run import TrainOptions, train

        options = TrainOptions(data=data, out=str(out), labels_from=labels_from, test_size=test_size, seed=seed,
                               resize=resize, backbone=backbone, weights=weights, head=head, flip=flip,
                               epochs=epochs, patience=patience, learning_rate=learning_rate, dropout=dropout,
                               label_smoothing=label_smoothing, cv=cv, cv_repeats=cv_repeats, ray=ray)
        result = train(options, tracker, on_epoch)
    print_summary(result)


def main() -> None:
    """Console-script entry point."""
    run(app, PROG)
