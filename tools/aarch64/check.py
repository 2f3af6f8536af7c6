# Helpers for check.sh: `video OUT.avi SAMPLES_DIR` writes a short MJPG test video; `compare X86 NAME=FILE...` checks labels.
from __future__ import annotations

import json
import sys
from pathlib import Path

FRAME_SIZE = (320, 240)  # width, height


def make_video(out: str, samples: str) -> None:
    """12 frames, 320x240, MJPG .avi: each sample photo as is, mirrored, and zoomed in to its centre."""
    import cv2

    photos = sorted(Path(samples).glob("*.jpg"))
    if not photos:
        sys.exit(f"check.py: no *.jpg in {samples}")
    writer = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*"MJPG"), 4.0, FRAME_SIZE)
    if not writer.isOpened():
        sys.exit(f"check.py: OpenCV cannot write {out}")
    count = 0
    for photo in photos:
        image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
        height, width = image.shape[:2]
        zoomed = image[height // 8: height - height // 8, width // 8: width - width // 8]
        for variant in (image, cv2.flip(image, 1), zoomed):
            writer.write(cv2.resize(variant, FRAME_SIZE, interpolation=cv2.INTER_AREA))
            count += 1
    writer.release()
    print(f"[check] video {out}: {count} frames {FRAME_SIZE[0]}x{FRAME_SIZE[1]} MJPG from {len(photos)} photos")


def read_results(path: str) -> dict[str, dict]:
    """JSON lines from antbee-edge --json, keyed by file name (+ frame number)."""
    results = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            key = Path(record["source"]).name + (f" frame {record['frame']}" if "frame" in record else "")
            results[key] = record
    return results


def compare(reference: str, others: list[str]) -> int:
    """Print a table of labels per sample/frame and runtime; 1 if any label or result differs from x86's."""
    x86 = read_results(reference)
    runs = {name: read_results(path) for name, path in (item.split("=", 1) for item in others)}
    names = ["x86", *runs]
    width = max(len(key) for key in x86) if x86 else 10
    print(f"{'input':<{width}}  " + "  ".join(f"{name:<14}" for name in names))
    mismatches, max_diff = [], dict.fromkeys(runs, 0.0)
    for key, ref in x86.items():
        cells = [_cell(ref)]
        for name, results in runs.items():
            got = results.get(key)
            cells.append(_cell(got))
            if got is None or "error" in got or "error" in ref or got["label"] != ref["label"]:
                mismatches.append(f"{key}: {name} {_cell(got)} vs x86 {_cell(ref)}")
            else:
                diff = max(abs(got["scores"][label] - score) for label, score in ref["scores"].items())
                max_diff[name] = max(max_diff[name], diff)
        print(f"{key:<{width}}  " + "  ".join(f"{cell:<14}" for cell in cells))
    for name, results in runs.items():
        for key in results.keys() - x86.keys():
            mismatches.append(f"{key}: only in {name}")
    print("max score difference from x86: " + ", ".join(f"{name} {diff:.6f}" for name, diff in max_diff.items()))
    if not x86:
        mismatches.append("the x86 run gave no results")
    for line in mismatches:
        print(f"MISMATCH {line}")
    print(f"[check] {len(x86)} inputs x {len(runs)} emulated runtimes: "
          + (f"{len(mismatches)} mismatches" if mismatches else "all labels match x86"))
    return 1 if mismatches else 0


def _cell(record: dict | None) -> str:
    if record is None:
        return "(missing)"
    if "error" in record:
        return "(error)"
    return f"{record['label']} {record['score']:.3f}"


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "video":
        make_video(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3:]))
    else:
        sys.exit("usage: check.py video OUT.avi SAMPLES_DIR | check.py compare X86.jsonl NAME=FILE.jsonl...")
