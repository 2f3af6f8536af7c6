"""antbee-edge through Typer's CliRunner: files, folders, globs, video, fake cameras, JSON, and every bad input."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from antbee.edge import runner as edge_runner
from antbee.edge.cli import app
from antbee.edge.runner import open_frames

RED, BLUE = (20, 30, 220), (220, 30, 20)


def run(*args: str):
    result = CliRunner().invoke(app, [str(a) for a in args])
    # A user mistake never escapes as a traceback: only SystemExit (from typer.Exit) may end the run.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr + result.stdout
    return result


def json_lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def use_fake_capture(monkeypatch, tmp_path, fake_capture):
    """Route OpenCV captures through a FakeCapture playing `frames`, with no retry sleep, on a Pi or not."""

    def use(frames, opened=True, pi=False):
        capture = fake_capture(frames, opened)
        model_file = tmp_path / "device-tree-model"
        model_file.write_bytes(b"Raspberry Pi 4 Model B\x00" if pi else b"PC\x00")
        monkeypatch.setattr(edge_runner, "open_frames", functools.partial(
            open_frames, factory=lambda source: capture, pi_model_file=model_file, retry_sleep=0.0,
            backoff_first_s=0.01))
        return capture

    return use


def test_files_give_one_readable_line_each_with_the_right_label(tiny_models, write_image):
    red, blue = write_image("red.jpg", RED), write_image("blue.png", BLUE)
    result = run("--model", tiny_models.int8, red, blue)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{red}: ant 0.9") and lines[0].endswith(" ms)")
    assert lines[1].startswith(f"{blue}: bee 0.9")
    assert f"model {tiny_models.int8}" in result.stderr and "2 images, 0 failed" in result.stderr


def test_folders_recursively_and_globs(tiny_models, write_image, tmp_path):
    write_image("set/a red.jpg", RED)
    write_image("set/deeper/bleu été.png", BLUE)
    write_image("set/deeper/b.bmp", RED)
    (tmp_path / "set" / "notes.txt").write_text("not an image")
    folder = run("--model", tiny_models.float32, "--json", tmp_path / "set")
    assert folder.exit_code == 0
    assert [(r["source"].split("set/")[1], r["label"]) for r in json_lines(folder)] == [
        ("a red.jpg", "ant"), ("deeper/b.bmp", "ant"), ("deeper/bleu été.png", "bee")]
    globbed = run("--model", tiny_models.float32, "--json", tmp_path / "set" / "**" / "*.png")
    assert [r["label"] for r in json_lines(globbed)] == ["bee"]


def test_json_schema_and_values(tiny_models, write_image):
    path = write_image("blue.jpg", BLUE)
    (record,) = json_lines(run("--model", tiny_models.int8, "--json", "--top-k", "2", path))
    assert set(record) == {"source", "label", "score", "scores", "top", "latency_ms"}
    assert record["source"] == str(path) and record["label"] == "bee"
    assert set(record["scores"]) == {"ant", "bee"}
    assert record["score"] == record["scores"]["bee"] > 0.9 > record["scores"]["ant"]
    assert sum(record["scores"].values()) == pytest.approx(1.0, abs=0.02)
    assert record["top"] == [{"index": 1, "label": "bee", "score": record["scores"]["bee"]},
                             {"index": 0, "label": "ant", "score": record["scores"]["ant"]}]
    assert record["latency_ms"] > 0


def test_top_k_and_threshold(tiny_models, write_image):
    path = write_image("red.png", RED)
    both = run("--model", tiny_models.int8, "--top-k", "2", path).stdout
    assert "ant 0.9" in both and "; bee 0.0" in both
    high = run("--model", tiny_models.int8, "--threshold", "0.5", "--top-k", "2", "--json", path)
    assert [t["label"] for t in json_lines(high)[0]["top"]] == ["ant"]
    nothing = run("--model", tiny_models.int8, "--threshold", "1.0", path)
    assert nothing.exit_code == 0 and "no class scores 1 or more" in nothing.stdout
    (record,) = json_lines(run("--model", tiny_models.int8, "--threshold", "1.0", "--json", path))
    assert record["label"] is None and record["score"] is None and record["top"] == []


def test_labels_file_overrides_packed_labels(tiny_models, write_image, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("0 formica\n1 apis\n")
    result = run("--model", tiny_models.plain, "--labels", labels, write_image("b.jpg", BLUE))
    assert result.exit_code == 0 and ": apis 0.9" in result.stdout


def test_bad_files_give_error_results_and_the_rest_go_on(tiny_models, write_image, tmp_path):
    good = write_image("good.jpg", BLUE)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "text.jpg"
    text.write_text("hello, not an image")
    truncated = tmp_path / "truncated.jpg"
    whole = write_image("whole.jpg", RED, size=(200, 300)).read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    dangling = tmp_path / "dangling.jpg"
    dangling.symlink_to(tmp_path / "gone.jpg")
    inputs = [empty, text, good, truncated, dangling]
    human = run("--model", tiny_models.int8, *inputs)
    assert human.exit_code == 1
    assert human.stdout.splitlines()[0].startswith(f"{good}: bee")
    errors = human.stderr.splitlines()
    # OpenCV 5 refuses a cut JPEG outright; older builds pad it with grey and preprocess catches that.
    for path, reason in [(empty, "empty file"), (text, "not a readable image"),
                         (truncated, "truncated JPEG|not a readable image"), (dangling, "no such file")]:
        assert any(line.startswith(f"antbee-edge: {path}: ") and any(r in line for r in reason.split("|"))
                   for line in errors), (path, human.stderr)
    assert "5 images, 4 failed" in human.stderr
    records = json_lines(run("--model", tiny_models.int8, "--json", *inputs))
    assert [r["source"] for r in records] == [str(p) for p in inputs]
    assert [set(r) for r in records if r["source"] != str(good)] == [{"source", "error"}] * 4


@pytest.mark.parametrize("make_args, expected", [
    (lambda m, t: ["--model", t / "missing.tflite", "x.jpg"], "x.jpg: no such file"),
    (lambda m, t: ["--model", t / "missing.tflite", t / "img.png"], "missing.tflite: model file not found"),
    (lambda m, t: ["--model", t / "corrupt.tflite", t / "img.png"], "not a TFLite model"),
    (lambda m, t: ["--model", m.int8, "--labels", t / "three.txt", t / "img.png"], "3 labels, but the model outputs 2"),
    (lambda m, t: ["--model", m.int8], "no inputs"),
    (lambda m, t: ["--model", m.int8, t / "nothing*.jpg"], "matches no image files"),
    (lambda m, t: ["--model", m.int8, "--top-k", "0", t / "img.png"], "top-k 0"),
    (lambda m, t: ["--model", m.int8, "--threshold", "2", t / "img.png"], "threshold 2.0"),
    (lambda m, t: ["--model", m.int8, "--threads", "0", t / "img.png"], "threads 0"),
    (lambda m, t: ["--model", m.int8, "--runtime", "onnx", t / "img.png"], "--runtime 'onnx'"),
    (lambda m, t: ["--model", m.int8, "--video", t / "none.avi"], "none.avi: no such file"),
    (lambda m, t: ["--model", m.int8, "--camera", "front"], "--camera 'front': expected a camera index"),
    (lambda m, t: ["--model", m.int8, "--camera", "0", t / "img.png"], "given together"),
])
def test_usage_and_model_errors_are_one_line_and_exit_2(tiny_models, write_image, tmp_path, make_args, expected):
    write_image("img.png", RED)
    (tmp_path / "corrupt.tflite").write_bytes(b"\x00" * 4 + b"NOPE" + b"\x00" * 200)
    (tmp_path / "three.txt").write_text("a\nb\nc\n")
    result = run(*make_args(tiny_models, tmp_path))
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("antbee-edge: error: ") and expected in line


def test_a_truncated_model_file_is_a_model_error(tiny_models, write_image, tmp_path):
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(tiny_models.int8.read_bytes()[:400])
    result = run("--model", cut, write_image("a.png"))
    assert result.exit_code == 2 and "antbee-edge: error: " in result.stderr and str(cut) in result.stderr


def test_default_model_comes_from_artifacts(tiny_models, write_image, tmp_path, monkeypatch):
    image = write_image("blue.png", BLUE)
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "antbee_int8.tflite").write_bytes(tiny_models.int8.read_bytes())
    (tmp_path / "artifacts" / "antbee_f16.rejected.tflite").write_bytes(b"broken")  # newer, but rejected
    monkeypatch.chdir(tmp_path)
    result = run(image)
    assert result.exit_code == 0 and ": bee" in result.stdout
    assert "model artifacts/antbee_int8.tflite" in result.stderr


def test_no_model_anywhere_says_to_pass_model(write_image, tmp_path, monkeypatch):
    image = write_image("blue.png", BLUE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(edge_runner, "PACKAGED_MODEL", "models/not-shipped.tflite")
    result = run(image)
    assert result.exit_code == 2 and "pass --model" in result.stderr


def test_video_frames_are_classified_in_order(tiny_models, red_blue_video):
    result = run("--model", tiny_models.int8, "--video", red_blue_video, "--json", "--no-display")
    records = json_lines(result)
    assert result.exit_code == 0
    assert [r["frame"] for r in records] == list(range(10))
    assert [r["label"] for r in records] == ["ant"] * 6 + ["bee"] * 4
    assert {r["source"] for r in records} == {str(red_blue_video)}
    assert "10 frames, 0 failed" in result.stderr and "fps mean" in result.stderr


def test_max_frames_stops_early(tiny_models, red_blue_video):
    result = run("--model", tiny_models.int8, "--video", red_blue_video, "--max-frames", "3")
    assert result.exit_code == 0
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        f"{red_blue_video} frame {i}" for i in range(3)]


def test_camera_that_cannot_be_opened(tiny_models, use_fake_capture):
    use_fake_capture([], opened=False)
    result = run("--model", tiny_models.int8, "--camera", "0")
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("antbee-edge: error: --camera 0: cannot open the camera through OpenCV")


def test_camera_that_cannot_be_opened_on_a_pi_suggests_picam(tiny_models, use_fake_capture):
    use_fake_capture([], opened=False, pi=True)
    result = run("--model", tiny_models.int8, "--camera", "0")
    assert result.exit_code == 2 and "use --camera picam" in result.stderr


def _summary_counts(stderr: str) -> tuple[int, int]:
    """(frames classified, frames dropped) from the closing line."""
    line = next(line for line in stderr.splitlines() if " frames, " in line or " frame, " in line)
    return int(line.split(": ")[1].split()[0]), int(line.split(", ")[-1].split()[0])


def test_camera_that_stops_is_reopened_then_given_up_after_reconnect_attempts(tiny_models, use_fake_capture):
    # A camera is read on its own thread and only its newest frame is classified, so of the 3
    # frames some may be dropped; each is either classified or counted as dropped.
    capture = use_fake_capture([np.full((48, 64, 3), RED, np.uint8)] * 3)
    result = run("--model", tiny_models.int8, "--camera", "0", "--json", "--reconnect", "2")
    assert result.exit_code == 1
    labels = [r["label"] for r in json_lines(result)]
    assert set(labels) == {"ant"}
    assert "camera 0: offline: stopped delivering frames (5 reads failed in a row)" in result.stderr
    assert "camera 0: gave up: no frame after 2 reconnect attempts (--reconnect 2)" in result.stderr
    classified, dropped = _summary_counts(result.stderr)
    assert classified == len(labels) and classified + dropped == 3
    assert capture.reads == 3 + 5 * 3 and capture.released  # 5 failed reads on opening and on each reopening


def test_frames_of_any_size_go_on_and_bad_frames_are_error_results(tiny_models, use_fake_capture):
    frames = [np.full((48, 64, 3), RED, np.uint8), np.full((720, 1280, 3), BLUE, np.uint8),
              np.zeros((48, 64, 3), np.float32), np.full((17, 5, 3), BLUE, np.uint8)]
    use_fake_capture(frames)
    # A video (a fake one; the file only has to exist) keeps every frame, so each size gets its result.
    result = run("--model", tiny_models.int8, "--video", __file__, "--json", "--max-frames", "4")
    records = json_lines(result)
    assert result.exit_code == 1
    assert [r.get("label") for r in records] == ["ant", "bee", None, "bee"]
    assert set(records[2]) == {"source", "source_id", "frame", "time", "error"} and "uint8" in records[2]["error"]
    assert "4 frames, 1 failed" in result.stderr


def test_ctrl_c_ends_a_camera_run_cleanly_with_a_summary(tiny_models, use_fake_capture):
    import _thread
    import threading
    import time

    capture = use_fake_capture([np.full((48, 64, 3), BLUE, np.uint8)] * 2)
    reads = capture.read

    def read(image=None):
        if not capture.frames:  # Ctrl-C reaches the main thread, not the camera's reading thread
            time.sleep(0.2)
            _thread.interrupt_main()
            time.sleep(0.5)
            return False, None
        time.sleep(0.05)
        return reads(image)

    capture.read = read
    result = run("--model", tiny_models.int8, "--camera", "0")
    assert result.exit_code == 0
    classified, dropped = _summary_counts(result.stderr)
    assert len(result.stdout.splitlines()) == classified and classified + dropped == 2 and classified >= 1
    assert "ms mean latency" in result.stderr
    assert capture.released and not [t for t in threading.enumerate() if t.name.startswith("antbee-grab")]


def test_several_sources_in_one_run_name_their_source_and_id(tiny_models, red_blue_video):
    result = run("--model", tiny_models.int8, "--video", red_blue_video, "--video", f"yard={red_blue_video}",
                 "--json", "--no-display")
    records = json_lines(result)
    assert result.exit_code == 0 and len(records) == 20
    for source_id in ("0", "yard"):
        mine = [r for r in records if r["source_id"] == source_id]
        assert [r["frame"] for r in mine] == list(range(10)) and {r["source"] for r in mine} == {str(red_blue_video)}
    assert "20 frames, 0 failed" in result.stderr


def test_display_on_a_headless_opencv_is_a_clear_error(tiny_models, red_blue_video):
    import cv2

    try:
        cv2.namedWindow("probe")
        cv2.destroyAllWindows()
        pytest.skip("this OpenCV has a GUI")
    except cv2.error:
        pass
    result = run("--model", tiny_models.int8, "--video", red_blue_video, "--display")
    assert result.exit_code == 2 and "--display: this OpenCV cannot open windows" in result.stderr


@pytest.fixture
def fake_gui(monkeypatch):
    """Replace OpenCV's window calls; `keys` are returned by waitKey in turn (then -1)."""
    import cv2

    calls = {"windows": 0, "shown": [], "destroyed": 0, "keys": []}
    monkeypatch.setattr(cv2, "namedWindow", lambda *a: calls.__setitem__("windows", calls["windows"] + 1))
    monkeypatch.setattr(cv2, "imshow", lambda name, image: calls["shown"].append(image.copy()))
    monkeypatch.setattr(cv2, "waitKey", lambda delay: calls["keys"].pop(0) if calls["keys"] else -1)
    monkeypatch.setattr(cv2, "destroyAllWindows", lambda: calls.__setitem__("destroyed", calls["destroyed"] + 1))
    return calls


def test_display_draws_the_label_box_and_q_stops(tiny_models, red_blue_video, fake_gui):
    fake_gui["keys"] = [-1, -1, ord("q")]
    result = run("--model", tiny_models.int8, "--video", red_blue_video, "--display")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 3
    assert fake_gui["windows"] == 1 and fake_gui["destroyed"] == 1 and len(fake_gui["shown"]) == 3
    shown = fake_gui["shown"][0]
    assert shown.shape == (48, 64, 3)
    assert (shown[2, 2] == 0).all()  # the overlay's black box in the corner ...
    assert (shown[-2, -2] > 150).any()  # ... over the red frame


def test_display_is_off_by_default_without_a_display(tiny_models, red_blue_video, fake_gui, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = run("--model", tiny_models.int8, "--video", red_blue_video)
    assert result.exit_code == 0 and fake_gui["windows"] == 0 and fake_gui["shown"] == []
    monkeypatch.setenv("DISPLAY", ":0")
    assert run("--model", tiny_models.int8, "--video", red_blue_video).exit_code == 0
    assert fake_gui["windows"] == 1 and len(fake_gui["shown"]) == 10


def test_no_live_status_when_stderr_is_not_a_terminal(tiny_models, red_blue_video):
    result = run("--model", tiny_models.int8, "--video", red_blue_video, "--no-display")
    assert "\r" not in result.stderr and "fps  " not in result.stderr


def test_file_names_that_are_not_utf8_still_print_as_valid_json(tiny_models, write_image, tmp_path):
    import os

    good = write_image("blue.png", BLUE).read_bytes()
    folder = tmp_path / "odd"
    folder.mkdir()
    try:
        with open(os.fsencode(folder) + b"/\xff\xfe bee.png", "wb") as file:
            file.write(good)
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    result = run("--model", tiny_models.int8, "--json", folder)
    assert result.exit_code == 0
    (record,) = json_lines(result)
    assert record["source"].endswith("\ufffd\ufffd bee.png") and record["label"] == "bee"


def test_several_sources_get_a_window_each(tiny_models, red_blue_video, fake_gui, monkeypatch):
    import cv2

    names = []
    monkeypatch.setattr(cv2, "imshow", lambda name, image: names.append(name))
    result = run("--model", tiny_models.int8, "--video", red_blue_video, "--video", f"yard={red_blue_video}",
                 "--display")
    assert result.exit_code == 0 and sorted(set(names)) == ["antbee-edge 0", "antbee-edge yard"]
    assert names.count("antbee-edge yard") == 10
