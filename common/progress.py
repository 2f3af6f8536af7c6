"""Rich progress bars for the slow steps (decoding, features, epochs, CV folds, conversions, timing)."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def rich_tracker(console):
    """Yield (tracker, on_epoch): tracker(description, total) adds a bar and returns its step callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[note]}"), console=console, transient=False) as progress:
        epochs = None

        def tracker(description: str, total: int):
            task = progress.add_task(description, total=total, note="")
            return lambda advance=1: progress.advance(task, advance)

        def on_epoch(epoch: int, logs: dict) -> None:
            nonlocal epochs
            if epochs is None:
                epochs = progress.add_task("head epochs (Adam)", total=None, note="")
            progress.update(epochs, completed=epoch + 1,
                            note=f"loss {logs.get('loss', 0):.3f} val_loss {logs.get('val_loss', 0):.3f}")

        yield tracker, on_epoch
