"""The debouncer: a label must hold for N frames at or above a score before it is reported."""

import pytest

from antbee.edge.debounce import Debouncer, LabelChange


def feed(debouncer, frames):
    return [debouncer.update(label, score) for label, score in frames]


def test_a_label_is_reported_once_it_has_held_for_n_frames():
    changes = feed(Debouncer(frames=3, min_score=0.5), [("ant", 0.9)] * 5)
    assert changes == [None, None, LabelChange(None, "ant", 0.9), None, None]


def test_flicker_shorter_than_n_frames_is_not_reported():
    debouncer = Debouncer(frames=3, min_score=0.5)
    feed(debouncer, [("ant", 0.9)] * 3)
    changes = feed(debouncer, [("bee", 0.9), ("bee", 0.9), ("ant", 0.9), ("bee", 0.9)])
    assert changes == [None] * 4
    assert debouncer.current == "ant"


def test_a_change_names_the_previous_label():
    debouncer = Debouncer(frames=2, min_score=0.5)
    feed(debouncer, [("ant", 0.8)] * 2)
    assert feed(debouncer, [("bee", 0.7), ("bee", 0.75)]) == [None, LabelChange("ant", "bee", 0.75)]


def test_frames_below_the_score_or_without_a_class_break_the_run():
    debouncer = Debouncer(frames=2, min_score=0.6)
    changes = feed(debouncer, [("ant", 0.9), ("ant", 0.5), ("ant", 0.9), (None, 0.0), ("ant", 0.9), ("ant", 0.9)])
    assert changes == [None, None, None, None, None, LabelChange(None, "ant", 0.9)]


def test_one_frame_debouncing_reports_every_change():
    debouncer = Debouncer(frames=1, min_score=0.0)
    changes = feed(debouncer, [("ant", 0.1), ("bee", 0.2), ("bee", 0.3)])
    assert changes == [LabelChange(None, "ant", 0.1), LabelChange("ant", "bee", 0.2), None]


@pytest.mark.parametrize("frames, score", [(0, 0.5), (2, 1.5), (2, -0.1)])
def test_bad_settings_are_refused(frames, score):
    with pytest.raises(ValueError):
        Debouncer(frames=frames, min_score=score)
