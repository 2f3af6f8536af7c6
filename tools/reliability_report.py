"""Measure the reliability numbers for the README and print them as a Markdown table.

    python tools/reliability_report.py [--flips N]

Runs the generated bad-input corpus through the decoder, the training reader and antbee-edge,
the archive and model cases, a bit-flip fuzz of a tiny model, the 20,000-frame soak and the
hypothesis fuzzers, and prints what each kind of input got. It reuses the tests' generators
(tests/corpus.py, tests/tiny_models.py) and fuzzers (tests/reliability/test_fuzz.py) and needs the
dev extra (pytest, hypothesis, pillow).
"""

from __future__ import annotations

import argparse
import collections
import importlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
RELIABILITY = TESTS / "reliability"
# The tests' helper modules are plain modules in these folders (pytest puts tests/ on its path the same way).
sys.path[:0] = [str(TESTS), str(RELIABILITY)]


def _outcome(call) -> str:
    from antbee.common.errors import AntbeeError

    try:
        call()
    except AntbeeError as exc:
        return type(exc).__name__
    return "decoded"


def images(corpus, tmp: Path, models, rows: list) -> None:
    import numpy as np

    from antbee.edge.preprocess import load_rgb

    edge = [sys.executable, "-c", "from antbee.edge.cli import main; main()"]
    folder = tmp / "photos"
    folder.mkdir()
    kinds = collections.defaultdict(list)
    for case in corpus.image_corpus():
        (folder / case.filename).write_bytes(case.data)
        outcome = _outcome(lambda: load_rgb(case.data, case.filename))
        if outcome == "decoded":
            expected = corpus.pillow_reference_rgb(case.data)
            image = load_rgb(case.data)
            same = image.shape == expected.shape and np.abs(image.astype(int) - expected.astype(int)).mean() <= 6
            outcome = "decoded, matches pillow" if same else "decoded, DIFFERS from pillow"
        kinds[case.kind].append(outcome)
    odd = folder / "sub folder" / "été 🐝 fourmi 1.jpg"
    odd.parent.mkdir()
    odd.write_bytes(corpus.encode(np.full((20, 20, 3), 200, np.uint8), "JPEG"))
    kinds["file name with spaces and non-ASCII"].append(_outcome(lambda: load_rgb(odd)).replace(
        "decoded", "decoded, matches pillow"))
    os.symlink("..", folder / "sub folder" / "loop")
    os.symlink("self.jpg", folder / "self.jpg")
    bomb = corpus.png_bomb(tmp / "bomb.png")
    run = corpus.measured_run([sys.executable, "-c", "import sys, cv2\nfrom antbee.edge.preprocess import "
                               "preprocess\nfrom antbee.common.errors import ImageError\ntry:\n print('decoded', "
                               "preprocess(sys.argv[1]).shape)\nexcept ImageError as e:\n print('ImageError')",
                               str(bomb)])
    kinds[f"20000x20000 PNG ({bomb.stat().st_size // 1024} KB file, decompression bomb)"].append(
        f"{run['stdout'].strip()} before decoding, peak RSS {run['peak_mb']:.0f} MB")
    big = corpus.big_jpeg(tmp / "big.jpg")
    run = corpus.measured_run([sys.executable, "-c", "import sys, cv2\nfrom antbee.edge.preprocess import "
                               "preprocess\nprint('decoded at 1/8 scale', preprocess(sys.argv[1]).shape)", str(big)])
    kinds["12000x10000 JPEG (over the 100-megapixel limit)"].append(
        f"{run['stdout'].strip()}, peak RSS {run['peak_mb']:.0f} MB")
    for kind, outcomes in kinds.items():
        counts = collections.Counter(outcomes)
        rows.append(("image", kind, len(outcomes), "; ".join(f"{o}" + (f" ({n})" if len(counts) > 1 else "")
                                                             for o, n in counts.items())))
    os.symlink(bomb, folder / "bomb.png")
    run = corpus.measured_run([*edge, str(folder), str(folder / "self.jpg"), "--json", "--model",
                               str(models.int8)], timeout=300)
    records = [json.loads(line) for line in run["stdout"].splitlines()]
    failed = sum("error" in r for r in records)
    sources = [r["source"] for r in records]
    loop = [r for r in records if r["source"].endswith("self.jpg")]
    rows.append(("image", "symlink loop: a folder link to its parent, a file link to itself (named too)", 2,
                 f"folder walked once ({len(sources) - len(set(sources))} duplicates); the self-link: "
                 f"{'an error result' if loop and 'error' in loop[0] else 'NO ERROR RESULT'}"))
    rows.append(("image", "all of the above through `antbee-edge FOLDER --json`", len(records),
                 f"{len(records) - failed} classified, {failed} error results, exit code {run['code']}, "
                 f"traceback: {'yes' if 'Traceback' in run['stderr'] else 'no'}, peak RSS {run['peak_mb']:.0f} MB"))


def archives(corpus, tmp: Path, rows: list) -> None:
    from antbee.train import data as datalib

    archive = tmp / "slip.zip"
    bad = ["../evil.png", "ants/../../evil2.png", "/tmp/antbee-evil.png", "\\evil\\x.png", "C:/evil/y.png"]
    with zipfile.ZipFile(archive, "w") as out:
        for i in range(3):
            out.writestr(f"ants/a{i}.png", b"x")
            out.writestr(f"bees/b{i}.png", b"x")
        for name in bad:
            out.writestr(zipfile.ZipInfo(name), b"x")
    before = sorted(p.name for p in tmp.iterdir())
    split = datalib.make_split(archive, test_size=0.34)
    rejected = sum("unsafe path" in s.reason for s in split.skipped)
    written = sorted(p.name for p in tmp.iterdir()) != before or Path("/tmp/antbee-evil.png").exists()
    rows.append(("archive", "ZIP members with `../`, absolute or drive paths (zip-slip)", len(bad),
                 f"{rejected} rejected and listed in skipped; files written: {'yes' if written else 'none'}"))
    limits = (datalib.MAX_MEMBERS, datalib.MAX_TOTAL_BYTES, datalib.MAX_FILE_BYTES)
    outcomes = []
    try:
        datalib.MAX_TOTAL_BYTES = 8 * 2**20
        bomb = tmp / "bomb.zip"
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
            out.writestr("ants/a.png", b"\0" * (16 * 2**20))
            out.writestr("bees/b.png", b"x")
        outcomes.append(_outcome(lambda: datalib.make_split(bomb)))
        datalib.MAX_TOTAL_BYTES, datalib.MAX_MEMBERS = limits[1], 10
        many = tmp / "many.zip"
        with zipfile.ZipFile(many, "w") as out:
            for i in range(11):
                out.writestr(f"{'ants' if i % 2 else 'bees'}/{i}.png", b"x")
        outcomes.append(_outcome(lambda: datalib.make_split(many)))
        datalib.MAX_MEMBERS, datalib.MAX_FILE_BYTES = limits[0], 2**20
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
            out.writestr("ants/liar.png", b"\0" * (20 * 2**20))
        liar = tmp / "liar.zip"
        liar.write_bytes(corpus.patch_zip_sizes(buffer.getvalue(), "ants/liar.png", 1000))
        with datalib.DataSource(liar) as source:
            outcomes.append(_outcome(lambda: source.read("ants/liar.png")))
    finally:
        datalib.MAX_MEMBERS, datalib.MAX_TOTAL_BYTES, datalib.MAX_FILE_BYTES = limits
    rows.append(("archive", "ZIP bombs: 16 MiB of zeros over a (lowered) total limit; more members than the "
                 "(lowered) limit; a member inflating past its declared size", len(outcomes),
                 f"{outcomes[0]} and {outcomes[1]} from the headers, before inflating; the liar {outcomes[2]} "
                 f"after inflating only its declared 1000 bytes"))
    notzip = []
    for i, content in enumerate([b"", os.urandom(2000), b"PK\x03\x04 not really", b"text\n"]):
        path = tmp / f"not{i}.zip"
        path.write_bytes(content)
        notzip.append(_outcome(lambda: datalib.make_split(path)))
    rows.append(("archive", "a file that is not a ZIP (empty, random, fake header, text)", len(notzip),
                 f"{collections.Counter(notzip).most_common()} (antbee-train: exit 2)"))


def models_rows(corpus, tmp: Path, models, flips: int, rows: list) -> dict:
    import numpy as np

    edge = [sys.executable, "-c", "from antbee.edge.cli import main; main()"]
    image = tmp / "a.png"
    image.write_bytes(corpus.encode(np.full((8, 8, 3), 200, np.uint8), "PNG"))
    content = models.plain.read_bytes()
    labels = tmp / "labels.txt"
    labels.write_text("a\nb\nc\n")
    cases = {"truncated .tflite (4 cut points)": [content[:100], content[: len(content) // 2], content[:-16],
                                                  content[:8] + bytes(64)],
             "non-TFLite file named .tflite (PNG, random, empty, ZIP)": [b"\x89PNG\r\n\x1a\n" + bytes(200),
                                                                         os.urandom(3000), b"",
                                                                         b"PK\x05\x06" + bytes(18)]}
    for kind, blobs in cases.items():
        codes = []
        for i, blob in enumerate(blobs):
            path = tmp / f"bad{i}.tflite"
            path.write_bytes(blob)
            done = subprocess.run([*edge, str(image), "--model", str(path)], capture_output=True, text=True)
            codes.append((done.returncode, "Traceback" in done.stderr))
        rows.append(("model", kind, len(blobs), f"ModelError, exit codes {sorted({c for c, _ in codes})}, "
                     f"tracebacks {sum(t for _, t in codes)}"))
    for kind, extra in (("labels file with the wrong count (3 labels, 2 outputs)", ["--labels", str(labels)]),
                        ("model with a [1, 10] float input", None)):
        model = models.vector_input if extra is None else models.plain
        done = subprocess.run([*edge, str(image), "--model", str(model), *(extra or [])], capture_output=True,
                              text=True)
        line = [x for x in done.stderr.splitlines() if "error:" in x][0].split("error: ", 1)[1].split(": ", 1)[-1]
        rows.append(("model", kind, 1, f"ModelError, exit {done.returncode}: \"{line}\""))
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda seed: corpus.flip_fuzz(models.int8 if seed % 2 else models.plain, flips // 2,
                                                           seed, timeout=3600), (101, 102)))
    total = {k: sum(r[k] for r in runs) for k in ("tried", "loaded", "model_error", "other_exception", "signal")}
    rows.append(("model", "bit-flipped .tflite (1-8 random bit flips, each load in a forked child)", total["tried"],
                 f"{total['model_error']} ModelError, {total['loaded']} still load and classify, "
                 f"{total['other_exception']} other exceptions, {total['signal']} killed by a signal"))
    return total


def fuzz_rows(rows: list) -> None:
    fuzz = importlib.import_module("test_fuzz")
    start = time.monotonic()
    for name, function in (("arbitrary image bytes", fuzz.test_arbitrary_bytes_decode_or_raise_image_error),
                           ("mutated JPEG/PNG/GIF/WebP/TIFF/BMP", fuzz.test_mutated_images_decode_or_raise_image_error),
                           ("arrays into prepare()", fuzz.test_prepare_takes_any_array_or_raises_image_error),
                           ("arbitrary metadata bytes",
                            fuzz.test_arbitrary_bytes_read_as_metadata_give_info_none_or_model_error),
                           ("mutated metadata ZIPs", fuzz.test_mutated_metadata_gives_info_none_or_model_error)):
        function()
        rows.append(("fuzz (hypothesis)", name, fuzz.EXAMPLES[name], "only AntbeeError escaped"))
    rows.append(("fuzz (hypothesis)", "total time", sum(fuzz.EXAMPLES.values()),
                 f"{time.monotonic() - start:.0f} s, derandomized"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flips", type=int, default=400, help="bit-flipped models to try")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    corpus = importlib.import_module("corpus")
    tiny_models = importlib.import_module("tiny_models")
    rows: list[tuple] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="antbee-reliability-") as folder:
        tmp = Path(folder)
        print("building tiny models ...", file=sys.stderr)
        models = tiny_models.build_tiny_models(tmp / "models")
        print("images ...", file=sys.stderr)
        images(corpus, tmp, models, rows)
        print("archives ...", file=sys.stderr)
        (tmp / "zips").mkdir()
        archives(corpus, tmp / "zips", rows)
        print(f"models ({args.flips} bit flips) ...", file=sys.stderr)
        (tmp / "m").mkdir()
        models_rows(corpus, tmp / "m", models, args.flips, rows)
        print("soak ...", file=sys.stderr)
        soak = subprocess.run([sys.executable, str(RELIABILITY / "soak.py"), str(models.int8), "20000"],
                              capture_output=True, text=True, check=True)
        result = json.loads(soak.stdout.strip().splitlines()[-1])
        rows.append(("soak", "edge frame loop, fake camera, 640x480 frames, tiny int8 model", result["frames"],
                     f"{result['errors']} errors; RSS slope after 2000-frame warm-up "
                     f"{result['slope_kb_per_1000_frames']:+.2f} KB per 1000 frames (growth "
                     f"{result['rss_growth_kb_after_warm_up']} KB); median latency "
                     f"{result['median_latency_ms_early']:.3f} ms early, "
                     f"{result['median_latency_ms_late']:.3f} ms late"))
        print("hypothesis fuzz ...", file=sys.stderr)
        fuzz_rows(rows)
    print(f"\n<!-- measured by `python tools/reliability_report.py` in {time.monotonic() - started:.0f} s -->")
    print("| Area | Input | Tried | What it got |")
    print("|---|---|---:|---|")
    for area, kind, tried, result in rows:
        print(f"| {area} | {kind} | {tried} | {result} |")


if __name__ == "__main__":
    main()
