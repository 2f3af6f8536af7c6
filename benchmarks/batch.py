"""antbee-bench batch: antbee-batch's images/s on this machine against the single-process folder pipeline."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from antbee.common.errors import AntbeeError, UsageError

IMAGES, SMOKE_IMAGES = 2000, 200


class BatchBenchError(AntbeeError, RuntimeError):
    """The two paths did not classify the same images: a fault in antbee, not in the command line."""

    exit_code = 1


@dataclass(frozen=True)
class BatchThroughput:
    """The same files through both paths in one run; rates in images/s, times in seconds."""

    model: str
    images: int
    cores: int
    folder_workers: int  # classify_files' interpreters (one per core)
    folder_rate: float  # classify_files with default_plan: antbee-edge on a folder
    ray_start_s: float  # ray.init of a local Ray on every core
    actors: int
    batch_s: float  # run_batch with Ray up: listing, actor start, classifying, writing .jsonl
    batch_rate: float  # images / batch_s
    batch_rate_with_start: float  # images / (ray_start_s + batch_s): what one antbee-batch command gives
    first_block_s: float  # from run_batch's start to its first block of results: listing, actor start, one block

    @property
    def overhead(self) -> float:
        """How much longer antbee-batch (Ray start included) takes than the folder pipeline: 0.25 is 25 %."""
        return self.folder_rate / self.batch_rate_with_start - 1

    def lines(self) -> list[str]:
        """The comparison as lines for stdout."""
        return [f"batch benchmark: {self.model}, {self.images} images, {self.cores} cores",
                f"  folder pipeline (classify_files, {self.folder_workers} interpreters): "
                f"{self.folder_rate:.1f} images/s",
                f"  antbee-batch ({self.actors} Ray actors): {self.batch_rate:.1f} images/s with Ray up, "
                f"{self.batch_rate_with_start:.1f} images/s counting Ray's start ({self.ray_start_s:.1f} s)",
                f"  antbee-batch's first results: {self.first_block_s:.1f} s after its start (listing, starting the "
                f"actors, loading the model, one block)",
                f"  Ray's overhead on one machine: {100 * self.overhead:+.1f} % time against the folder pipeline"]


def bench_batch(model: Path, images: str, count: int) -> BatchThroughput:
    """Copy `images` round-robin into `count` files, then time the folder pipeline and antbee-batch on them."""
    import os

    import ray

    from antbee.batch.run import BatchOptions, actors_for, run_batch
    from antbee.edge.classifier import Classifier, ClassifierOptions
    from antbee.edge.folder import classify_files, default_plan
    from antbee.edge.sources import expand_inputs

    sources = [item for item in expand_inputs([images]) if isinstance(item, Path)]
    if not sources:
        raise UsageError(f"IMAGES {images}: no readable image files")
    if ray.is_initialized():
        raise UsageError("antbee-bench batch: Ray is already running in this process; the benchmark starts its own")
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="antbee-bench-batch-") as folder:
        for index in range(count):
            source = sources[index % len(sources)]
            Path(folder, f"{index:06d}{source.suffix.lower()}").write_bytes(source.read_bytes())
        items = expand_inputs([folder])  # written just now, so both runs read them from the page cache
        plan = default_plan()
        classifier = Classifier(ClassifierOptions(model=model, threads=plan.threads))
        start = time.perf_counter()
        done = sum(1 for _ in classify_files(classifier, items, plan.workers))
        folder_s = time.perf_counter() - start

        start = time.perf_counter()
        ray.init(include_dashboard=False, logging_level="warning")
        ray_start_s = time.perf_counter() - start
        try:
            actors = actors_for(ray.cluster_resources().get("CPU", 1), 1)
            marks: list[tuple[float, int]] = []  # (time, rows written) at each block of results
            start = time.perf_counter()
            summary = run_batch(BatchOptions(sources=(folder,), model=model, out=Path(folder, "results.jsonl")),
                                progress=lambda written, total: marks.append((time.perf_counter(), written)))
        finally:
            ray.shutdown()
    if summary.written != done:
        raise BatchBenchError(f"antbee-batch wrote {summary.written} rows for the {done} images the folder "
                              "pipeline classified, so the two rates do not compare; no figures")
    # A rate "once the actors run" is not measured: blocks from several actors arrive in bursts, so the
    # time between the first and the last block leaves out work done before the first arrived.
    first_block_s = next((moment - start for moment, written in marks if written > 0), summary.seconds)
    return BatchThroughput(model.name, done, cores, plan.workers, done / folder_s, ray_start_s, actors,
                           summary.seconds, done / summary.seconds, done / (ray_start_s + summary.seconds),
                           first_block_s)
