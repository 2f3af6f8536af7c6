"""ZIP data sets from the internet: zip-slip, ZIP bombs, lying headers, corrupt members, non-ZIPs."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import corpus
import synthetic
from antbee.common.errors import ImageError, UsageError
from antbee.train import data as datalib
from antbee.common.runs import Example
from antbee.train.data import DataSource, make_split, read_images


def _png(colour=(200, 30, 30)) -> bytes:
    return corpus.encode(np.full((20, 20, 3), colour, np.uint8), "PNG")


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_zip_slip_members_are_rejected_listed_and_nothing_is_written(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    archive = work / "data.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for i in range(3):
            out.writestr(f"ants/ant_{i}.png", _png())
            out.writestr(f"bees/bee_{i}.png", _png((30, 30, 200)))
        # zipfile sanitises names given to writestr as strings only partly; set them on ZipInfo directly.
        for name in ("../evil.png", "ants/../../evil2.png", "/tmp/antbee-evil.png", "\\evil\\x.png",
                     "C:/evil/y.png", "ants/..\\..\\evil3.png"):
            out.writestr(zipfile.ZipInfo(name), _png())
    before = _snapshot(tmp_path)
    split = make_split(archive, test_size=0.34)
    unsafe = {s.source for s in split.skipped if "unsafe path" in s.reason}
    assert unsafe == {"../evil.png", "ants/../../evil2.png", "/tmp/antbee-evil.png", "\\evil\\x.png",
                      "C:/evil/y.png", "ants/..\\..\\evil3.png"}
    kept = {e.source for e in (*split.train, *split.test)}
    assert kept == {f"{c}/{c[:-1]}_{i}.png" for c in ("ants", "bees") for i in range(3)}
    with DataSource(archive) as source:
        images = read_images(source, [*split.train, *split.test], (16, 16), "crop")
    assert len(images.kept) == 6
    assert _snapshot(tmp_path) == before  # reading never extracts anything anywhere
    assert not Path("/tmp/antbee-evil.png").exists()


def test_too_many_members_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(datalib, "MAX_MEMBERS", 10)
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for i in range(11):
            out.writestr(f"{'ants' if i % 2 else 'bees'}/{i}.png", b"x")
    with pytest.raises(UsageError, match="too large"):
        make_split(archive)


def test_a_zip_bomb_over_the_total_size_limit_is_refused_before_inflating(tmp_path, monkeypatch):
    monkeypatch.setattr(datalib, "MAX_TOTAL_BYTES", 8 * 2**20)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        out.writestr("ants/a.png", b"\0" * (16 * 2**20))  # 16 MiB of zeros: about 16 KB compressed
        out.writestr("bees/b.png", b"\0" * 10)
    assert archive.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(UsageError, match="too large"):
            make_split(archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20  # refused from the headers, not by inflating


def _lying_zip(tmp_path: Path, real: int, declared: int) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("ants/liar.png", b"\0" * real)
        out.writestr("ants/a.png", _png())
        out.writestr("bees/b.png", _png((20, 20, 200)))
    path = tmp_path / "liar.zip"
    path.write_bytes(corpus.patch_zip_sizes(buffer.getvalue(), "ants/liar.png", declared))
    return path


def test_a_member_that_inflates_past_its_declared_size_is_read_only_up_to_it(tmp_path, monkeypatch):
    monkeypatch.setattr(datalib, "MAX_FILE_BYTES", 2**20)
    archive = _lying_zip(tmp_path, real=20 * 2**20, declared=1000)
    with DataSource(archive) as source:
        tracemalloc.start()
        try:
            with pytest.raises(ImageError, match="liar.png: damaged in the ZIP .*CRC"):
                source.read("ants/liar.png")  # zipfile stops at the declared 1000 bytes; their CRC is wrong
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < datalib.MAX_FILE_BYTES  # inflated no more than declared, never the 20 MiB
        images = read_images(source, [Example("ants/liar.png", 0), Example("ants/a.png", 0)], (16, 16), "crop")
    assert [e.source for e in images.kept] == ["ants/a.png"]
    assert [s.source for s in images.skipped] == ["ants/liar.png"]


def test_a_member_declared_larger_than_the_file_limit_is_skipped_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(datalib, "MAX_FILE_BYTES", 2**20)
    archive = _lying_zip(tmp_path, real=3 * 2**20, declared=3 * 2**20)
    with DataSource(archive) as source:
        images = read_images(source, [Example("ants/liar.png", 0), Example("bees/b.png", 1)], (16, 16), "crop")
    assert [e.source for e in images.kept] == ["bees/b.png"]
    assert "larger than 1 MiB" in images.skipped[0].reason


@pytest.mark.parametrize("damage", ["crc", "deflate", "unknown-method"])
def test_corrupt_members_are_skipped_with_a_reason_not_a_crash(tmp_path, damage):
    good = _png()
    buffer = io.BytesIO()
    method = zipfile.ZIP_STORED if damage == "crc" else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", method) as out:
        out.writestr("ants/bad.png", good * 3)
        out.writestr("ants/a.png", good)
        out.writestr("bees/b.png", _png((20, 20, 200)))
    data = bytearray(buffer.getvalue())
    start = data.find(b"ants/bad.png") + len("ants/bad.png")  # local header name, then the member's data
    if damage == "crc":
        data[start + 100] ^= 0xFF
    elif damage == "deflate":
        data[start + 2:start + 40] = bytes(range(38))
    else:  # compression method 99 (AES) in the local and central headers: zipfile cannot read it
        for signature, method_at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
            at = data.find(signature)
            data[at + method_at:at + method_at + 2] = (99).to_bytes(2, "little")
    archive = tmp_path / "corrupt.zip"
    archive.write_bytes(bytes(data))
    with DataSource(archive) as source:
        images = read_images(source, [Example("ants/bad.png", 0), Example("ants/a.png", 0)], (16, 16), "crop")
    assert [e.source for e in images.kept] == ["ants/a.png"]
    assert [s.source for s in images.skipped] == ["ants/bad.png"]


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really", b"hello, I am a text file\n",
                                     b"PK\x05\x06" + b"\0" * 18])
def test_a_file_that_is_not_a_zip_is_a_usage_error(tmp_path, content):
    path = tmp_path / "data.zip"
    path.write_bytes(content)
    with pytest.raises(UsageError, match="data.zip"):
        make_split(path)


def test_a_truncated_zip_is_a_usage_error(tmp_path):
    root = synthetic.write_dataset(tmp_path / "d", per_class=3)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for path in sorted(root.rglob("*.png")):
            out.write(path, path.relative_to(root).as_posix())
    (tmp_path / "cut.zip").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(UsageError, match="cut.zip"):
        make_split(tmp_path / "cut.zip")


TRAIN = [sys.executable, "-c", "from antbee.train.cli import main; main()"]


def _train_on_a_non_zip(tmp_path):
    path = tmp_path / "photos.zip"
    path.write_bytes(os.urandom(2000))
    done = subprocess.run([*TRAIN, str(path), "--out", str(tmp_path / "run"), "--backbone", "mobilenet_v2:0.35",
                           "--weights", "none"], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COLUMNS": "80"})
    return done


def test_antbee_train_on_a_non_zip_exits_2_without_a_traceback(tmp_path):
    done = _train_on_a_non_zip(tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    message = " ".join(done.stderr[done.stderr.index("antbee-train: error:"):].split())
    assert "photos.zip" in message and "not a readable ZIP" in message
    assert not (tmp_path / "run").exists()


def test_antbee_train_error_is_one_line(tmp_path):
    done = _train_on_a_non_zip(tmp_path)
    (line,) = [line for line in done.stderr.splitlines() if "antbee-train: error:" in line]
    assert "photos.zip" in line and "not a readable ZIP file" in line and line.rstrip().endswith(")")
