"""antbee-bench batch: both paths classify the same files in one run, and the overhead is their ratio."""

from __future__ import annotations

import pytest

from synthetic import encode, image, write

pytest.importorskip("ray")


def test_bench_batch_times_both_paths_on_the_same_files(tiny_models, tmp_path):
    from antbee.benchmarks.batch import bench_batch

    for i in range(6):
        write(tmp_path / "images" / f"{i}.jpg", encode(image(("red", "blue")[i % 2], i), ".jpg"))
    result = bench_batch(tiny_models.int8, str(tmp_path / "images"), 40)
    assert result.images == 40 and result.actors >= 1
    assert result.folder_rate > 0 and result.batch_rate > result.batch_rate_with_start > 0
    assert result.overhead == pytest.approx(result.folder_rate / result.batch_rate_with_start - 1)
    lines = "\n".join(result.lines())
    assert "folder pipeline" in lines and "overhead" in lines
