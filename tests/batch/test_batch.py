"""antbee-batch on a real local Ray: rows equal antbee-edge --json, several workers, bad files as rows, resuming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthetic import FOLDER_BAD, encode, image, write

pytest.importorskip("ray")

IMAGES = 300  # in the `photos` fixture
BATCH = [sys.executable, "-c", "from antbee.batch.cli import main; main()"]


def edge_rows(model: Path, *inputs) -> dict[str, dict]:
    """antbee-edge --json's rows for `inputs`, by source, without the latency (which differs run to run)."""
    result = subprocess.run([sys.executable, "-c", "from antbee.edge.cli import main; main()", *map(str, inputs),
                             "--model", str(model), "--json"], capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return {row["source"]: _timeless(row) for row in rows}


def _timeless(row: dict) -> dict:
    return {key: value for key, value in row.items() if key != "latency_ms"}


def by_source(rows: list[dict]) -> dict[str, dict]:
    sources = [row["source"] for row in rows]
    assert len(sources) == len(set(sources)), "a source was written twice"
    return {row["source"]: _timeless(row) for row in rows}


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_rows_equal_antbee_edge_json_and_several_workers_did_them(ray_address, photos, tiny_models, tmp_path,
                                                                  suffix, monkeypatch):
    from antbee.batch.results import read_rows
    from antbee.batch.run import BatchOptions, run_batch

    import ray

    # Ray Data feeds actors as each starts; on a busy machine the first could finish these few hundred tiny
    # images before the second is up. Waiting for the pool makes "two processes share the work" a fair check.
    context = ray.data.DataContext.get_current()
    monkeypatch.setattr(context, "wait_for_min_actors_s", 120)
    out = tmp_path / f"results{suffix}"
    summary = run_batch(BatchOptions(sources=(str(photos),), model=tiny_models.int8, out=out, actors=2))
    rows = by_source(read_rows(out))
    expected = edge_rows(tiny_models.int8, photos)
    assert len(expected) == IMAGES + len(FOLDER_BAD)
    assert rows == expected
    assert summary.written == len(rows) and summary.skipped == 0
    assert summary.failed == sum("error" in row for row in rows.values()) == 3  # the 1x1 GIF decodes
    assert summary.workers >= 2, "one process did all the work"
    labels = {row.get("label") for row in rows.values()}
    assert labels == {"ant", "bee", None}  # red and blue images both classified, bad files without a label


def test_bad_files_and_listed_paths_are_error_rows(ray_address, photos, tiny_models, tmp_path):
    from antbee.batch.results import read_rows
    from antbee.batch.run import BatchOptions, run_batch

    listing = tmp_path / "list.txt"
    good = next((photos / "red").iterdir())
    listing.write_text(f"# a list\n{good}\nmissing.jpg\n{photos / 'train/red/truncated.jpg'}\n\n")
    out = tmp_path / "listed.jsonl"
    summary = run_batch(BatchOptions(sources=(str(listing),), model=tiny_models.int8, out=out))
    rows = by_source(read_rows(out))
    assert set(rows) == {str(good), str(tmp_path / "missing.jpg"), str(photos / "train/red/truncated.jpg")}
    assert rows[str(good)]["label"] == "ant" and "error" not in rows[str(good)]
    assert "missing.jpg" in rows[str(tmp_path / "missing.jpg")]["error"]
    assert "truncated.jpg" in rows[str(photos / "train/red/truncated.jpg")]["error"]
    assert summary.failed == 2


def test_a_killed_run_rerun_holds_every_file_exactly_once(ray_address, tiny_models, tmp_path, make_photos):
    from antbee.batch.results import read_rows

    # Larger noisy photos decode slowly enough for the kill to land half-way through.
    photos = make_photos(tmp_path / "photos", count=400, size=(480, 640))
    out = tmp_path / "results.jsonl"
    command = [*BATCH, str(photos), "--model", str(tiny_models.int8), "--out", str(out), "--ray", ray_address,
               "--actors", "1", "--batch-size", "4"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and out.stat().st_size > 0) and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    lines = out.read_bytes().count(b"\n")
    total = 400 + len(FOLDER_BAD)
    assert 0 < lines < total, f"the kill did not land half-way: {lines} of {total} rows"

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    rows = read_rows(out)
    sources = [row["source"] for row in rows]
    assert len(sources) == len(set(sources)) == total
    assert "already there" in rerun.stderr


def test_a_line_cut_by_a_kill_is_dropped_and_done_again(tmp_path):
    from antbee.batch.results import open_results

    out = tmp_path / "r.jsonl"
    out.write_text('{"source": "a.jpg", "label": "ant"}\n{"source": "b.jp')
    results = open_results(out)
    assert results.done == {"a.jpg"}
    results.add(['{"source": "b.jpg", "label": "bee"}'])
    results.close()
    assert [json.loads(line)["source"] for line in out.read_text().splitlines()] == ["a.jpg", "b.jpg"]


def test_a_part_being_written_at_a_kill_is_ignored(tmp_path):
    from antbee.batch.results import open_results

    out = tmp_path / "r.parquet"
    results = open_results(out)
    results.add(['{"source": "a.jpg", "label": "ant", "score": 1.0, "scores": {"ant": 1.0}, '
                 '"top": [{"index": 0, "label": "ant", "score": 1.0}], "latency_ms": 1.0}'])
    (out / ".part-x.parquet.0123.tmp").write_bytes(b"half a part")
    again = open_results(out)
    assert again.done == {"a.jpg"}
    assert not list(out.glob(".*.tmp"))


def test_wrong_output_and_missing_model_are_one_line_errors(tmp_path, photos):
    for args, expected in (([str(photos), "--out", str(tmp_path / "r.csv")], "expected a file name ending in"),
                           ([str(photos), "--out", str(tmp_path / "r.jsonl"), "--model", str(tmp_path / "no.tflite")],
                            "no.tflite"),
                           ([str(tmp_path / "nothing"), "--out", str(tmp_path / "r.jsonl")], "no such file")):
        result = subprocess.run([*BATCH, *args], capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("antbee-batch: error:") and expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_device_and_workstation_code_never_import_ray():
    code = ("import sys, antbee.edge.cli, antbee.edge.runner, antbee.edge.folder, antbee.edge.serve, "
            "antbee.train.cli, antbee.train.run, antbee.batch.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'pyarrow')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_folders_lists_and_uris_give_each_source_once(tmp_path):
    from antbee.batch.inputs import Remote, list_sources

    write(tmp_path / "a" / "x.jpg", encode(image("red", 1), ".jpg"))
    write(tmp_path / "a" / "notes.txt", b"not listed: no image suffix")
    listing = tmp_path / "l.txt"
    listing.write_text(f"a/x.jpg\n/abs/y.jpg\nfile://{tmp_path}/a/x.jpg\n")
    sources = list_sources([str(tmp_path / "a"), str(listing), f"file://{tmp_path}/a/"])
    uri = f"file://{tmp_path}/a/x.jpg"
    assert sources.items == [tmp_path / "a" / "x.jpg", Path("/abs/y.jpg"), Remote(uri, f"{tmp_path}/a/x.jpg", 0)]
    assert len(sources.filesystems) == 1


def test_uri_sources_are_read_through_pyarrow_as_the_files_are(ray_address, photos, tiny_models, tmp_path):
    from antbee.batch.results import read_rows
    from antbee.batch.run import BatchOptions, run_batch

    out = tmp_path / "uris.jsonl"
    red = photos / "red"
    listing = tmp_path / "uris.txt"
    listing.write_text(f"file://{photos}/missing.jpg\n")  # listed, so not checked up front: an error row
    run_batch(BatchOptions(sources=(f"file://{red}", f"file://{photos}/train/red/empty.jpg", str(listing)),
                           model=tiny_models.int8, out=out))
    rows = by_source(read_rows(out))
    expected = edge_rows(tiny_models.int8, red)
    assert {source.removeprefix("file://") for source in rows} - {str(photos / "missing.jpg")} == \
        set(expected) | {str(photos / "train/red/empty.jpg")}
    for source, row in expected.items():
        assert rows[f"file://{source}"] == {**row, "source": f"file://{source}"}
    assert rows[f"file://{photos}/train/red/empty.jpg"]["error"].endswith("empty file, expected an image")
    assert "cannot read it" in rows[f"file://{photos}/missing.jpg"]["error"]


def test_a_file_name_that_is_not_utf8_is_skipped_on_a_rerun_and_read_back(tmp_path):
    from antbee.batch.results import open_results, read_rows

    name = os.fsdecode(b"/photos/caf\xe9.jpg")  # Latin-1 bytes, a lone surrogate in Python
    results = open_results(tmp_path / "r.jsonl")
    results.add([json.dumps({"source": name, "error": "x"}, ensure_ascii=False)])
    results.close()
    again = open_results(tmp_path / "r.jsonl")
    again.close()
    assert again.done == {name}
    assert read_rows(tmp_path / "r.jsonl") == [{"source": name, "error": "x"}]


def test_help_names_every_flag():
    result = subprocess.run([*BATCH, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for flag in ("--out", "--model", "--ray", "--actors", "--threads", "--batch-size", "--labels", "--top-k",
                 "--threshold", "--runtime"):
        assert flag in result.stdout, flag


def test_runtime_reaches_the_classifier_and_a_wrong_one_is_a_one_line_error(tiny_models, tmp_path):
    write(tmp_path / "a.jpg", encode(image("red", 1), ".jpg"))
    result = subprocess.run([*BATCH, str(tmp_path / "a.jpg"), "--out", str(tmp_path / "r.jsonl"), "--model",
                             str(tiny_models.int8), "--runtime", "nope"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("antbee-batch: error: --runtime 'nope': expected auto or one of"), result.stderr
    assert not (tmp_path / "r.jsonl").exists()


def test_a_file_name_that_is_not_utf8_is_refused_for_parquet_before_any_work(tmp_path):
    from antbee.batch.results import check_sources
    from antbee.common.errors import UsageError

    name = os.fsdecode(b"/photos/caf\xe9.jpg")
    check_sources(tmp_path / "r.jsonl", [name])
    with pytest.raises(UsageError, match=r"caf\ufffd.jpg.*--out .*r.jsonl"):
        check_sources(tmp_path / "r.parquet", ["/photos/ok.jpg", name])


def test_an_output_that_is_not_antbee_batch_rows_is_refused_and_left_as_it_was(tmp_path):
    from antbee.batch.results import open_results
    from antbee.common.errors import UsageError

    out = tmp_path / "notes.jsonl"
    out.write_bytes(b'{"note": 1}\n{"note": 2')
    with pytest.raises(UsageError, match="notes.jsonl line 1: not an antbee-batch row") as refused:
        open_results(out)
    assert out.read_bytes() == b'{"note": 1}\n{"note": 2'
    # `refused` keeps the traceback alive, as an error handler does, and with it anything left open.
    open_files = [os.readlink(fd) for fd in Path("/proc/self/fd").iterdir() if fd.is_symlink()]
    assert str(out) not in open_files, refused.value
