"""The end-of-run summary table."""

from __future__ import annotations


def print_summary(result) -> None:
    """Print the test metrics (and CV interval if run) as a Rich table on stdout."""
    from rich.console import Console
    from rich.table import Table

    metrics, summary = result.metrics, result.summary
    table = Table(title=f"antbee-train: {result.out}", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("test accuracy", f"{metrics.accuracy:.2%} ({metrics.correct}/{metrics.n})")
    table.add_row("precision / recall / F1 (weighted)",
                  f"{metrics.precision:.4f} / {metrics.recall:.4f} / {metrics.f1:.4f}")
    table.add_row("images train / early-stop val / test",
                  f"{summary['n_train']} / {summary['n_val']} / {summary['n_test']}")
    table.add_row("classes", ", ".join(metrics.classes))
    table.add_row("skipped files", str(len(summary["skipped"])))
    if "cv" in summary:
        acc = summary["cv"]["accuracy"]
        table.add_row(f"CV accuracy ({summary['cv']['repeats']}x{summary['cv']['folds']}-fold, 95% CI)",
                      f"{acc['mean']:.2%} [{acc['low']:.2%}, {acc['high']:.2%}]")
    Console().print(table)
    for skipped in summary["skipped"]:
        Console(stderr=True).print(f"skipped {skipped['source']}: {skipped['reason']}", markup=False,
                                   highlight=False)
