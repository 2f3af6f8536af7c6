"""antbee-train on bad input: a one-line error, exit code 2, no traceback; and atomic run folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from antbee.common.errors import UsageError
from antbee.train.cli import app
from run_folders import TINY, TINY_ARGS
from synthetic import bad_bytes, encode, image, write


def invoke(*args, env=None):
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    return result


def assert_usage_error(result, *fragments):
    """Exit 2 through SystemExit, a message starting 'antbee-train: error:' with `fragments`, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("antbee-train: error: ")]
    assert len(errors) == 1, result.stderr
    message = " ".join(result.stderr.split())  # joined again: Rich may wrap it (see the one-line test)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_missing_data_path(tmp_path):
    result = invoke(tmp_path / "no-such-data.zip", "--out", tmp_path / "out", *TINY_ARGS)
    assert_usage_error(result, "no-such-data.zip", "data not found")
    assert not (tmp_path / "out").exists()


def test_single_class(tmp_path, datasets):
    data = tmp_path / "one"
    for part in ("train", "val"):
        (data / part / "red").mkdir(parents=True)
        for path in (datasets.folder / part / "red").glob("img_*"):
            shutil.copy(path, data / part / "red" / path.name)
    result = invoke(data, "--out", tmp_path / "out", *TINY_ARGS, "--labels-from", "folder")
    assert_usage_error(result, "only the class 'red'", "at least two")
    assert not (tmp_path / "out").exists()


def test_single_class_by_file_name(tmp_path, datasets):
    data = tmp_path / "flat"
    data.mkdir()
    for path in datasets.flat.glob("red_*.jpg"):
        shutil.copy(path, data / path.name)
    result = invoke(data, "--out", tmp_path / "out", *TINY_ARGS)
    assert_usage_error(result, "only the class 'red'")


def test_class_with_no_readable_images(tmp_path):
    data = tmp_path / "data"
    for i in range(4):
        write(data / "red" / f"r{i}.jpg", encode(image("red", i), ".jpg"))
        write(data / "blue" / f"b{i}.jpg", bad_bytes("empty" if i % 2 else "text"))
    result = invoke(data, "--out", tmp_path / "out", *TINY_ARGS, "--test-size", "0.5")
    assert_usage_error(result, "class 'blue'", "no readable training images")
    assert not (tmp_path / "out").exists()


def test_not_a_zip(tmp_path):
    fake = tmp_path / "images.zip"
    fake.write_bytes(b"PK but not really a zip file" * 10)
    result = invoke(fake, "--out", tmp_path / "out", *TINY_ARGS)
    assert_usage_error(result, "images.zip", "not a readable ZIP")


def test_zip_without_images(tmp_path):
    archive = tmp_path / "docs.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "hello")
        z.writestr("../evil.jpg", encode(image("red", 1), ".jpg"))
    result = invoke(archive, "--out", tmp_path / "out", *TINY_ARGS)
    assert_usage_error(result, "no images found")
    assert not (tmp_path / "evil.jpg").exists()


def test_missing_weights_file(tmp_path, datasets):
    result = invoke(datasets.folder, "--out", tmp_path / "out", "--weights", tmp_path / "nope.h5")
    assert_usage_error(result, "--weights", "nope.h5", "no such file")


def test_unloadable_weights_file(tmp_path, datasets):
    bogus = tmp_path / "weights.h5"
    bogus.write_bytes(os.urandom(4096))
    result = invoke(datasets.folder, "--out", tmp_path / "out", "--weights", bogus)
    assert_usage_error(result, "--weights", "weights.h5", "cannot load")
    assert not (tmp_path / "out").exists()


def test_imagenet_weights_offline(tmp_path, datasets, monkeypatch):
    import antbee.train.backbones as backbones

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(backbones, "WEIGHTS_URL", "http://127.0.0.1:9/weights.h5")
    result = invoke(datasets.folder, "--out", tmp_path / "out", "--weights", "imagenet")
    assert_usage_error(result, "cannot download", "--weights PATH")
    assert not any(p.is_file() for p in (tmp_path / "keras").rglob("*"))  # no partial download left


@pytest.mark.parametrize("flag, value, fragment", [
    ("--resize", "bogus", "--resize 'bogus'"),
    ("--head", "sgd", "--head 'sgd'"),
    ("--labels-from", "exif", "--labels-from 'exif'"),
    ("--test-size", "1.5", "--test-size 1.5"),
    ("--backbone", "resnet50", "--backbone 'resnet50'"),
    ("--backbone", "mobilenet_v2:abc", "--backbone 'mobilenet_v2:abc'"),
    ("--cv", "1", "--cv 1"),
    ("--epochs", "0", "--epochs"),
    ("--dropout", "1.0", "--dropout 1.0"),
])
def test_bad_option_values(tmp_path, datasets, flag, value, fragment):
    args = ["--backbone", "mobilenet_v2:0.35", "--weights", "none"] if flag != "--backbone" else ["--weights", "none"]
    result = invoke(datasets.flat, "--out", tmp_path / "out", *args, flag, value)
    assert_usage_error(result, fragment)
    assert not (tmp_path / "out").exists()


def test_offline_reference_download_says_to_pass_the_zip(tmp_path, monkeypatch):
    import antbee.train.run as run

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(run, "REFERENCE_URL", "http://127.0.0.1:9/x.zip")
    with pytest.raises(UsageError, match="pass the ZIP") as raised:
        run.resolve_data(None)
    assert "\n" not in str(raised.value)
    assert "127.0.0.1:9" in str(raised.value)
    assert not any(p.is_file() for p in (tmp_path / "keras").rglob("*"))


def test_offline_reference_download_through_the_cli(tmp_path, monkeypatch):
    import antbee.train.run as run

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(run, "REFERENCE_URL", "http://127.0.0.1:9/x.zip")
    result = invoke("--out", tmp_path / "out", *TINY_ARGS)  # no DATA: the reference task
    assert_usage_error(result, "pass the ZIP", "antbee-train path/to/hymenoptera_data.zip")


def test_reference_data_already_cached_is_used_without_download(tmp_path, monkeypatch):
    import antbee.train.run as run

    cached = tmp_path / "keras" / "datasets" / "hymenoptera_data.zip"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(run, "REFERENCE_URL", "http://127.0.0.1:9/x.zip")
    assert Path(run.resolve_data(None)) == cached


def test_error_is_one_line_even_when_long(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # a log file, a CI console or an 80-column terminal
    missing = tmp_path / ("a-rather-long-folder-name-" * 3) / "data.zip"
    result = invoke(missing, "--out", tmp_path / "out", *TINY_ARGS)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("antbee-train: error: ") and lines[0].rstrip().endswith("folder of images)")


def test_console_script_exits_2_without_traceback(tmp_path):
    script = Path(sys.executable).with_name("antbee-train")
    command = [str(script)] if script.exists() else [sys.executable, "-c",
                                                      "from antbee.train.cli import main; main()"]
    done = subprocess.run([*command, str(tmp_path / "missing"), "--out", str(tmp_path / "out"),
                           "--backbone", "mobilenet_v2:0.35", "--weights", "none"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    errors = [line for line in done.stderr.splitlines() if line.startswith("antbee-train: error:")]
    assert len(errors) == 1
    assert "missing: data not found" in " ".join(done.stderr.split())  # may be wrapped, see above


# ---- atomic writes


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def failing_plot(monkeypatch):
    """Make the last step of writing a run (the training-curve PNG, after model.save) fail halfway."""
    import antbee.train.plots as plots

    def fail(history, path):
        Path(path).write_bytes(b"\x89PNG half")
        raise RuntimeError("disk full while drawing")

    monkeypatch.setattr(plots, "training_curve_png", fail)


def test_failed_run_leaves_a_good_run_folder_untouched(tmp_path, folder_run, datasets, failing_plot):
    from antbee.train.run import TrainOptions, train

    out = tmp_path / "run"
    shutil.copytree(folder_run.out, out)
    before = snapshot(out)
    # a different seed and resize: had anything been written, the model and metrics would differ
    options = TrainOptions(data=str(datasets.flat), out=str(out), seed=11, resize="squash", **TINY)
    with pytest.raises(RuntimeError, match="disk full"):
        train(options)
    assert snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == sorted(before)  # no staging folder or temp file left


def test_failed_first_run_writes_no_model(tmp_path, datasets, failing_plot):
    from antbee.train.run import TrainOptions, train

    out = tmp_path / "fresh"
    with pytest.raises(RuntimeError, match="disk full"):
        train(TrainOptions(data=str(datasets.folder), out=str(out), **TINY))
    assert not out.exists() or list(out.iterdir()) == []
