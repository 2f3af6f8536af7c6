# Helpers for check.sh: `video OUT.avi SAMPLES_DIR [REPEATS]` writes a short MJPG test video; `compare X86 NAME=FILE...`
# checks labels; `serve PID LOG CLIP PHOTO X86 NAME` asks the emulated service for its status and a classification.
from __future__ import annotations

import json
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

FRAME_SIZE = (320, 240)  # width, height
SERVING = re.compile(r"serving on http://127\.0\.0\.1:(\d+)/")
START_TIMEOUT_S = 240  # numpy, OpenCV, the interpreter and the web stack all load under emulation first
REQUEST_TIMEOUT_S = 120  # an upload waits for the live loop's frame under way, emulated too


def make_video(out: str, samples: str, repeats: int = 1) -> None:
    """12 frames (times `repeats`), 320x240, MJPG .avi: each sample photo as is, mirrored, and zoomed in to its centre."""
    import cv2

    photos = sorted(Path(samples).glob("*.jpg"))
    if not photos:
        sys.exit(f"check.py: no *.jpg in {samples}")
    writer = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*"MJPG"), 4.0, FRAME_SIZE)
    if not writer.isOpened():
        sys.exit(f"check.py: OpenCV cannot write {out}")
    frames = []
    for photo in photos:
        image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
        height, width = image.shape[:2]
        zoomed = image[height // 8: height - height // 8, width // 8: width - width // 8]
        frames += [cv2.resize(variant, FRAME_SIZE, interpolation=cv2.INTER_AREA)
                   for variant in (image, cv2.flip(image, 1), zoomed)]
    count = 0
    for _ in range(repeats):
        for frame in frames:
            writer.write(frame)
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


def check_service(pid: int, log: str, clip: str, photo: str, reference: str, name: str) -> int:
    """Wait for the service (process `pid`, stderr in `log`) to name its port, then GET /api/status and POST `photo`
    to /api/classify as the raw body; 1 unless both answer 200, the status names the model and `clip`, and the
    label is the one x86 gave `photo` in `reference`."""
    start = time.monotonic()
    port = _wait_for_port(pid, Path(log))
    if port is None:
        return 1
    up_s = time.monotonic() - start
    base = f"http://127.0.0.1:{port}"
    problems = []
    code, status = _request(f"{base}/api/status")
    sources = list(status.get("sources", {}).values())
    model = status.get("model", {})
    if code != 200 or not model.get("sha256") or not model.get("labels"):
        problems.append(f"/api/status answered {code}: {status} (expected 200 and the model)")
    elif status.get("mode") != "live" or len(sources) != 1 or Path(clip).name not in sources[0].get("source", ""):
        problems.append(f"/api/status: mode {status.get('mode')!r}, sources {sources} (expected live, {clip})")
    ref = read_results(reference).get(Path(photo).name)
    classify_code, got = _request(f"{base}/api/classify", Path(photo).read_bytes())
    if ref is None or "error" in ref:
        problems.append(f"the x86 run has no result for {Path(photo).name}")
    elif classify_code != 200 or got.get("label") != ref["label"]:
        problems.append(f"/api/classify {Path(photo).name} answered {classify_code}: {got} "
                        f"(expected 200 and x86's {_cell(ref)})")
    for problem in problems:
        print(f"MISMATCH {name} serve: {problem}")
    if problems:
        return 1
    print(f"[check] {name} serve: up after {up_s:.0f} s on port {port}; /api/status 200 ({model['runtime']}, "
          f"model {model['sha256'][:12]}, source {sources[0]['source']}); /api/classify {Path(photo).name} 200: "
          f"{_cell(got)}, x86 {_cell(ref)}; {time.monotonic() - start:.0f} s")
    return 0


def _wait_for_port(pid: int, log: Path) -> int | None:
    """The port the service's stderr names, or None (saying why) if the process ends or is not up in time."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = _read(log)
        match = SERVING.search(text)
        if match:
            return int(match.group(1))
        if not Path(f"/proc/{pid}").exists() or "State:\tZ" in _proc_status(pid):
            print(f"MISMATCH the service ended before it served; its stderr:\n{text[-2000:]}")
            return None
        time.sleep(1)
    print(f"MISMATCH the service named no port within {START_TIMEOUT_S} s; its stderr:\n{_read(log)[-2000:]}")
    return None


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _proc_status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:  # it ended between the two looks
        return "State:\tZ"


def _request(url: str, body: bytes | None = None) -> tuple[int, dict]:
    """(HTTP status, JSON answer) of a GET, or of a POST of `body` as a JPEG; (0, {"error": ...}) if none came."""
    headers = {} if body is None else {"Content-Type": "image/jpeg"}
    request = urllib.request.Request(url, body, headers, method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {"error": exc.read().decode("utf-8", "replace")}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return 0, {"error": str(exc)}


def _cell(record: dict | None) -> str:
    if record is None:
        return "(missing)"
    if "error" in record:
        return "(error)"
    return f"{record['label']} {record['score']:.3f}"


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "video":
        make_video(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) == 5 else 1)
    elif len(sys.argv) >= 3 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3:]))
    elif len(sys.argv) == 8 and sys.argv[1] == "serve":
        sys.exit(check_service(int(sys.argv[2]), *sys.argv[3:]))
    else:
        sys.exit("usage: check.py video OUT.avi SAMPLES_DIR [REPEATS] | check.py compare X86.jsonl NAME=FILE.jsonl..."
                 " | check.py serve PID STDERR.log CLIP.avi PHOTO.jpg X86.jsonl NAME")
