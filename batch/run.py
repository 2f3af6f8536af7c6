"""One antbee-batch job: list the sources, skip those the output holds, classify the rest on Ray Data actors."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from antbee.batch.actors import ClassifyActor
from antbee.batch.cluster import connect_ray
from antbee.batch.inputs import Remote, Sources, list_sources
from antbee.batch.results import SUFFIXES, check_sources, open_results
from antbee.common.errors import UsageError
from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.sources import Unreadable

# Rows per block for large jobs: a block is the unit an actor takes, and each finished block is written,
# so it bounds what a kill loses; small jobs get several blocks per actor so every actor has work.
ROWS_PER_BLOCK = 1000
BLOCKS_PER_ACTOR = 4


@dataclass(frozen=True)
class BatchOptions:
    """What to classify, where to write it and on which Ray; antbee-batch's flags map onto these fields."""

    sources: tuple[str, ...]
    model: Path
    out: Path
    ray: str | None = None  # None: a Ray started here on this machine's cores; else an address, or "auto"
    actors: int | None = None  # None: as many as the cluster's CPUs hold at `threads` each
    threads: int = 1
    batch_size: int = 32
    labels: Path | None = None
    top_k: int = 1
    threshold: float = 0.0
    runtime: str = "auto"

    def __post_init__(self) -> None:
        if not self.sources:
            raise UsageError("no SOURCE: expected image files, folders, globs, URIs or .txt lists of paths")
        if self.out.suffix not in SUFFIXES:
            raise UsageError(f"--out {self.out}: expected a file name ending in {' or '.join(SUFFIXES)}")
        for flag, value in (("--actors", self.actors), ("--threads", self.threads), ("--batch-size", self.batch_size)):
            if value is not None and value < 1:
                raise UsageError(f"{flag} {value}: expected a positive number")

    def classifier_options(self) -> ClassifierOptions:
        """The options each actor opens its Classifier with."""
        return ClassifierOptions(model=self.model, labels=self.labels, threads=self.threads, top_k=self.top_k,
                                 threshold=self.threshold, runtime=self.runtime)


class BatchSummary(NamedTuple):
    """What a job did: sources listed, those already in the output, rows written, error rows among them,
    the worker processes that classified, and the seconds from the first source listed to the last row."""

    sources: int
    skipped: int
    written: int
    failed: int
    workers: int
    seconds: float


def run_batch(options: BatchOptions, progress: Callable[[int, int], None] | None = None) -> BatchSummary:
    """Classify every source the output does not hold yet; `progress(done, total)` after each written block."""
    start = time.perf_counter()
    sources = list_sources(options.sources)
    items = sources.items
    check_sources(options.out, [Sources.key(item) for item in items])
    Classifier(options.classifier_options())  # a bad model: one error, no job
    model = options.model.read_bytes()
    labels = options.labels.read_bytes() if options.labels is not None else None
    results = open_results(options.out)
    written = failed = 0
    workers: set[int] = set()
    try:
        todo = [item for item in items if Sources.key(item) not in results.done]
        if todo:
            with ray_session(options.ray):
                if progress is not None:
                    progress(0, len(todo))
                for batch in _classified(todo, sources.filesystems, options, model, labels):
                    lines = list(batch["row"])
                    results.add(lines)
                    written += len(lines)
                    failed += int(batch["failed"].sum())
                    workers.update(int(pid) for pid in batch["worker"])
                    if progress is not None:
                        progress(written, len(todo))
    finally:
        results.close()
    return BatchSummary(len(items), len(items) - len(todo), written, failed, len(workers),
                        time.perf_counter() - start)


@contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """Ray for the job: the one already started in this process, else `address` joined, else a local one."""
    import ray

    if ray.is_initialized():
        yield
        return
    connect_ray(address)
    try:
        yield
    finally:
        ray.shutdown()


def actors_for(cpus: float, threads: int) -> int:
    """As many actors of `threads` interpreter threads as the CPUs hold, at least one."""
    return max(1, int(cpus) // threads)


def _classified(todo: list[Path | Unreadable | Remote], filesystems: list, options: BatchOptions, model: bytes,
                labels: bytes | None) -> Iterator[dict[str, np.ndarray]]:
    import ray

    ray.data.DataContext.get_current().enable_progress_bars = False  # antbee-batch draws its own
    # Set after the line above, which configures Ray Data's logging: its plan lines and its note that
    # its bars are off are for Ray's developers.
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    actors = options.actors or actors_for(ray.cluster_resources().get("CPU", 1), options.threads)
    per_block = min(ROWS_PER_BLOCK, math.ceil(len(todo) / (actors * BLOCKS_PER_ACTOR)))
    rows = [{"source": Sources.key(item), "reason": item.reason if isinstance(item, Unreadable) else "",
             "path": item.path if isinstance(item, Remote) else "",
             "filesystem": item.filesystem if isinstance(item, Remote) else -1} for item in todo]
    dataset = ray.data.from_items(rows, override_num_blocks=math.ceil(len(todo) / per_block))
    # A batch larger than a block would make Ray Data bundle blocks, leaving actors idle on small jobs.
    dataset = dataset.map_batches(
        ClassifyActor, fn_constructor_args=(options.classifier_options(), model, labels, tuple(filesystems)),
        batch_size=min(options.batch_size, per_block),
        batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=options.threads)
    yield from dataset.iter_batches(batch_size=None, batch_format="numpy")
