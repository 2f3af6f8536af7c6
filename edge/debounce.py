"""The debounced label: a label becomes current only after holding for N frames at or above a score."""

from __future__ import annotations

from dataclasses import dataclass

from antbee.common.errors import UsageError

# At a Pi's 10-30 fps, 5 frames is a fraction of a second: long enough that a single
# misread frame does not log a change, short enough that a bee landing is not missed.
DEFAULT_FRAMES = 5
DEFAULT_MIN_SCORE = 0.6


@dataclass(frozen=True)
class LabelChange:
    """The debounced label changed from `previous` (None at the start) to `label`."""

    previous: str | None
    label: str
    score: float


class Debouncer:
    """Feed it each frame's top label and score; it reports a change once a new label has held long enough."""

    def __init__(self, frames: int = DEFAULT_FRAMES, min_score: float = DEFAULT_MIN_SCORE):
        if frames < 1:
            raise UsageError(f"--debounce-frames {frames}: expected a positive number")
        if not 0.0 <= min_score <= 1.0:
            raise UsageError(f"--debounce-score {min_score}: expected a score between 0 and 1")
        self.frames = frames
        self.min_score = min_score
        self.current: str | None = None
        self._candidate: str | None = None
        self._run = 0

    def update(self, label: str | None, score: float) -> LabelChange | None:
        """Take one frame's top label (None: no class, or the frame failed); return the change it completes."""
        if label is None or score < self.min_score:
            self._candidate, self._run = None, 0  # an unsure frame breaks a run
            return None
        if label != self._candidate:
            self._candidate, self._run = label, 0
        self._run += 1
        if self._run < self.frames or label == self.current:
            return None
        change = LabelChange(self.current, label, score)
        self.current = label
        return change
