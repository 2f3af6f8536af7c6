"""Grabbers and the live loop: newest frame only, reconnect with back-off, stuck reads, several sources, no leftovers."""

from __future__ import annotations

import statistics
import threading
import time

import numpy as np
import pytest

from antbee.common.errors import UsageError
from antbee.edge.capture import ENDED, GAVE_UP, OFFLINE, ONLINE, Backoff, Opener, SourceEvent
from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.live import LiveFrames, parse_sources
from antbee.edge.pipeline import run_live

RED = np.full((48, 64, 3), (20, 30, 220), np.uint8)
BLUE = np.full((48, 64, 3), (220, 30, 20), np.uint8)
FAST = dict(stall_s=0.5, retry_sleep=0.0, backoff_first_s=0.05)


@pytest.fixture(scope="module")
def classifier(tiny_models):
    return Classifier(ClassifierOptions(model=tiny_models.int8, threads=1))


class Paced:
    """A camera delivering `image` every `interval` seconds, `count` times (then failed reads); None: forever."""

    def __init__(self, image=RED, interval: float = 0.0, count: int | None = None):
        self.image, self.interval, self.count = image, interval, count
        self.reads = 0
        self.released = False
        self._next = time.monotonic()

    def read(self, image=None):
        self._next += self.interval
        time.sleep(max(0.0, self._next - time.monotonic()))
        self.reads += 1
        if self.count is not None and self.reads > self.count:
            time.sleep(0.001)
            return False, None
        return True, self.image.copy()

    def release(self):
        self.released = True


class Collect:
    """A sink keeping every result and event, and the wall time of each result."""

    def __init__(self):
        self.results, self.events, self.times = [], [], []

    def result(self, result, frame):
        self.results.append(result)
        self.times.append(time.monotonic())
        return False

    def event(self, event):
        self.events.append(event)


class Slow:
    """A classifier that takes at least `seconds` per frame."""

    def __init__(self, classifier, seconds: float):
        self.classifier, self.seconds = classifier, seconds

    def classify_bgr(self, image):
        time.sleep(self.seconds)
        return self.classifier.classify_bgr(image)


def _openers(*captures, live=True):
    """Openers that hand out the given captures in turn (the last one again when they run out)."""
    queue = list(captures)

    def open_next():
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return [Opener("camera 0", "0", live, open_next)]


def _grab_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("antbee-grab")]


def _run(classifier, frames, max_frames=None):
    sink = Collect()
    try:
        ending = run_live(classifier, frames, [sink], max_frames)
    finally:
        stuck = frames.close()
    assert stuck == 0 and frames.threads_alive() == 0
    return ending, sink


def test_backoff_doubles_from_half_a_second_to_thirty_and_caps_attempts():
    assert [Backoff().delay(n) for n in range(1, 10)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert [Backoff(2).delay(n) for n in (1, 2, 3)] == [0.5, 1, None]
    assert Backoff(0).delay(1) is None


def test_source_ids_are_positions_unless_named():
    specs = parse_sources(["0", "entrance=picam"], ["yard=rtsp://cam/x?a=1", "http://h/s.mjpg?a=b"])
    assert [(s.source_id, s.flag, s.value) for s in specs] == [
        ("0", "--camera", "0"), ("entrance", "--camera", "picam"), ("yard", "--video", "rtsp://cam/x?a=1"),
        ("3", "--video", "http://h/s.mjpg?a=b")]
    with pytest.raises(UsageError, match="source id 'a' given twice"):
        parse_sources(["a=0", "a=1"], [])
    assert parse_sources(["1=2"], [])[0] == ("0", "--camera", "1=2")  # names start with a letter


def test_a_video_file_gives_every_frame_in_order_and_its_thread_ends(classifier, red_blue_video):
    from antbee.edge.live import open_live

    frames = open_live([], [str(red_blue_video)])
    ending, sink = _run(Slow(classifier, 0.01), frames)
    assert ending.reason == "ended" and ending.gave_up == ()
    assert [r.frame for r in sink.results] == list(range(10)) and frames.dropped == 0
    assert [r.classification.top.label for r in sink.results] == ["ant"] * 6 + ["bee"] * 4
    assert [e.kind for e in sink.events] == [ENDED]


def test_a_source_faster_than_the_classifier_gives_the_newest_frame_with_a_bounded_age(classifier):
    interval, work = 0.005, 0.04
    frames = LiveFrames(_openers(Paced(RED, interval)), **FAST)
    ending, sink = _run(Slow(classifier, work), frames, max_frames=45)
    indices = [r.frame for r in sink.results]
    assert ending.reason == "max frames" and len(indices) == 45
    assert indices == sorted(indices) and indices[-1] - indices[0] > 2 * len(indices)  # gaps: frames dropped
    assert frames.dropped >= indices[-1] - len(indices)  # every frame never classified was counted
    latency = statistics.median(np.diff(sink.times)) * 1e3
    ages = [r.age_ms for r in sink.results]
    assert statistics.median(ages) < 2 * latency + 1e3 * interval, (ages, latency)
    early, late = statistics.median(ages[5:20]), statistics.median(ages[-15:])
    assert late < 1.5 * early + 1e3 * interval, (early, late)  # not growing over the run


def test_a_source_slower_than_the_classifier_has_every_frame_classified(classifier):
    frames = LiveFrames(_openers(Paced(BLUE, 0.1, count=15)), reconnect=0, **FAST)
    ending, sink = _run(Slow(classifier, 0.005), frames)
    assert [r.frame for r in sink.results] == list(range(15)) and frames.dropped == 0
    assert ending.reason == "ended" and ending.gave_up == ("camera 0",)
    fps = (len(sink.times) - 1) / (sink.times[-1] - sink.times[0])
    assert 7 < fps < 11  # the source's 10 fps, not the classifier's


def test_reads_that_fail_make_the_source_offline_then_it_is_reopened_and_frames_go_on(classifier):
    first, second = Paced(RED, 0.01, count=5), Paced(BLUE, 0.01)
    frames = LiveFrames(_openers(first, second), **FAST)
    ending, sink = _run(classifier, frames, max_frames=12)
    kinds = [e.kind for e in sink.events]
    assert kinds == [OFFLINE, ONLINE] and "5 reads failed in a row" in sink.events[0].detail
    labels = [r.classification.top.label for r in sink.results]
    assert labels[0] == "ant" and labels[-1] == "bee" and first.released
    assert [r.frame for r in sink.results] == sorted(r.frame for r in sink.results)  # indices go on


def test_reopening_that_keeps_failing_backs_off_and_gives_up_after_reconnect_attempts(classifier):
    opens = []

    def open_camera():
        opens.append(time.monotonic())
        if len(opens) == 1:
            return Paced(RED, 0.0, count=0)  # opens, then every read fails
        raise UsageError("--camera 0: cannot open the camera through OpenCV")

    frames = LiveFrames([Opener("camera 0", "0", True, open_camera)], reconnect=3, **FAST)
    ending, sink = _run(classifier, frames)
    assert ending.gave_up == ("camera 0",) and sink.results == []
    assert [e.kind for e in sink.events] == [OFFLINE, GAVE_UP] and "(--reconnect 3)" in sink.events[1].detail
    assert len(opens) == 1 + 3
    first, second = np.diff(opens[1:])
    assert second > 1.5 * first  # the wait doubles


class Hanging(Paced):
    """Delivers `count` frames, then its read blocks until `release_read` is set."""

    def __init__(self, count: int):
        super().__init__(RED, 0.01, count=None)
        self.limit = count
        self.release_read = threading.Event()

    def read(self, image=None):
        if self.reads >= self.limit:
            self.release_read.wait(30)
            return False, None
        return super().read(image)


def test_a_read_that_hangs_is_detected_without_it_returning_and_the_source_reopened(classifier):
    hanging, fresh = Hanging(3), Paced(BLUE, 0.01)
    frames = LiveFrames(_openers(hanging, fresh), stall_s=0.3, retry_sleep=0.0, backoff_first_s=0.05)
    sink = Collect()
    try:
        run_live(classifier, frames, [sink], max_frames=10)
        assert [e.kind for e in sink.events] == [OFFLINE, ONLINE] and "stuck" in sink.events[0].detail
        assert sink.results[-1].classification.top.label == "bee"
        assert not hanging.released  # still inside read(): it cannot be released from outside
    finally:
        hanging.release_read.set()  # the read returns at last: the abandoned thread releases it and ends
        assert frames.close() == 0
    assert hanging.released and frames.threads_alive() == 0


def test_several_sources_are_served_round_robin(classifier):
    openers = [Opener("camera 0", "0", True, lambda: Paced(RED, 0.002)),
               Opener("camera 1", "side", True, lambda: Paced(BLUE, 0.002))]
    frames = LiveFrames(openers, **FAST)
    ending, sink = _run(Slow(classifier, 0.01), frames, max_frames=20)
    ids = [r.source_id for r in sink.results]
    assert ids.count("0") == ids.count("side") == 10
    assert all(a != b for a, b in zip(ids, ids[1:]))  # alternating: neither source starves the other
    assert {r.classification.top.label for r in sink.results if r.source_id == "side"} == {"bee"}


def test_a_source_that_fails_to_open_releases_those_already_open():
    opened = Paced()

    def broken():
        raise UsageError("--camera 1: cannot open the camera through OpenCV")

    with pytest.raises(UsageError, match="--camera 1"):
        LiveFrames([Opener("camera 0", "0", True, lambda: opened), Opener("camera 1", "1", True, broken)])
    assert opened.released and _grab_threads() == []


def test_the_grabber_ends_when_the_consumer_raises(classifier):
    frames = LiveFrames(_openers(Paced(RED, 0.001)), **FAST)

    class Boom:
        def result(self, result, frame):
            raise KeyboardInterrupt

        def event(self, event):
            pass

    with pytest.raises(KeyboardInterrupt):
        try:
            run_live(classifier, frames, [Boom()])
        finally:
            assert frames.close() == 0
    assert frames.threads_alive() == 0 and _grab_threads() == []


def test_source_events_are_typed():
    event = SourceEvent("camera 0", "0", OFFLINE, "5 reads failed in a row")
    assert event.kind == "offline" and event._fields == ("source", "source_id", "kind", "detail")
