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
    assert 0 < result.first_block_s < result.batch_s
    lines = "\n".join(result.lines())
    assert "folder pipeline" in lines and "overhead" in lines


def test_a_row_count_that_does_not_match_is_an_internal_failure_not_a_user_mistake(tiny_models, tmp_path,
                                                                                   monkeypatch):
    import antbee.batch.run
    from antbee.batch.run import BatchSummary
    from antbee.benchmarks.batch import BatchBenchError, bench_batch

    write(tmp_path / "images" / "0.jpg", encode(image("red", 0), ".jpg"))
    # An antbee-batch that loses rows: one row written whatever it is given.
    monkeypatch.setattr(antbee.batch.run, "run_batch", lambda options, progress=None: BatchSummary(1, 0, 1, 0, 1, 0.1))
    with pytest.raises(BatchBenchError, match="antbee-batch wrote 1 rows for the 3 images") as failed:
        bench_batch(tiny_models.int8, str(tmp_path / "images"), 3)
    assert failed.value.exit_code == 1
