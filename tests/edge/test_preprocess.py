"""prepare(): which pixels of a frame the model sees, and by which filter they are shrunk."""

from __future__ import annotations

import numpy as np
import pytest

from antbee.edge.preprocess import MAX_SNAP_TRIM, prepare

GREY, RED = (128, 128, 128), (0, 0, 255)  # BGR


def _frame(height: int, width: int, band: tuple[int, int] | None = None) -> np.ndarray:
    frame = np.full((height, width, 3), GREY, np.uint8)
    if band is not None:
        frame[:, band[0]:band[1]] = RED
    return frame


@pytest.mark.parametrize("shape, band, seen", [
    # 640x480: largest square = columns 80..560; trimmed to 448 = columns 96..544 (1/15 of the side).
    ((480, 640), (80, 96), False),
    ((480, 640), (96, 112), True),
    # 1920x1080: trimming to 896 would cut 1/6 of the side, so the largest square (420..1500) stays.
    ((1080, 1920), (420, 450), True),
    # 500x375 (a typical training photo): no whole multiple of 224 within reach; largest square.
    ((375, 500), (62, 80), True),
])
def test_crop_sees_the_centred_square_trimmed_only_to_a_near_whole_multiple(shape, band, seen):
    out = prepare(_frame(*shape, band), (224, 224), "crop", bgr=True)
    red = (out[:, :, 0] > 200) & (out[:, :, 2] < 100)  # RGB out
    assert red.any() == seen
    if seen:
        assert red[:, :4].all() and not red[:, 220:].any()  # the band is at the left edge, as in the frame


def test_a_frame_within_the_trim_of_the_input_size_is_cropped_without_resampling():
    frame = np.random.default_rng(0).integers(0, 256, (240, 320, 3), np.uint8)
    out = prepare(frame, (224, 224), "crop", bgr=True)
    assert np.array_equal(out, frame[8:232, 48:272, ::-1])  # 240 -> 224 trims 1/15 <= MAX_SNAP_TRIM
    assert (240 - 224) / 240 <= MAX_SNAP_TRIM


def test_a_vga_frame_is_shrunk_by_an_exact_two_by_two_box_filter():
    frame = np.random.default_rng(1).integers(0, 256, (480, 640, 3), np.uint8)  # noise: filters differ most
    out = prepare(frame, (224, 224), "crop", bgr=True).astype(np.float64)
    square = frame[16:464, 96:544, ::-1].astype(np.float64)
    box = square.reshape(224, 2, 224, 2, 3).mean(axis=(1, 3))
    assert np.abs(out - box).max() <= 0.5 + 1e-9  # the mean of each 2x2 block, rounded


def test_squash_keeps_the_whole_frame():
    out = prepare(_frame(480, 640, (0, 16)), (224, 224), "squash", bgr=True)
    assert (out[:, 0, 0] > 200).all() and (out[:, 0, 2] < 100).all()


@pytest.mark.parametrize("resize", ["crop", "squash"])
@pytest.mark.parametrize("shape", [(480, 640), (375, 500), (1080, 1920), (100, 90)])
def test_bgr_and_rgb_of_one_picture_give_the_same_input_written_in_place(resize, shape):
    bgr = np.random.default_rng(2).integers(0, 256, (*shape, 3), np.uint8)
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    buffer = np.zeros((224, 224, 3), np.uint8)
    out = prepare(bgr, (224, 224), resize, bgr=True, out=buffer)
    assert out is buffer and buffer.any()
    assert np.array_equal(out, prepare(rgb, (224, 224), resize))


@pytest.mark.parametrize("shape", [(375, 500), (300, 300), (351, 500)])
def test_a_typical_photo_is_shrunk_within_a_level_of_an_area_average(shape):
    import cv2

    rng = np.random.default_rng(3)
    texture = rng.integers(0, 256, (shape[0] // 4, shape[1] // 4, 3), dtype=np.uint8)
    photo = cv2.resize(texture, shape[::-1], interpolation=cv2.INTER_CUBIC)  # detail at several scales
    side = min(shape)
    top, left = (shape[0] - side) // 2, (shape[1] - side) // 2
    area = cv2.resize(photo[top:top + side, left:left + side], (224, 224), interpolation=cv2.INTER_AREA)
    prepared = prepare(photo, (224, 224), "crop")
    assert np.abs(prepared.astype(int) - area.astype(int)).mean() < 1.5
