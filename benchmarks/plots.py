"""PNG plots of a benchmark report (matplotlib, Agg): latency, size against accuracy, confusion matrices."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from antbee.common.files import publish, scratch_name
from antbee.benchmarks.results import Report

LATENCY_PNG, SIZE_PNG, CONFUSION_PNG = "latency.png", "size_vs_accuracy.png", "confusion_matrices.png"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display on build machines
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    plt = _pyplot()
    fig.tight_layout()
    temporary = scratch_name(path, ".png")
    try:
        fig.savefig(temporary, dpi=110)
        publish(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
        plt.close(fig)
    return path


def latency_png(report: Report, path: Path) -> Path:
    """Median latency (bar) and p90 (whisker) per model and call, one bar per thread count, log scale."""
    plt = _pyplot()
    rows = sorted({(row.model, row.call) for row in report.latency}, key=lambda key: _order(report, key))
    threads = sorted({row.threads for row in report.latency})
    found = {(row.model, row.call, row.threads): row.stats for row in report.latency}
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(rows) + 2), 4.2))
    width = 0.8 / max(1, len(threads))
    for i, t in enumerate(threads):
        x = [j + i * width for j, key in enumerate(rows) if (*key, t) in found]
        cells = [found[(*key, t)] for key in rows if (*key, t) in found]
        medians = np.array([s.median_ms for s in cells])
        p90 = np.array([s.p90_ms for s in cells])
        ax.bar(x, medians, width, yerr=[np.zeros_like(medians), p90 - medians], capsize=2,
               label=f"{t} thread{'s' if t > 1 else ''}")
    ax.set_xticks([j + width * (len(threads) - 1) / 2 for j in range(len(rows))])
    ax.set_xticklabels([model if call == "set_input+invoke" else f"{model}\n{call}" for model, call in rows],
                       rotation=30, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("ms per image, batch 1 (bar: median, whisker: p90)")
    ax.set_title("Latency per model and thread count")
    ax.legend(fontsize=8)
    return _save(fig, path)


def size_accuracy_png(report: Report, path: Path) -> Path:
    """File size (MB, log) against test accuracy, one labelled point per model."""
    plt = _pyplot()
    scores = {a.model: a.accuracy for a in report.accuracy}
    fig, ax = plt.subplots(figsize=(5.5, 4))
    placed = [m for m in sorted(report.models, key=lambda m: m.size_bytes) if m.name in scores]
    for i, model in enumerate(placed):
        size = model.size_bytes / 1e6
        ax.scatter(size, 100 * scores[model.name])
        # Variants often tie on accuracy; alternating label heights keeps neighbours readable.
        ax.annotate(f"{model.name} ({size:.1f} MB)", (size, 100 * scores[model.name]), textcoords="offset points",
                    xytext=(4, 8 if i % 2 else -14), fontsize=8)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(plt.FuncFormatter(lambda value, _: f"{value:g}" if value in (2, 3, 5) else ""))
    ax.set_xlabel("file size on disk (MB)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Size against accuracy")
    return _save(fig, path)


def confusion_png(report: Report, path: Path) -> Path:
    """One confusion matrix panel per model, counts in the cells."""
    plt = _pyplot()
    from sklearn.metrics import ConfusionMatrixDisplay

    panels = report.accuracy
    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 + 2.6 * len(panels), 3.2), squeeze=False)
    for ax, row in zip(axes[0], panels):
        ConfusionMatrixDisplay(np.asarray(row.confusion_matrix), display_labels=row.classes).plot(
            ax=ax, colorbar=False, cmap="Blues")
        ax.set_title(f"{row.model}\n{row.correct}/{row.n} correct", fontsize=9)
    return _save(fig, path)


def draw_all(report: Report, folder: Path) -> list[Path]:
    """Every plot the report has data for; returns the files written."""
    written = []
    if report.latency:
        written.append(latency_png(report, folder / LATENCY_PNG))
    if report.accuracy:
        written.append(size_accuracy_png(report, folder / SIZE_PNG))
        written.append(confusion_png(report, folder / CONFUSION_PNG))
    return written


def _order(report: Report, key: tuple[str, str]) -> tuple[int, str]:
    names = [m.name for m in report.models]
    return (names.index(key[0]) if key[0] in names else len(names), key[1])
