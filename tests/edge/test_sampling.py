"""--samples: unsure frames, label changes and a random share saved as DIR/<label>/<time>_<source>.jpg, rate-limited,
capped oldest first, with their scores in the event log."""

from __future__ import annotations

import numpy as np
import pytest

from antbee.common.errors import UsageError
from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.events import EventLog
from antbee.edge.runner import Result
from antbee.edge.sampling import CHANGE, SAMPLE, UNSURE, SampleOptions, Sampler
from antbee.edge.sources import Frame

RED, BLUE = (20, 30, 220), (220, 30, 20)  # BGR: the tiny models call red "ant", blue "bee"
PURPLE = (120, 30, 120)  # half red, half blue: the tiny models are unsure


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        self.now += 1.0  # one second per call: every file name differs
        return self.now


def feed(sampler, classifier, colours, source_id="cam"):
    for index, colour in enumerate(colours):
        image = np.full((24, 24, 3), colour, np.uint8)
        result = Result("camera 0", classifier.classify_bgr(image), frame=index, source_id=source_id, latency_ms=1.0)
        sampler.result(result, Frame(index, image, "camera 0", source_id=source_id))


@pytest.fixture
def classifier(tiny_models):
    return Classifier(ClassifierOptions(model=tiny_models.int8))


def saved(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.glob("*/*.jpg"))


def test_unsure_frames_and_label_changes_are_saved_under_their_label_with_scores_logged(classifier, tmp_path):
    events = EventLog(tmp_path / "e.db")
    folder = tmp_path / "samples"
    sampler = Sampler(SampleOptions(folder, below=0.9, per_minute=100), classifier, events,
                      clock=Clock(), chance=lambda: 1.0)
    feed(sampler, classifier, [RED, RED, BLUE, BLUE, PURPLE])
    files = saved(folder)
    assert [f.split("/")[0] for f in files].count("bee") >= 1 and all(f.endswith("_cam.jpg") for f in files)
    rows = events.events(kinds=(SAMPLE,))
    reasons = [row.detail["reason"] for row in rows]
    assert reasons[0] == CHANGE and UNSURE in reasons and len(rows) == len(files) == 2
    assert set(rows[0].detail["scores"]) == {"ant", "bee"} and rows[0].label == "bee"
    assert (tmp_path / rows[0].detail["path"]).is_file()
    events.close()


def test_a_random_share_of_sure_frames_is_saved(classifier, tmp_path):
    draws = iter([0.5, 0.001, 0.5, 0.5])
    sampler = Sampler(SampleOptions(tmp_path, share=0.01), classifier, clock=Clock(), chance=lambda: next(draws))
    feed(sampler, classifier, [RED] * 4)
    assert len(saved(tmp_path)) == 1 and saved(tmp_path)[0].startswith("ant/")


def test_the_rate_limit_holds_per_minute_and_the_cap_deletes_the_oldest_first(classifier, tmp_path):
    clock = Clock()
    sampler = Sampler(SampleOptions(tmp_path, below=1.0, per_minute=3, keep=5), classifier, clock=clock)
    feed(sampler, classifier, [RED] * 10)  # every frame is "unsure" below 1.0, within one minute
    assert len(saved(tmp_path)) == 3
    first = saved(tmp_path)
    clock.now += 60
    feed(sampler, classifier, [RED] * 10)
    files = saved(tmp_path)
    assert len(files) == 5 and first[0] not in files and first[2] in files


def test_samples_already_in_the_folder_count_towards_the_cap(classifier, tmp_path):
    (tmp_path / "ant").mkdir()
    old = tmp_path / "ant" / "old.jpg"
    old.write_bytes(b"x")
    sampler = Sampler(SampleOptions(tmp_path, below=1.0, keep=1), classifier, clock=Clock())
    feed(sampler, classifier, [RED])
    assert not old.exists() and len(saved(tmp_path)) == 1


@pytest.mark.parametrize("field, value, flag", [
    ("below", 2.0, "--sample-below"), ("per_minute", 0, "--samples-per-minute"), ("keep", 0, "--samples-keep"),
    ("share", -0.1, "--sample-share")])
def test_bad_settings_name_their_flag(tmp_path, field, value, flag):
    with pytest.raises(UsageError, match=flag):
        SampleOptions(tmp_path, **{field: value})
