"""Classify many image files on every core: decoding overlaps inference, results come out in input order."""

from __future__ import annotations

import os
import queue
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from antbee.common.errors import UsageError
from antbee.edge.classifier import Classifier
from antbee.edge.runner import Result, classify_file
from antbee.edge.sources import Unreadable

# Files decoded or classified ahead of the one being printed, per worker: enough to keep every
# worker busy while the caller prints, and what bounds memory whatever the folder's size.
AHEAD_PER_WORKER = 2


@dataclass(frozen=True)
class FolderPlan:
    """How files are classified: `workers` interpreters of `threads` threads each (0 workers: in the caller)."""

    workers: int
    threads: int | None

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise UsageError(f"workers {self.workers}: expected 0 (one after another) or more")
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"--threads {self.threads}: expected a positive number")


def default_plan(threads: int | None = None, cores: int | None = None, files: int | None = None) -> FolderPlan:
    """One single-thread interpreter per core; with `threads` given, as many of that many threads as fit.

    A 224x224 invoke scales poorly over threads (its layers are small), while separate images
    share nothing, so a core per image is the fastest way through a folder; each worker decodes
    its own image with OpenCV, which releases the GIL, so decoding overlaps inference. With
    fewer `files` than cores there is no image for some of them: the cores left over go to the
    interpreters' threads (one file: one interpreter with a thread per core, as for a live frame).
    """
    cores = cores or os.cpu_count() or 1
    if threads is None:
        workers = cores if files is None else max(1, min(cores, files))
        return FolderPlan(0, cores) if workers == 1 else FolderPlan(workers, cores // workers)
    if threads < 1:
        raise UsageError(f"--threads {threads}: expected a positive number")
    return FolderPlan(max(1, cores // threads), threads)


SEQUENTIAL = FolderPlan(0, None)  # the runtime's default threads, one file after another: the old default


def classify_files(classifier: Classifier, items: Iterable[Path | Unreadable], workers: int) -> Iterator[Result]:
    """Results for `items` in their order; `workers` interpreters (copies of `classifier`) run at once.

    With 0 workers every file is decoded and classified in the caller's thread, one after another.
    At most AHEAD_PER_WORKER files per worker are in flight, so memory stays bounded.
    """
    if workers == 0:
        yield from (classify_file(classifier, item) for item in items)
        return
    idle: queue.SimpleQueue[Classifier] = queue.SimpleQueue()
    idle.put(classifier)
    for _ in range(workers - 1):
        idle.put(Classifier(classifier.options))

    def work(item: Path | Unreadable) -> Result:
        # Each interpreter serves one thread at a time; a worker takes whichever is free.
        mine = idle.get()
        try:
            return classify_file(mine, item)
        finally:
            idle.put(mine)

    pending: deque[Future[Result]] = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="antbee-classify") as executor:
        try:
            for item in items:
                pending.append(executor.submit(work, item))
                if len(pending) >= workers * AHEAD_PER_WORKER:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:  # Ctrl-C or a closed reader: stop what has not started
                future.cancel()
