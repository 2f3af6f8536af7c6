"""antbee-edge as a user runs it: fresh processes, the installed console script, and Google's reference model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

BEE_PREFIX = "hymenoptera_data/val/bees/"


def _command() -> list[str]:
    script = shutil.which("antbee-edge", path=str(Path(sys.executable).parent)) or shutil.which("antbee-edge")
    return [script] if script else [sys.executable, "-c", "from antbee.edge.cli import main; main()"]


def _run(*args, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    return subprocess.run([*_command(), *map(str, args)], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env=env)


def test_importing_the_cli_loads_no_tensorflow():
    code = ("import sys, antbee.edge.cli, antbee.edge.runner, antbee.edge.sources, antbee.edge.pipeline, "
            "antbee.edge.terminal, antbee.edge.serve, antbee.edge.loops, antbee.edge.eventsink, "
            "antbee.edge.events, antbee.edge.modelswap, antbee.edge.service.app, antbee.edge.mqtt.device, "
            "antbee.edge.mqtt.link, antbee.edge.mqtt.frames; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras') "
            "or m.startswith(('antbee.train', 'antbee.convert'))); print(bad)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_help_works_and_names_every_flag():
    result = _run("--help")
    assert result.returncode == 0, result.stderr
    for flag in ["--model", "--labels", "--camera", "--video", "--threads", "--top-k", "--threshold", "--json",
                 "--display", "--no-display", "--max-frames", "--runtime", "--reference-kernels", "--reconnect"]:
        assert flag in result.stdout, flag
    exit_codes = result.stdout[result.stdout.index("Exit codes:"):]
    for code in ("0 ", "1 ", "2 ", "130 "):
        assert f"\n    {code}" in exit_codes, code


def test_a_true_run_with_good_and_bad_inputs(tiny_models, tmp_path, write_image):
    blue = write_image("photos/blue sky.jpg", (220, 30, 20))
    (tmp_path / "photos" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    result = _run("--model", tiny_models.int8, "--json", tmp_path / "photos")
    assert result.returncode == 1, result.stderr
    records = {Path(r["source"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert records["blue sky.jpg"]["label"] == "bee" and "error" in records["broken.png"]
    assert f"model {tiny_models.int8}" in result.stderr and str(blue) not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_true_run_with_a_corrupt_model_is_one_line_and_exit_2(tmp_path, write_image):
    corrupt = tmp_path / "model.tflite"
    corrupt.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\xff" * 500)  # the right identifier, nonsense after it
    result = _run("--model", corrupt, write_image("a.png"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("antbee-edge: error: ")] == [
        line for line in result.stderr.splitlines() if "model.tflite" in line]
    assert "antbee-edge: error: " in result.stderr and result.stdout == ""


@pytest.mark.shared
def test_reference_mobilenet_finds_a_bee_in_a_real_bee_photo(shared_dir, tmp_path):
    model = shared_dir / "models" / "tf2_mobilenet_v2_1.0_224_ptq.tflite"
    labels = shared_dir / "models" / "imagenet_labels.txt"
    data = shared_dir / "data" / "hymenoptera_data.zip"
    for needed in (model, labels, data):
        if not needed.is_file():
            pytest.skip(f"{needed} is missing from the shared folder")
    with zipfile.ZipFile(data) as archive:
        name = sorted(n for n in archive.namelist() if n.startswith(BEE_PREFIX) and n.endswith(".jpg"))[0]
        photo = tmp_path / Path(name).name
        photo.write_bytes(archive.read(name))
    result = _run("--model", model, "--labels", labels, "--top-k", "5", "--json", photo)
    assert result.returncode == 0, result.stderr
    (record,) = map(json.loads, result.stdout.splitlines())
    # ImageNet names two classes "crane"; both keep a score.
    assert len(record["scores"]) == 1001 and {"crane", "crane (518)"} <= set(record["scores"])
    assert record["scores"]["background"] < 0.5
    top5 = [entry["label"] for entry in record["top"]]
    assert "bee" in top5, top5


@pytest.mark.shared
@pytest.mark.parametrize("photo", ["bee_1.jpg", "bee_2.jpg"])
def test_reference_mobilenet_labels_the_shipped_bee_photos_bee(shared_dir, photo):
    """Google's plain int8 ImageNet model (no metadata) through the same runtime: top-1 is ImageNet's 'bee'."""
    model = shared_dir / "models" / "tf2_mobilenet_v2_1.0_224_ptq.tflite"
    labels = shared_dir / "models" / "imagenet_labels.txt"
    if not (model.is_file() and labels.is_file()):
        pytest.skip(f"{model} or {labels} is missing from the shared folder")
    sample = Path(__file__).resolve().parents[2] / "edge" / "samples" / photo
    result = _run("--model", model, "--labels", labels, "--json", sample)
    assert result.returncode == 0, result.stderr
    (record,) = map(json.loads, result.stdout.splitlines())
    assert record["label"] == "bee", record["label"]
