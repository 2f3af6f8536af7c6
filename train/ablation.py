"""Measure each training choice on the fixed split and by repeated CV: `python -m antbee.train.ablation DATA`."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import numpy as np
import typer

from antbee.common.command import Verbose, new_app, require_workstation, run, user_errors
from antbee.train.run import TrainOptions

PROG = "antbee.train.ablation"

app = new_app()

# Each row changes one thing from the row it names, so the table reads as a path from the
# notebook's recipe to the default.
VARIANTS = (
    ("notebook: squash, Adam, no flips", dict(resize="squash", head="adam", flip=False)),
    ("+ crop instead of squash", dict(resize="crop", head="adam", flip=False)),
    ("+ mirrored copies", dict(resize="crop", head="adam", flip=True)),
    ("+ label smoothing 0.1", dict(resize="crop", head="adam", flip=True, label_smoothing=0.1)),
    ("L-BFGS head, C by CV (no flips)", dict(resize="crop", head="lbfgs", flip=False)),
    ("L-BFGS head, C by CV + mirrored (default)", dict(resize="crop", head="lbfgs", flip=True)),
    ("squash + L-BFGS + mirrored", dict(resize="squash", head="lbfgs", flip=True)),
)


def run_ablation(base: TrainOptions, folds: int, repeats: int) -> list[tuple[str, dict, dict]]:
    """Return (name, fixed-split metrics, CV summary) per variant; features are cached per resize mode."""
    from antbee.edge.preprocess import IMAGE_SIZE
    from antbee.train import data as datalib
    from antbee.train.backbones import build_backbone
    from antbee.train.crossval import cross_validate
    from antbee.train.fit import fit_head
    from antbee.train.metrics import classification_metrics
    from antbee.train.model import build_models
    from antbee.train.run import prepare_data, resolve_data

    split = datalib.make_split(resolve_data(base.data), base.labels_from, base.test_size, base.seed)
    backbone = build_backbone(base.backbone, base.weights, IMAGE_SIZE)
    cache = {}
    rows = []
    for name, change in VARIANTS:
        options = replace(base, **change, cv=folds)
        models = build_models(backbone, len(split.classes), IMAGE_SIZE, options.dropout)
        if options.resize not in cache:
            cache[options.resize] = prepare_data(split, replace(options, flip=True), models.features,
                                                 lambda *a: None)
        p = cache[options.resize]
        n = len(p.train_y)
        train_features = p.train_features if options.flip else p.train_features[:n]
        flips = len(train_features) // n
        head = options.head_options()
        fitted = fit_head(train_features, np.tile(p.train_y, flips), np.tile(np.arange(n), flips),
                          len(split.classes), head, head=models.head)
        predicted = (p.test_features @ fitted.kernel + fitted.bias).argmax(1)
        fixed = classification_metrics(p.test_y, predicted, p.split.classes)

        def factory():
            return build_models(backbone, len(split.classes), IMAGE_SIZE, options.dropout).head

        features = np.concatenate([p.train_features[:n], p.test_features])
        flip = np.concatenate([p.train_features[n:], p.test_flip_features]) if options.flip else None
        cv = cross_validate(features, flip, np.concatenate([p.train_y, p.test_y]), list(split.classes), head,
                            folds, repeats, factory if options.head == "adam" else None)
        rows.append((name, fixed, cv))
        typer.echo(f"{name}: {fixed.correct}/{fixed.n}, CV {cv['accuracy']['mean']:.4f}", err=True)
    return rows


def markdown(rows) -> str:
    """The ablation as a Markdown table."""
    lines = ["| change | val accuracy (fixed split) | CV accuracy, mean [95% CI] | CV F1 |", "|---|---|---|---|"]
    for name, fixed, cv in rows:
        acc, f1 = cv["accuracy"], cv["f1"]
        lines.append(f"| {name} | {fixed.accuracy:.2%} ({fixed.correct}/{fixed.n}) | "
                     f"{acc['mean']:.2%} [{acc['low']:.2%}, {acc['high']:.2%}] | {f1['mean']:.4f} |")
    return "\n".join(lines)


@app.command()
def main(
    data: Annotated[str | None, typer.Argument(
        help="ZIP or folder of images; default: the ants/bees reference set.")] = None,
    weights: Annotated[str, typer.Option(help="imagenet, none, or a .h5 path.")] = "imagenet",
    folds: Annotated[int, typer.Option(help="K of the repeated stratified K-fold CV.")] = 5,
    repeats: Annotated[int, typer.Option(help="Repeats of the K-fold CV.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed for the split and the heads.")] = 0,
    verbose: Verbose = False,
) -> None:
    """Print the ablation table (Markdown) for DATA."""
    with user_errors(PROG):
        require_workstation()
        rows = run_ablation(TrainOptions(data=data, weights=weights, seed=seed), folds, repeats)
    typer.echo(markdown(rows))


if __name__ == "__main__":
    run(app, PROG)
