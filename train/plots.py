"""PNG plots of a run: the confusion matrix and the training curve (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_matrix_png(matrix: Sequence[Sequence[int]], classes: Sequence[str], path: Path, title: str) -> None:
    """Draw a confusion matrix with counts in the cells."""
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    size = 2.5 + 0.5 * len(classes)
    fig, ax = plt.subplots(figsize=(size, size))
    ConfusionMatrixDisplay(np.asarray(matrix), display_labels=list(classes)).plot(ax=ax, colorbar=False,
                                                                                 cmap="Blues")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def training_curve_png(history: dict, path: Path) -> None:
    """Loss per epoch (Adam head), or cross-validated log loss per C (L-BFGS head)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    if "loss" in history:
        epochs = np.arange(1, len(history["loss"]) + 1)
        ax.plot(epochs, history["loss"], label="train loss")
        if "val_loss" in history:
            ax.plot(epochs, history["val_loss"], label="validation loss")
        ax.set_xlabel("epoch")
    else:
        ax.semilogx(history["C"], history["cv_log_loss"], marker="o", label="3-fold CV log loss")
        ax.axvline(history["best_C"], color="grey", linestyle="--", label=f"chosen C = {history['best_C']:g}")
        ax.set_xlabel("C (inverse L2 strength)")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
