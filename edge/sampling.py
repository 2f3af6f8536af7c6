"""--samples DIR: keep live frames worth relabelling (unsure, at a label change, a random share) as
DIR/<label>/<time>_<source>.jpg, rate-limited and capped, for antbee-train to learn from once corrected."""

from __future__ import annotations

import random
import re
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import cv2

from antbee.common.errors import UsageError
from antbee.common.files import write_atomic
from antbee.edge.events import NO_CLASS, EventLog

SAMPLE = "sample"  # the event log's kind for a saved sample
UNSURE, CHANGE, RANDOM = "unsure", "label change", "random"
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")  # a label or source id in a file name keeps only these
JPEG_QUALITY = 95  # these frames become training data


@dataclass(frozen=True)
class SampleOptions:
    """Where and how often to keep samples; the edge CLI's --samples flags map onto these fields."""

    folder: Path
    below: float = 0.6
    per_minute: int = 6
    keep: int = 1000
    share: float = 0.01

    def __post_init__(self) -> None:
        if not 0.0 <= self.below <= 1.0:
            raise UsageError(f"--sample-below {self.below:g}: expected a score between 0 and 1")
        if self.per_minute < 1:
            raise UsageError(f"--samples-per-minute {self.per_minute}: expected 1 or more")
        if self.keep < 1:
            raise UsageError(f"--samples-keep {self.keep}: expected 1 or more")
        if not 0.0 <= self.share <= 1.0:
            raise UsageError(f"--sample-share {self.share:g}: expected a share between 0 and 1")
        if self.folder.exists() and not self.folder.is_dir():
            raise UsageError(f"--samples {self.folder}: expected a folder, found a file")


class Sampler:
    """A live-loop sink saving the frames worth a person's look; never asks the loop to stop."""

    def __init__(self, options: SampleOptions, classifier, events: EventLog | None = None,
                 clock=time.time, chance=random.random):
        """`classifier` names the classes (its `labels`, read at each save: a swapped model may bring others)."""
        self.options, self.classifier, self.events = options, classifier, events
        self._clock, self._chance = clock, chance
        self._previous: dict[str, str] = {}  # source_id -> its last frame's label
        self._recent: deque[float] = deque()  # times of the samples of the last minute
        # Samples already there (from an earlier run) count towards the cap, oldest first.
        self._kept = deque(sorted(options.folder.glob("*/*.jpg"), key=lambda p: p.stat().st_mtime))

    def result(self, result, frame) -> bool:
        """Save this frame if it is unsure, at a label change or drawn at random, and the rate allows."""
        if result.error is not None or frame is None:
            return False
        top = result.classification.top
        label = top.label if top else NO_CLASS
        score = top.score if top else 0.0
        source_id = result.source_id or "0"
        previous = self._previous.get(source_id)
        self._previous[source_id] = label
        reason = (UNSURE if score < self.options.below else
                  CHANGE if previous is not None and label != previous else
                  RANDOM if self._chance() < self.options.share else None)
        if reason is not None and self._allowed():
            self._save(frame.image, label, score, source_id, result, reason)
        return False

    def event(self, event) -> None:
        """Source events change nothing here."""

    def _allowed(self) -> bool:
        now = self._clock()
        while self._recent and now - self._recent[0] >= 60:
            self._recent.popleft()
        if len(self._recent) >= self.options.per_minute:
            return False
        self._recent.append(now)
        return True

    def _save(self, image, label, score, source_id, result, reason) -> None:
        stamp = datetime.fromtimestamp(self._clock(), timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.options.folder / _safe(label) / f"{stamp}_{_safe(source_id)}.jpg"
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            return
        write_atomic(path, data.tobytes())
        self._kept.append(path)
        while len(self._kept) > self.options.keep:
            self._kept.popleft().unlink(missing_ok=True)  # a person may have moved or deleted it already
        if self.events is not None:
            scores = {name: round(value, 6) for name, value in
                      zip(self.classifier.labels, result.classification.scores.tolist(), strict=False)}
            self.events.record(SAMPLE, {"path": str(path), "reason": reason, "scores": scores},
                               source_id, result.source, label, score)


def _safe(text: str) -> str:
    return UNSAFE.sub("_", text).lstrip(".") or "_"
