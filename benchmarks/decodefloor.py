"""How much a reduced decode gives a big photo, against how much detail (compressed bytes) the photo holds.

libjpeg's DCT scaling (1/8) skips most of the inverse DCT, upsampling and colour conversion, but
not the entropy decoding: every coefficient of the file is still read, so a reduced decode costs
about as much per compressed byte as ever, and the gain over a full decode shrinks as a photo's
bytes per pixel grow. Each photo (by default the benchmark's 4032x3024 photo with more and more
grain, standing in for a sensor's noise and fine detail; or the given JPEGs) goes to a result both
ways, in turns, on the interpreter antbee-edge opens for a single file.

    python -m antbee.benchmarks.decodefloor [--model FILE.tflite] [--repeats 10] [PHOTO.jpg ...]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from antbee.benchmarks.results import stats

GRAINS = (0.0, 2.0, 4.0, 8.0)  # levels of Gaussian grain on the synthetic photo


@dataclass(frozen=True)
class PhotoDecode:
    """One photo's size and median times (ms) to a result: full-size decode, reduced, and the reduced decode alone."""

    photo: str
    megabytes: float
    bits_per_pixel: float
    reduction: int
    full_ms: float
    reduced_ms: float
    reduced_decode_ms: float

    @property
    def speedup(self) -> float:
        """Full-size decode to a result over the reduced one."""
        return self.full_ms / self.reduced_ms


def measure(classifier, name: str, data: bytes, repeats: int, warmup: int = 2) -> PhotoDecode:
    """Time `data` (a JPEG) to a result both ways, and the loader's reduced decode alone."""
    from antbee.benchmarks.pipeline import full_and_reduced
    from antbee.edge.imageheader import sniff
    from antbee.edge.preprocess import jpeg_reduction, load_bgr

    _, width, height = sniff(data, name)
    size, resize = classifier.input.size, classifier.resize
    full, reduced = full_and_reduced(classifier, data, repeats, warmup)
    decodes = []
    for _ in range(repeats):
        start = time.perf_counter()
        load_bgr(data, name, size=size, resize=resize)
        decodes.append(1e3 * (time.perf_counter() - start))
    return PhotoDecode(name, len(data) / 1e6, 8 * len(data) / (width * height),
                       jpeg_reduction(width, height, size, resize), full.median_ms, reduced.median_ms,
                       stats(decodes).median_ms)


def table(rows: Sequence[PhotoDecode]) -> list[str]:
    """The rows as aligned text lines."""
    lines = [f"{'photo':<34} {'MB':>5} {'bits/px':>7} {'full ms':>8} {'reduced ms':>10} {'of which decode':>15} "
             f"{'speedup':>7}"]
    for row in rows:
        lines.append(f"{row.photo:<34} {row.megabytes:>5.2f} {row.bits_per_pixel:>7.2f} {row.full_ms:>8.1f} "
                     f"{row.reduced_ms:>10.1f} {f'{row.reduced_decode_ms:.1f} (1/{row.reduction})':>15} "
                     f"{row.speedup:>6.1f}x")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table for the given photos, or for the synthetic photo at each of GRAINS."""
    from antbee.benchmarks.latency import open_classifier
    from antbee.benchmarks.pipeline import PHOTO_SIZE, photo_jpeg
    from antbee.common.errors import ImageError
    from antbee.edge.folder import default_plan
    from antbee.edge.runner import default_model

    parser = argparse.ArgumentParser(prog="python -m antbee.benchmarks.decodefloor",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="*", type=Path, help="JPEG files (default: the synthetic photo, grained)")
    parser.add_argument("--model", type=Path, help="the .tflite model (default: the one antbee-edge loads)")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs of each way, per photo")
    parser.add_argument("--json", action="store_true", help="one JSON object per photo instead of the table")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats}: expected a positive number")
    for path in args.photos:
        if not path.is_file():
            parser.error(f"{path}: no such file, expected a JPEG photo")
    classifier = open_classifier(str(args.model or default_model()), default_plan(files=1).threads)
    height, width = PHOTO_SIZE
    if args.photos:
        photos = [(str(path), path.read_bytes()) for path in args.photos]
    else:
        picture = _picture()
        photos = [(f"{width}x{height}, grain {grain:g}", photo_jpeg(picture, grain)) for grain in GRAINS]
    try:
        rows = [measure(classifier, name, data, args.repeats) for name, data in photos]
    except ImageError as exc:
        parser.error(str(exc))  # a file that is no image names itself
    if args.json:
        for row in rows:
            print(json.dumps({**asdict(row), "speedup": row.speedup}))
    else:
        print("\n".join(table(rows)))


def _picture():
    # A sample photo shipped with the package, so the default photos are the same on every machine.
    from importlib.resources import files

    from antbee.edge.preprocess import load_bgr

    return load_bgr(files("antbee.edge").joinpath("samples", "bee_1.jpg").read_bytes())


if __name__ == "__main__":
    main()
