"""Reduced-scale JPEG decoding: the reduction chosen, the model input it gives, and everyone using it alike."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest

from antbee.edge.preprocess import jpeg_reduction, load_bgr, load_rgb, prepare, preprocess

PHONE = (3024, 4032)  # (height, width) of a 12-megapixel phone or Pi HQ camera photo


def _photo(height: int, width: int) -> np.ndarray:
    """A smooth BGR picture with some edges and mild texture, like a photo rather than noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.dstack([x * 255 / width, y * 255 / height, 128 + 100 * np.sin(x / 97) * np.cos(y / 71)])
    cv2.circle(image, (width // 2, height // 2), min(height, width) // 4, (20, 200, 60), -1)
    cv2.rectangle(image, (width // 3, height // 5), (width // 2, height // 3), (240, 240, 240), -1)
    texture = np.random.default_rng(0).normal(0, 4, (height // 8, width // 8, 3)).astype(np.float32)
    image += cv2.resize(texture, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def phone_jpeg() -> bytes:
    return cv2.imencode(".jpg", _photo(*PHONE), [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


@pytest.mark.parametrize("width, height, size, resize, expected", [
    (4032, 3024, (224, 224), "crop", 8),  # the crop is 3024 square: 378 at 1/8 >= 1.5 x 224 = 336
    (4032, 3024, (224, 224), "squash", 8),
    (2592, 1944, (224, 224), "crop", 4),  # 243 at 1/8 is too small, 486 at 1/4 is not
    (1600, 1200, (224, 224), "crop", 2),  # 300 at 1/4, 600 at 1/2
    (1008, 756, (224, 224), "crop", 2),  # 378 at 1/2
    (640, 480, (224, 224), "crop", 1),  # 240 at 1/2: too small
    (500, 375, (224, 224), "crop", 1),  # a typical training photo
    (12000, 9000, (224, 224), "crop", 8),
    (4032, 3024, (32, 32), "crop", 8),  # a tiny model takes the most reduction there is
    # A wide input: the stored picture fits it at 1/4, but turned a quarter by EXIF it would not fit at all.
    (4000, 1000, (100, 400), "crop", 1),
    (4000, 4000, (100, 400), "crop", 4),
])
def test_the_largest_reduction_that_keeps_the_margin_is_chosen(width, height, size, resize, expected):
    assert jpeg_reduction(width, height, size, resize) == expected


@pytest.mark.parametrize("resize", ["crop", "squash"])
def test_a_phone_photo_decodes_at_an_eighth_as_a_full_decode_shrunk_to_an_eighth(phone_jpeg, resize):
    reduced = load_bgr(phone_jpeg, size=(224, 224), resize=resize)
    assert reduced.shape == (PHONE[0] // 8, PHONE[1] // 8, 3)
    full = load_bgr(phone_jpeg)
    assert full.shape == (*PHONE, 3)
    shrunk = cv2.resize(full, (PHONE[1] // 8, PHONE[0] // 8), interpolation=cv2.INTER_AREA)
    difference = np.abs(prepare(reduced, (224, 224), resize, bgr=True).astype(int)
                        - prepare(shrunk, (224, 224), resize, bgr=True).astype(int))
    # libjpeg's 1/8 scaling keeps each 8x8 block's mean: the model input is off by a level or so.
    assert difference.mean() < 0.5
    assert np.percentile(difference, 99.9) <= 3


@pytest.mark.parametrize("noise", [0, 6])
def test_the_reduced_input_is_an_area_average_of_the_full_photo(noise):
    photo = _photo(*PHONE)
    if noise:  # fine detail that a decode too small for the input would alias
        photo = np.clip(photo + np.random.default_rng(1).normal(0, noise, photo.shape), 0, 255).astype(np.uint8)
    data = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    reduced = prepare(load_bgr(data, size=(224, 224), resize="squash"), (224, 224), "squash", bgr=True)
    area = cv2.cvtColor(cv2.resize(load_bgr(data), (224, 224), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    difference = np.abs(reduced.astype(int) - area.astype(int))
    assert difference.mean() < 1.0
    assert np.percentile(difference, 99.9) <= 10


def test_an_exif_turned_photo_is_upright_after_a_reduced_decode_as_after_a_full_one():
    from PIL import Image

    stored = _photo(1200, 1600)  # wider than high; EXIF orientation 6 turns it a quarter clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB)).save(buffer, "JPEG", quality=92, exif=exif.tobytes())
    data = buffer.getvalue()
    reduced, full = load_rgb(data, size=(224, 224)), load_rgb(data)
    assert full.shape == (1600, 1200, 3) and reduced.shape == (800, 600, 3)  # the 1200 square at 1/4 is 300 < 336
    turned = cv2.cvtColor(cv2.rotate(stored, cv2.ROTATE_90_CLOCKWISE), cv2.COLOR_BGR2RGB)
    np.testing.assert_allclose(full.mean((0, 1)), turned.mean((0, 1)), atol=2)
    np.testing.assert_allclose(reduced.mean((0, 1)), full.mean((0, 1)), atol=1)
    assert np.abs(reduced.astype(int) - cv2.resize(full, (600, 800), interpolation=cv2.INTER_AREA)).mean() < 0.5
    assert np.abs(prepare(full, (224, 224)).astype(int) - prepare(turned, (224, 224)).astype(int)).mean() < 2.0


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".webp", ".tiff"])
def test_other_formats_decode_at_full_size_whatever_the_model_input(suffix):
    image = _photo(1000, 1400)
    data = cv2.imencode(suffix, image)[1].tobytes()
    np.testing.assert_array_equal(load_bgr(data, size=(32, 32)), load_bgr(data))
    assert load_bgr(data, size=(32, 32)).shape == (1000, 1400, 3)


def test_the_device_and_training_prepare_a_big_photo_alike(tiny_models, tmp_path, phone_jpeg):
    from antbee.edge.classifier import Classifier, ClassifierOptions
    from antbee.edge.runner import classify_file

    path = tmp_path / "phone.jpg"
    path.write_bytes(phone_jpeg)
    classifier = Classifier(ClassifierOptions(model=tiny_models.int8))
    on_device = classify_file(classifier, path).classification.scores
    # What training and calibration feed the model: preprocess(), the same loader with the same input size.
    trained_on = preprocess(phone_jpeg, classifier.input.size, classifier.resize)
    np.testing.assert_array_equal(classifier.classify(trained_on).scores, on_device)
    full = prepare(load_bgr(phone_jpeg), classifier.input.size, classifier.resize, bgr=True)
    assert not np.array_equal(full, trained_on)  # the reduction was really taken
