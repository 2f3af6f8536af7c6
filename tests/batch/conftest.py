"""Fixtures for the batch tests: a real local Ray per test module, and a folder of a few hundred images."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic import FOLDER_BAD, bad_bytes, encode, image, write

IMAGES = 300


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray of two CPUs for the module (dashboard off); yields the address other processes join."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def write_photos(folder: Path, count: int = IMAGES, size: tuple[int, int] = (48, 64)) -> Path:
    """`count` red and blue images in two subfolders, plus the bad files of FOLDER_BAD."""
    for i in range(count):
        colour = ("red", "blue")[i % 2]
        suffix = ".png" if i % 5 == 0 else ".jpg"
        write(folder / colour / f"img_{i:04d}{suffix}", encode(image(colour, i, size), suffix))
    for name, kind in FOLDER_BAD.items():
        write(folder / name, bad_bytes(kind))
    return folder


@pytest.fixture(scope="session")
def make_photos():
    """write_photos, for tests that need their own folder."""
    return write_photos


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """A folder of IMAGES small images and four bad files."""
    return write_photos(tmp_path_factory.mktemp("photos") / "photos")
