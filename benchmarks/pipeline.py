"""The pipeline rows: a big photo decoded full against reduced, and a folder's images/s against the work bound."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from antbee.benchmarks.latency import open_classifier
from antbee.benchmarks.results import AcceptanceCheck, BigPhoto, FolderThroughput, Model, Ratio, stats

PHOTO_SIZE = (3024, 4032)  # (height, width): a 12-megapixel phone or Pi HQ camera photo
PHOTO_QUALITY = 90
# A folder's rate counts its fixed start (a second interpreter, the worker threads, the first,
# slower invokes): over 400 files that was 2-5% of the run, over 1000 (the folder had 971
# photos) it is what a folder of photos gets.
FOLDER_IMAGES, SMOKE_FOLDER_IMAGES = 1000, 24
ROUNDS, SMOKE_ROUNDS = 3, 1
INVOKES_PER_ROUND = 50


def big_photo(model: Model, picture: np.ndarray | None, repeats: int, warmup: int, progress=None) -> BigPhoto:
    """A PHOTO_SIZE JPEG (the picture scaled up, or a synthetic one) to a result, full and reduced decode in turns.

    Both run on the interpreter antbee-edge opens for a single file (default_plan's threads).
    """
    from antbee.edge.folder import default_plan
    from antbee.edge.preprocess import jpeg_reduction

    height, width = PHOTO_SIZE
    data = photo_jpeg(picture)
    threads = default_plan(files=1).threads
    classifier = open_classifier(model.path, threads)
    full, reduced = full_and_reduced(classifier, data, repeats, warmup, progress)
    return BigPhoto(model.name, threads, f"{width}x{height} JPEG, {len(data) / 1e6:.1f} MB",
                    jpeg_reduction(width, height, classifier.input.size, classifier.resize), full, reduced)


def photo_jpeg(picture: np.ndarray | None, grain: float = 0.0, seed: int = 0) -> bytes:
    """A PHOTO_SIZE JPEG at PHOTO_QUALITY: the picture scaled up, with Gaussian grain of `grain` levels if given.

    Scaled up, a small picture is smoother than a real photo and compresses better; grain
    stands in for a sensor's noise and fine detail, which make a real 12-megapixel JPEG 2-5 MB.
    """
    import cv2

    from antbee.benchmarks.endtoend import camera_frame

    height, width = PHOTO_SIZE
    photo = cv2.resize(camera_frame(picture), (width, height), interpolation=cv2.INTER_CUBIC)
    if grain:
        noise = np.random.default_rng(seed).normal(0.0, grain, photo.shape)
        photo = np.clip(photo + noise, 0, 255).astype(np.uint8)
    return cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, PHOTO_QUALITY])[1].tobytes()


def full_and_reduced(classifier, data: bytes, repeats: int, warmup: int, progress=None):
    """Timings (Stats, Stats) of encoded `data` to a result, decoded at full size and reduced, in turns."""
    from antbee.edge.preprocess import load_bgr

    size, resize = classifier.input.size, classifier.resize

    def full() -> float:
        start = time.perf_counter()
        classifier.classify_bgr(load_bgr(data))
        return 1e3 * (time.perf_counter() - start)

    def reduced() -> float:
        start = time.perf_counter()
        classifier.classify_bgr(load_bgr(data, size=size, resize=resize))
        return 1e3 * (time.perf_counter() - start)

    for _ in range(warmup):
        full(), reduced()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        samples[0].append(full())
        samples[1].append(reduced())
        if progress is not None:
            progress()
    return stats(samples[0]), stats(samples[1])


def folder_throughput(model: Model, encoded: Sequence[bytes], images: int, rounds: int,
                      progress=None) -> FolderThroughput:
    """Images/s over a folder of `images` files (the encoded photos, repeated): default plan, old default, bound.

    Each round measures the work bound's parts (bare single-thread invokes, a decode of every
    file) and then both runs, so all of them see the same background load; the fastest round
    of each counts, since other jobs only ever add time.
    """
    from antbee.edge.classifier import Classifier, ClassifierOptions
    from antbee.edge.folder import SEQUENTIAL, classify_files, default_plan
    from antbee.edge.sources import expand_inputs

    cores = os.cpu_count() or 1
    plan = default_plan()
    with tempfile.TemporaryDirectory(prefix="antbee-bench-folder-") as folder:
        for index in range(images):
            Path(folder, f"{index:05d}.jpg").write_bytes(encoded[index % len(encoded)])
        items = expand_inputs([folder])
        single = open_classifier(model.path, 1)
        default = Classifier(ClassifierOptions(model=Path(model.path), threads=plan.threads))
        sequential = Classifier(ClassifierOptions(model=Path(model.path), threads=SEQUENTIAL.threads))
        best = None
        default_rate = sequential_rate = 0.0
        for _ in range(rounds):
            invoke, decode = _invoke_ms(single, items[0]), _decode_ms(single, items)
            bound = 1e3 * cores / (invoke.median_ms + decode.mean_ms)
            if best is None or bound > best[0]:
                best = (bound, invoke, decode)
            default_rate = max(default_rate, _rate(default, classify_files(default, items, plan.workers)))
            sequential_rate = max(sequential_rate,
                                  _rate(sequential, classify_files(sequential, items, SEQUENTIAL.workers)))
            if progress is not None:
                progress()
    bound, invoke, decode = best
    return FolderThroughput(model.name, len(items), cores, plan.workers, plan.threads, invoke, decode, bound,
                            default_rate, sequential_rate)


def _invoke_ms(classifier, item: Path):
    from antbee.edge.preprocess import load_bgr

    image = load_bgr(item, size=classifier.input.size, resize=classifier.resize)
    classifier.classify_bgr(image)  # leaves the prepared image in the input tensor
    timings = []
    for _ in range(INVOKES_PER_ROUND):
        start = time.perf_counter()
        classifier.interpreter.invoke()
        timings.append(1e3 * (time.perf_counter() - start))
    return stats(timings)


def _decode_ms(classifier, items: Sequence[Path]):
    from antbee.edge.preprocess import load_bgr

    timings = []
    for item in items:
        start = time.perf_counter()
        load_bgr(item, size=classifier.input.size, resize=classifier.resize)
        timings.append(1e3 * (time.perf_counter() - start))
    return stats(timings)


def _rate(classifier, results) -> float:
    """Results per second, each formatted as antbee-edge --json prints it."""
    from antbee.edge.output import format_json

    start = time.perf_counter()
    count = failed = 0
    for result in results:
        format_json(result, classifier)
        count += 1
        failed += result.error is not None
    if failed:
        raise RuntimeError(f"{failed} of the benchmark's own {count} photos failed to classify")
    return count / (time.perf_counter() - start)


def pipeline_ratios(big: BigPhoto | None, folder: FolderThroughput | None) -> list[Ratio]:
    """The checked ratios: full over reduced decode (minima), default images/s over the bound and the old default."""
    out = []
    if big is not None:
        out.append(Ratio("big_photo.full_vs_reduced.min", big.full.min_ms / big.reduced.min_ms,
                         "decode", "higher", True))
    if folder is not None:
        out.append(Ratio("folder.default_vs_bound", folder.default_per_s / folder.bound_per_s,
                         "throughput", "higher", True))
        out.append(Ratio("folder.default_vs_sequential", folder.default_per_s / folder.sequential_per_s,
                         "throughput", "higher", True))
    return out


def pipeline_checks(big: BigPhoto | None, folder: FolderThroughput | None) -> list[AcceptanceCheck]:
    """The pipeline targets of acceptance.TARGETS, measured in this run; an unmeasured one is absent."""
    from antbee.benchmarks.acceptance import TARGETS

    checks = []
    if big is not None:
        full, reduced = big.full.median_ms, big.reduced.median_ms
        target = TARGETS["big_photo_speedup"]
        checks.append(AcceptanceCheck(
            f"a {big.photo} to a result, full-size decode against the reduced one (1/{big.reduction}), medians",
            f"{full:.1f} ms / {reduced:.1f} ms = {full / reduced:.1f}x", target.stated, target.met(full / reduced)))
    if folder is not None:
        rate, bound, old = folder.default_per_s, folder.bound_per_s, folder.sequential_per_s
        target = TARGETS["folder_vs_bound"]
        checks.append(AcceptanceCheck(
            f"folder of {folder.images} photos, default flags, against the all-cores work bound "
            f"({folder.cores} / ({folder.invoke.median_ms:.2f} ms invoke + {folder.decode.mean_ms:.2f} ms decode))",
            f"{rate:.0f}/s vs {bound:.0f}/s = {rate / bound:.2f}x", target.stated, target.met(rate / bound)))
        target = TARGETS["folder_vs_sequential"]
        checks.append(AcceptanceCheck(
            "folder, default flags, against the old default (one interpreter, the runtime's threads, in sequence)",
            f"{rate:.0f}/s vs {old:.0f}/s = {rate / old:.2f}x", target.stated, target.met(rate / old)))
    return checks


def markdown(big: BigPhoto | None, folder: FolderThroughput | None) -> list[str]:
    """The report's section on the pipeline, as Markdown lines."""
    lines = []
    if big is not None:
        lines += [f"## A {big.photo} from bytes to a result ({big.model}, {big.threads} "
                  f"thread{'' if big.threads == 1 else 's'}, as antbee-edge runs a single file; ms)", "",
                  "| decode | median | p90 | min |", "|---|---|---|---|",
                  f"| full size | {big.full.median_ms:.1f} | {big.full.p90_ms:.1f} | {big.full.min_ms:.1f} |",
                  f"| reduced, 1/{big.reduction} (what antbee-edge does) | {big.reduced.median_ms:.1f} | "
                  f"{big.reduced.p90_ms:.1f} | {big.reduced.min_ms:.1f} |", ""]
    if folder is not None:
        threads = "the runtime's" if folder.threads is None else str(folder.threads)
        lines += [f"## A folder of {folder.images} photos through antbee-edge's file runner ({folder.model})", "",
                  "| run | images/s |", "|---|---|",
                  f"| default: {folder.workers} interpreter(s) of {threads} thread(s), decoding in parallel | "
                  f"{folder.default_per_s:.0f} |",
                  f"| old default: one interpreter, the runtime's threads, one file after another | "
                  f"{folder.sequential_per_s:.0f} |",
                  f"| all-cores work bound: {folder.cores} / ({folder.invoke.median_ms:.2f} ms median invoke at "
                  f"1 thread + {folder.decode.mean_ms:.2f} ms mean decode) | {folder.bound_per_s:.0f} |", "",
                  "The fastest of the rounds of each; the bound's parts come from the round with the highest bound.",
                  ""]
    return lines
