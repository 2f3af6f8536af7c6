"""Reading data sets: classes from folders or file names, the split, and what is skipped (no training here)."""

from __future__ import annotations

from collections import Counter

import pytest

from antbee.common.errors import UsageError
from antbee.train.data import DataSource, filename_label, make_split
from synthetic import ZIP_BAD, ZIP_UNSAFE, encode, flat_names, image, write


@pytest.mark.parametrize("name, label", [
    ("ant_001.jpg", "ant"),
    ("bee17.jpg", "bee"),
    ("cat.12.jpg", "cat"),
    ("golden_retriever_3.jpg", "golden_retriever"),
    ("bee_17.png", "bee"),
    ("dog-4.jpeg", "dog"),
    ("ant (2).jpg", "ant"),
    ("some/folder/moth_0042.JPG", "moth"),
    ("wasp.png", "wasp"),
])
def test_filename_label(name, label):
    assert filename_label(name) == label


def test_folder_layout_uses_folders_and_its_own_train_val_split(datasets):
    split = make_split(datasets.folder)
    assert split.labels_from == "folder"
    assert split.classes == ("blue", "red")
    assert split.presplit
    # every val image is a test example, every train image a training example; nothing crosses over
    assert sorted(e.source for e in split.test) == sorted(
        f"val/{c}/img_{i:03d}.png" for c in ("red", "blue") for i in range(4))
    assert all(e.source.startswith("train/") for e in split.train)
    assert all(split.classes[e.label] == e.source.split("/")[1] for e in (*split.train, *split.test))
    # the three bad .jpg files are listed as training examples here (they are only found bad on decoding);
    # the GIF is skipped at listing for its type
    assert {s.source for s in split.skipped} == {"train/blue/anim.gif"}
    assert "gif" in split.skipped[0].reason.lower()


def test_presplit_ignores_test_size_and_seed(datasets):
    a = make_split(datasets.folder, test_size=0.5, seed=7)
    b = make_split(datasets.folder, test_size=0.1, seed=0)
    assert a.test == b.test and a.train == b.train


def test_labels_from_filename_overrides_folders(datasets):
    # the folder layout's images are all called img_NNN, so by file name they are one class "img"
    # (the bad files empty.jpg, notes.jpg and truncated.jpg are classes of their own by name)
    split = make_split(datasets.folder, labels_from="filename")
    assert split.labels_from == "filename"
    assert split.classes == ("empty", "img", "notes", "truncated")
    assert {split.classes[e.label] for e in split.test} == {"img"}


def test_flat_folder_detects_classes_from_file_names(datasets):
    split = make_split(datasets.flat, test_size=0.2, seed=0)
    assert split.labels_from == "filename"
    assert split.classes == ("blue", "green", "red")
    assert not split.presplit
    for example in (*split.train, *split.test):
        colour = flat_names()[example.source][0]
        assert split.classes[example.label] == colour


def test_labels_from_folder_on_flat_folder_is_a_usage_error(datasets):
    with pytest.raises(UsageError, match="expected at least two"):
        make_split(datasets.flat, labels_from="folder")


@pytest.mark.parametrize("test_size, per_class", [(0.1, 1), (0.2, 2), (0.5, 5)])
def test_stratified_split_sizes(datasets, test_size, per_class):
    split = make_split(datasets.flat, test_size=test_size, seed=0)
    assert Counter(e.label for e in split.test) == {0: per_class, 1: per_class, 2: per_class}
    assert Counter(e.label for e in split.train) == {0: 10 - per_class, 1: 10 - per_class, 2: 10 - per_class}
    assert not {e.source for e in split.train} & {e.source for e in split.test}


def test_split_is_reproducible_by_seed(datasets):
    first = make_split(datasets.flat, test_size=0.2, seed=5)
    again = make_split(datasets.flat, test_size=0.2, seed=5)
    assert first.train == again.train and first.test == again.test
    others = {frozenset(e.source for e in make_split(datasets.flat, test_size=0.2, seed=s).test)
              for s in range(6)}
    assert len(others) > 1, "the seed does not change the split"


@pytest.mark.parametrize("test_size", [0.0, 1.0, 1.5, -0.2])
def test_bad_test_size(datasets, test_size):
    with pytest.raises(UsageError, match="--test-size"):
        make_split(datasets.flat, test_size=test_size)


def test_zip_is_read_in_place_and_unsafe_members_are_rejected(datasets, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in datasets.root.iterdir())
    split = make_split(datasets.zip, test_size=0.2, seed=0)
    assert split.labels_from == "filename"
    assert split.classes == ("blue", "green", "red")  # no "evil", "abs", "bs" or "drive", no resource fork
    sources = {e.source for e in (*split.train, *split.test)}
    assert sources == {f"shapes/{n}" for n in flat_names()} | (set(ZIP_BAD) - {"shapes/red_903.gif"})
    skipped = {s.source: s.reason for s in split.skipped}
    for name in ZIP_UNSAFE:
        assert name in skipped and "unsafe" in skipped[name]
    assert "shapes/red_903.gif" in skipped
    # nothing was extracted: not beside the ZIP, not in the working folder, not above either
    assert sorted(p.name for p in datasets.root.iterdir()) == before
    assert list(tmp_path.iterdir()) == []
    for name in ("evil.jpg", "abs.jpg", "bs.jpg", "drive.jpg"):
        assert not (datasets.root.parent / name).exists()
        assert not (tmp_path.parent / name).exists()


def test_data_source_lists_zip_and_folder_alike(datasets):
    with DataSource(datasets.flat) as folder, DataSource(datasets.zip) as archive:
        folder_names, folder_unsafe = folder.names()
        zip_names, zip_unsafe = archive.names()
        assert folder_unsafe == []
        assert {s.source for s in zip_unsafe} == set(ZIP_UNSAFE)
        assert set(folder_names) == set(flat_names())
        assert {f"shapes/{n}" for n in folder_names} <= set(zip_names)
        for name in ("red_000.jpg", "blue15.png"):
            assert archive.read(f"shapes/{name}") == folder.read(name)


def test_class_with_no_training_images(datasets, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(datasets.folder, data)
    for i in range(3):  # green appears only in val/
        write(data / "val" / "green" / f"g{i}.jpg", encode(image("green", 70 + i), ".jpg"))
    with pytest.raises(UsageError, match="class 'green' has no training images"):
        make_split(data)


def test_class_with_one_image_cannot_be_split(datasets, tmp_path):
    data = tmp_path / "flat"
    data.mkdir()
    for name in flat_names():
        if not name.startswith("green") or name == "green.0.jpg":
            (data / name).write_bytes((datasets.flat / name).read_bytes())
    with pytest.raises(UsageError, match="at least two images"):
        make_split(data)


def test_not_a_zip_and_missing_path(tmp_path):
    fake = tmp_path / "data.zip"
    fake.write_text("not a zip")
    with pytest.raises(UsageError, match="not a readable ZIP"):
        make_split(fake)
    with pytest.raises(UsageError, match="data not found"):
        make_split(tmp_path / "nowhere")
