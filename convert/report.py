"""The short verification table antbee-convert prints."""

from __future__ import annotations


def print_result(result) -> None:
    """Print how the converted model compares with Keras, and whether it passed the gate."""
    from rich.console import Console
    from rich.table import Table

    v = result.verification
    table = Table(title=f"{v.variant}: {result.path}")
    for column in ("", "Keras", "TFLite"):
        table.add_column(column, justify="right")
    table.add_row("test accuracy", f"{v.keras_accuracy:.2%}", f"{v.tflite_accuracy:.2%}")
    table.add_row("top-1 agreement", "", f"{v.agreement:.2%} ({v.n - v.disagreements}/{v.n})")
    table.add_row("largest score difference", "", f"{v.max_score_diff:.4f}")
    table.add_row("file size", "", f"{v.size_bytes / 1e6:.2f} MB")
    console = Console()
    console.print(table)
    if v.passed:
        console.print(f"passed: accuracy drop {v.drop * 100:+.2f} pp within {v.max_drop * 100:.2f} pp; "
                      f"report {result.report}")
    else:
        reason = ("float32 must agree with Keras on every image" if v.variant == "float32" and v.disagreements
                  else f"accuracy drop {v.drop * 100:.2f} pp exceeds --max-drop {v.max_drop * 100:.2f} pp")
        Console(stderr=True).print(f"FAILED: {reason}; kept as {result.path} (not for deployment)",
                                   markup=False, highlight=False)
