"""python -m antbee.benchmarks.decodefloor: a big photo's full and reduced decode against its compressed size."""

from __future__ import annotations

import json

import cv2
import numpy as np

from antbee.benchmarks import decodefloor
from antbee.benchmarks.pipeline import PHOTO_SIZE, photo_jpeg
from tiny_models import SIZE


def test_grain_makes_the_same_photo_a_bigger_file():
    sizes = [len(photo_jpeg(None, grain)) for grain in (0.0, 4.0)]
    assert sizes[0] < sizes[1]
    decoded = cv2.imdecode(np.frombuffer(photo_jpeg(None, 4.0), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[:2] == PHOTO_SIZE


def test_it_times_given_photos_both_ways_and_prints_one_json_line_each(tiny_models, tmp_path, capsys):
    photo = tmp_path / "big.jpg"
    photo.write_bytes(photo_jpeg(None, 2.0))
    small = tmp_path / "small.jpg"
    cv2.imwrite(str(small), np.full((SIZE, SIZE + 10, 3), 200, np.uint8))  # under 1.5x the input
    decodefloor.main(["--model", str(tiny_models.int8), "--repeats", "1", "--json", str(photo), str(small)])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["photo"] for row in rows] == [str(photo), str(small)]
    big, little = rows
    height, width = PHOTO_SIZE
    assert big["bits_per_pixel"] == 8 * photo.stat().st_size / (width * height)
    assert big["reduction"] == 8 and little["reduction"] == 1  # a photo too small to shrink decodes at full size
    for row in rows:
        assert min(row["full_ms"], row["reduced_ms"], row["reduced_decode_ms"]) > 0  # times, not their order: noisy
        assert row["speedup"] == row["full_ms"] / row["reduced_ms"]


def test_the_table_has_a_line_per_photo():
    row = decodefloor.PhotoDecode("p.jpg", 1.0, 0.66, 8, 60.0, 15.0, 12.0)
    lines = decodefloor.table([row, row])
    assert len(lines) == 3 and lines[1].endswith("4.0x") and "12.0 (1/8)" in lines[1]


def test_a_missing_or_unreadable_photo_is_a_usage_error_naming_it(tiny_models, tmp_path, capsys):
    import pytest

    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    for path in (tmp_path / "missing.jpg", text):
        with pytest.raises(SystemExit) as exit_info:
            decodefloor.main(["--model", str(tiny_models.int8), str(path)])
        assert exit_info.value.code == 2 and str(path) in capsys.readouterr().err
