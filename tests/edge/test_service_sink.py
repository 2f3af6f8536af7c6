"""The live loop's event-log and service sinks: frames give counts and debounced label changes in the log and the
metrics; source events the log, the status and the health."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import numpy as np

from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.events import LABEL, SOURCE, EventLog
from antbee.edge.eventsink import EventSink
from antbee.edge.modelswap import ModelSlot
from antbee.edge.runner import Result
from antbee.edge.service.core import Service
from antbee.edge.service.sink import ServiceSink

RED, BLUE = (20, 30, 220), (220, 30, 20)  # BGR: the tiny models call red "ant", blue "bee"


def test_frames_give_debounced_label_changes_and_source_events_the_health(tiny_models, tmp_path):
    classifier = Classifier(ClassifierOptions(model=tiny_models.int8))
    slot = ModelSlot(classifier, hashlib.sha256(tiny_models.int8.read_bytes()).hexdigest())
    events = EventLog(tmp_path / "e.db")
    service = Service(slot, events, "tiny")
    sink, logged = ServiceSink(service), EventSink(events, classifier, (3, 0.6))
    colours = [RED] * 4 + [BLUE, RED] + [BLUE] * 3  # one blue flicker, then blue for good
    for index, colour in enumerate(colours):
        result = Result("cam", classifier.classify_bgr(np.full((24, 24, 3), colour, np.uint8)), frame=index,
                        latency_ms=1.0)
        assert sink.result(result, None) is False and logged.result(result, None) is False
    changes = events.events(kinds=(LABEL,))
    assert [(e.source_id, e.detail["previous"], e.label) for e in changes] == [("0", None, "ant"), ("0", "ant", "bee")]
    assert changes[1].detail["result"]["frame"] == 8
    assert service.status()["mode"] == "live" and service.healthy() == (True, "ok")

    offline = SimpleNamespace(source="cam", source_id="0", kind="offline", detail="no frame for 10 s")
    sink.event(offline)
    logged.event(offline)
    assert [(e.source_id, e.detail) for e in events.events(kinds=(SOURCE,))] == \
        [("0", {"state": "offline", "detail": "no frame for 10 s"})]
    assert service.healthy() == (False, "sources offline: 0")
    assert service.status()["sources"]["0"]["detail"] == "no frame for 10 s"
    assert b'antbee_source_up{source_id="0"} 0.0' in service.metrics.text()
    assert b'antbee_frames_total{source_id="0"} 9.0' in service.metrics.text()
    sink.event(SimpleNamespace(source="cam", source_id="0", kind="online", detail=""))
    assert service.healthy() == (True, "ok")
    events.close()
