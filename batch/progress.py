"""antbee-batch's progress bar on stderr: rows written of the total, images per second, time left."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text


class RateColumn(ProgressColumn):
    """Images per second since the bar appeared (rows arrive a block at a time, too unevenly for a window)."""

    def render(self, task) -> Text:
        """The rate, or a dash before there is one."""
        elapsed = task.elapsed or 0.0
        return Text(f"{task.completed / elapsed:.1f} images/s" if task.completed and elapsed else "- images/s")


@contextmanager
def progress_bar(console: Console | None = None) -> Iterator[Callable[[int, int], None]]:
    """Yield a `progress(done, total)` callback; the bar and its clock start at the first call, so an error
    before any work leaves stderr to its one error line."""
    columns = (TextColumn("classifying"), BarColumn(), MofNCompleteColumn(), RateColumn(), TextColumn("ETA"),
               TimeRemainingColumn())
    shown = Progress(*columns, console=console or Console(stderr=True))
    task = None

    def progress(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            shown.start()
            task = shown.add_task("classifying", total=total)
        shown.update(task, completed=done)

    try:
        yield progress
    finally:
        if task is not None:
            shown.stop()
