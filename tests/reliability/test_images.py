"""Bad and odd image files through the decoder, the training reader and the antbee-edge CLI.

Decision on EXIF orientation: it is honoured, everywhere. OpenCV's IMREAD_COLOR applies
the EXIF Orientation tag, and training (antbee.train.data.read_images), conversion and the device
(antbee.edge.preprocess.load_bgr) all decode through that one call, so a phone photo taken
sideways is seen upright, the same way, by the model in training and on the device. Transparent
pixels: the alpha channel is dropped (the stored colour is kept), also the same everywhere.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import corpus
import synthetic
from antbee.edge import preprocess as pre
from antbee.common.errors import ImageError
from antbee.edge.imageheader import sniff
from antbee.edge.preprocess import load_bgr, load_rgb, prepare, preprocess


CASES = corpus.image_corpus()


@pytest.mark.parametrize("case", CASES, ids=[c.filename for c in CASES])
def test_each_corpus_image_decodes_correctly_or_raises_image_error(case, tmp_path):
    path = tmp_path / case.filename
    path.write_bytes(case.data)
    if case.expect == "error":
        for source in (case.data, path):
            with pytest.raises(ImageError) as error:
                preprocess(source, name=case.filename)
            assert case.filename in str(error.value)
        return
    expected = corpus.pillow_reference_rgb(case.data)
    for source in (case.data, path):
        rgb = load_rgb(source)
        assert rgb.dtype == np.uint8 and rgb.shape == expected.shape, (rgb.shape, expected.shape)
        # JPEG decoders differ by a few levels (IDCT, chroma upsampling); everything else must match.
        tolerance = 6 if case.filename.endswith(".jpg") else 0
        assert np.abs(rgb.astype(int) - expected.astype(int)).mean() <= tolerance
        prepared = preprocess(source, (24, 24))
        assert prepared.shape == (24, 24, 3) and prepared.dtype == np.uint8


def test_exif_orientation_is_applied_and_the_training_reader_sees_the_same_pixels(tmp_path):
    from antbee.common.runs import Example
    from antbee.train.data import DataSource, read_images

    data = corpus.exif_rotated_jpeg(6, height=30, width=40)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "rotated.jpg").write_bytes(data)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "rotated.jpg").write_bytes(data)
    device = load_rgb(tmp_path / "a" / "rotated.jpg")
    assert device.shape == (40, 30, 3)  # stored 30 high x 40 wide; orientation 6 turns it upright
    # Stored: the green corner is top-left; after a 90-degree clockwise turn it is top-right.
    green = np.array((30, 200, 40))
    assert np.abs(device[2, -3].astype(int) - green).max() <= 12
    assert np.abs(device[2, 2].astype(int) - green).max() > 100
    for resize in ("crop", "squash"):
        with DataSource(tmp_path) as source:
            training = read_images(source, [Example("a/rotated.jpg", 0)], (32, 32), resize)
        assert training.skipped == []
        on_device = preprocess(tmp_path / "a" / "rotated.jpg", (32, 32), resize)
        np.testing.assert_array_equal(training.pixels[0], on_device)


def test_an_oversize_jpeg_is_downscaled_upright(monkeypatch):
    monkeypatch.setattr(pre, "MAX_PIXELS", 400)  # 40x30 = 1200 pixels: over, so decoded at 1/8
    data = corpus.exif_rotated_jpeg(6, height=32, width=48)
    image = load_rgb(data)
    assert image.shape == (6, 4, 3)  # 32x48 / 8 = 4x6, then turned upright
    plain = corpus.encode(corpus.halves_rgb(32, 48), "PNG")
    with pytest.raises(ImageError, match="too large"):
        load_bgr(plain, "big.png")  # no scaled decode for PNG: refused


@pytest.mark.parametrize("kind", ["PNG", "BMP", "WEBP", "TIFF", "GIF"])
def test_images_over_the_pixel_limit_are_refused_before_decoding(monkeypatch, kind):
    monkeypatch.setattr(pre, "MAX_PIXELS", 1000)
    data = corpus.encode(corpus.halves_rgb(40, 30), kind)
    with pytest.raises(ImageError, match="40x30|30x40") as error:
        load_bgr(data, f"x.{kind.lower()}")
    assert "too large" in str(error.value)


def test_header_sizes_agree_with_pillow_for_every_format():
    from PIL import Image

    picture = Image.fromarray(corpus.halves_rgb(23, 37))
    variants = {
        "jpeg": corpus.encode(picture, "JPEG"), "jpeg-exif": corpus.exif_rotated_jpeg(6, 23, 37),
        "progressive": corpus.encode(picture, "JPEG", progressive=True),
        "png": corpus.encode(picture, "PNG"), "gif": corpus.encode(picture.convert("P"), "GIF"),
        "bmp": corpus.encode(picture, "BMP"), "webp-lossy": corpus.encode(picture, "WEBP"),
        "webp-lossless": corpus.encode(picture, "WEBP", lossless=True),
        "webp-alpha": corpus.encode(picture.convert("RGBA"), "WEBP"),
        "webp-exif": corpus.encode(picture, "WEBP", exif=Image.Exif().tobytes()),
        "tiff": corpus.encode(picture, "TIFF"), "tiff-lzw": corpus.encode(picture, "TIFF", compression="tiff_lzw"),
        "tiff-big": corpus.encode(picture, "TIFF", big_tiff=True),
    }
    for name, data in variants.items():
        _, width, height = sniff(data, name)
        assert (width, height) == (37, 23), name
        assert load_bgr(data).shape[:2] in ((23, 37), (37, 23)), name


def test_a_one_pixel_image_fills_the_model_input_with_its_colour():
    data = corpus.encode(np.full((1, 1, 3), (200, 10, 10), np.uint8), "PNG")
    prepared = preprocess(data, (224, 224))
    assert prepared.shape == (224, 224, 3)
    assert (prepared == (200, 10, 10)).all()


def test_arrays_prepare_refuses_are_image_errors():
    for bad in (np.zeros((0, 5, 3), np.uint8), np.zeros((5, 5, 2), np.uint8), np.zeros((5, 5, 3), np.float32),
                np.zeros((1, 5, 5, 3), np.uint8), np.uint8(3), [[1, 2], [3, 4]]):
        with pytest.raises(ImageError):
            prepare(bad, (8, 8))
    assert prepare(np.zeros((5, 6, 1), np.uint8), (8, 8)).shape == (8, 8, 3)  # one channel: grey


# --------------------------------------------------------------------------- the 20000x20000 bomb
BOMB_DECODE = """
import sys
import cv2  # loaded before antbee: OpenCV's own pixel limit is then not in force, ours must be
from antbee.edge.preprocess import preprocess
from antbee.common.errors import ImageError
try:
    print("decoded", preprocess(sys.argv[1]).shape)
except ImageError as exc:
    print("ImageError", exc)
"""


def test_a_20000_pixel_square_png_is_refused_within_the_memory_bound(png_bomb):
    assert png_bomb.stat().st_size < 2 * 2**20
    run = corpus.measured_run([sys.executable, "-c", BOMB_DECODE, str(png_bomb)])
    print(f"PNG bomb 20000x20000: peak RSS {run['peak_mb']:.0f} MB, {run['stdout'].strip()}")
    assert run["code"] == 0, run["stderr"]
    assert run["stdout"].startswith("ImageError") and "20000x20000" in run["stdout"]
    assert run["peak_mb"] < corpus.MEMORY_BOUND_MB


def test_a_120_megapixel_jpeg_is_downscaled_within_the_memory_bound(tmp_path):
    path = corpus.big_jpeg(tmp_path / "big.jpg")
    run = corpus.measured_run([sys.executable, "-c", BOMB_DECODE, str(path)])
    print(f"JPEG 12000x10000: peak RSS {run['peak_mb']:.0f} MB, {run['stdout'].strip()}")
    assert run["stdout"].strip() == "decoded (224, 224, 3)", run["stdout"] + run["stderr"]
    assert run["peak_mb"] < corpus.MEMORY_BOUND_MB


# --------------------------------------------------------------------------- through antbee-edge
def _corpus_folder(root: Path) -> dict[str, str]:
    """Write the corpus, good images with awkward names, and symlink loops; name -> expect."""
    expect = {}
    for case in CASES:
        (root / case.filename).write_bytes(case.data)
        expect[case.filename] = case.expect
    odd = root / "sub folder" / "été 🐝 fourmi 1.jpg"
    odd.parent.mkdir()
    odd.write_bytes(corpus.encode(np.full((20, 20, 3), (220, 30, 20), np.uint8), "JPEG"))
    expect[str(odd.relative_to(root))] = "decode"
    os.symlink("..", root / "sub folder" / "loop")  # a folder link back to its parent
    os.symlink("self.jpg", root / "self.jpg")  # a file link to itself
    return expect


def test_the_cli_gives_one_result_per_image_an_error_for_each_bad_one_and_exit_1(tmp_path, tiny_models,
                                                                                  png_bomb, edge_command):
    import subprocess

    root = tmp_path / "photos"
    root.mkdir()
    expect = _corpus_folder(root)
    os.symlink(png_bomb, root / "bomb.png")
    expect["bomb.png"] = "error"
    del expect["readme.txt"]  # folders are walked by image suffix; a .txt is not picked up
    run = corpus.measured_run([*edge_command, str(root), str(root / "self.jpg"), "--json",
                               "--model", str(tiny_models.int8)], timeout=120)
    assert run["code"] == 1, run["stderr"]
    assert "Traceback" not in run["stderr"] and "Traceback" not in run["stdout"]
    assert run["peak_mb"] < corpus.MEMORY_BOUND_MB
    records = [json.loads(line) for line in run["stdout"].splitlines()]
    by_name = {str(Path(r["source"]).relative_to(root)): r for r in records}
    assert set(by_name) == set(expect) | {"self.jpg"}, sorted(set(by_name) ^ set(expect))
    assert "error" in by_name.pop("self.jpg")  # named explicitly: a link to itself is an error result
    for name, want in expect.items():
        record = by_name[name]
        if want == "error":
            assert "error" in record and name.split("/")[-1] in record["error"], record
        else:
            assert record.get("label") in ("ant", "bee"), record
    assert f"{len(records)} images, {sum('error' in r for r in records)} failed" in run["stderr"]
    # The human-readable mode says the same without --json, and names the file in each error line.
    plain = subprocess.run([*edge_command, str(root / "truncated.jpg"), str(root / "picture.bmp"),
                            "--model", str(tiny_models.int8)], capture_output=True, text=True, timeout=60)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert "truncated.jpg" in plain.stderr and "picture.bmp: " in plain.stdout


def test_the_cli_in_process_keeps_going_after_bad_images(tmp_path, tiny_models):
    from typer.testing import CliRunner

    from antbee.edge.cli import app

    paths = []
    for case in CASES:
        path = tmp_path / case.filename
        path.write_bytes(case.data)
        paths.append(str(path))
    result = CliRunner().invoke(app, [*paths, "--json", "--model", str(tiny_models.float32)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == len(CASES)
    for case, record in zip(CASES, records):
        assert ("error" in record) == (case.expect == "error"), (case.filename, record)


def test_training_folders_with_symlink_loops_and_odd_names_are_listed_once(tmp_path):
    from antbee.train.data import DataSource, make_split, read_images

    root = synthetic.write_dataset(tmp_path / "data", per_class=4)
    odd = root / "ants" / "fourmi été 7.png"
    odd.write_bytes((root / "ants" / "ant_000.png").read_bytes())
    os.symlink("..", root / "ants" / "loop")
    os.symlink("self.png", root / "bees" / "self.png")
    (root / "bees" / "bad.jpg").write_bytes(b"")
    split = make_split(root, test_size=0.25)
    names = [e.source for e in (*split.train, *split.test)]
    assert "ants/fourmi été 7.png" in names and len(names) == len(set(names)) == 10
    with DataSource(root) as source:
        images = read_images(source, [*split.train, *split.test], (16, 16), "crop")
    assert [s.source for s in images.skipped] == ["bees/bad.jpg"]
    assert "empty file" in images.skipped[0].reason
