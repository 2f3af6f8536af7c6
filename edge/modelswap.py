"""Safe model updates: check a new model (probe, contract, labels, --verify accuracy), then swap it between frames."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from antbee.common.errors import AntbeeError, ImageError, UsageError
from antbee.edge.classifier import Classification, Classifier
from antbee.edge.preprocess import load_bgr
from antbee.edge.sources import Unreadable, expand_inputs

DEFAULT_MAX_DROP = 0.02
WATCH_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Outcome:
    """What became of a new model: swapped in or refused (with why), and its --verify accuracy next to the old one's."""

    accepted: bool
    origin: str  # the watched model file, or "upload"
    sha256: str
    reason: str
    accuracy: float | None = None
    baseline: float | None = None

    def record(self) -> dict[str, Any]:
        """As the event log, /api/status and /api/model show it: the action first, then every field."""
        return {"action": "swapped" if self.accepted else "refused", **asdict(self)}


@dataclass(frozen=True)
class VerifySet:
    """A labelled folder kept on the device: (image path, true label) pairs from its class subfolders."""

    folder: Path
    items: tuple[tuple[Path, str], ...]


def load_verify_set(folder: Path, labels: tuple[str, ...]) -> VerifySet:
    """Read a --verify folder: one subfolder per class, named by its label; UsageError if it does not fit."""
    if not folder.is_dir():
        raise UsageError(f"--verify {folder}: not a folder (expected one subfolder of images per class)")
    classes = sorted(path.name for path in folder.iterdir() if path.is_dir())
    unknown = [name for name in classes if name not in labels]
    if not classes or unknown:
        raise UsageError(f"--verify {folder}: expected subfolders named by the model's labels "
                         f"({', '.join(labels)}), found {', '.join(classes) or 'none'}")
    items = tuple((path, name) for name in classes for path in expand_inputs([str(folder / name)])
                  if not isinstance(path, Unreadable))
    return VerifySet(folder, items)


def accuracy(classify: Callable[[np.ndarray], Classification], verify: VerifySet) -> float:
    """The share of the verify set whose top class is its folder's label (an unreadable image counts as wrong)."""
    right = 0
    for path, label in verify.items:
        try:
            top = classify(load_bgr(path)).top
        except ImageError:
            continue
        right += top is not None and top.label == label
    return right / len(verify.items) if verify.items else 1.0


class ModelSlot:
    """The running classifier behind a lock: classify through it; `consider()` swaps in a new one only if it passes."""

    def __init__(self, classifier: Classifier, sha256: str, verify: VerifySet | None = None,
                 max_drop: float = DEFAULT_MAX_DROP):
        if not 0.0 <= max_drop <= 1.0:
            raise UsageError(f"--max-drop {max_drop}: expected a share between 0 and 1")
        self.classifier = classifier
        self.sha256 = sha256
        self.verify = verify
        self.max_drop = max_drop
        self._lock = threading.Lock()  # one classification at a time; a swap waits for the one under way
        self._checking = threading.Lock()  # one candidate at a time (the watcher and an upload)
        self._baseline: tuple[str, float] | None = None  # (sha256, accuracy) of the running model

    def classify_bgr(self, image: np.ndarray) -> tuple[Classification, Classifier]:
        """Classify with the running model; also returns that model, for formatting its labels."""
        with self._lock:
            classifier = self.classifier
            return classifier.classify_bgr(image), classifier

    def consider(self, content: bytes, origin: str) -> Outcome:
        """Check a candidate model file's bytes in full; swap it in if it passes, else keep the running one."""
        sha256 = hashlib.sha256(content).hexdigest()
        with self._checking:
            if sha256 == self.sha256:
                return Outcome(False, origin, sha256, "the same model is already running")
            try:
                candidate = self._open(content, origin)
                self._check_labels(candidate)
                scores = self._check_accuracy(candidate)
            except _Refused as exc:
                return Outcome(False, origin, sha256, str(exc), *exc.scores)
            except AntbeeError as exc:  # cannot be opened: corrupt, crashes the runtime, wrong input
                return Outcome(False, origin, sha256, str(exc))
            with self._lock:
                self.classifier, self.sha256 = candidate, sha256
            if scores[0] is not None:
                self._baseline = (sha256, scores[0])
            return Outcome(True, origin, sha256, "passed every check", *scores)

    def _open(self, content: bytes, origin: str) -> Classifier:
        # The candidate is copied to a file of our own first, so that whatever replaces the watched
        # file next cannot change what is being checked; the Classifier probes it in a child process.
        handle, temporary = tempfile.mkstemp(prefix="antbee-candidate-", suffix=".tflite")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
            options = replace(self.classifier.options, model=Path(temporary))
            try:
                return Classifier(options)
            except AntbeeError as exc:
                raise type(exc)(str(exc).replace(temporary, origin)) from None
        finally:
            Path(temporary).unlink(missing_ok=True)

    def _check_labels(self, candidate: Classifier) -> None:
        if candidate.labels != self.classifier.labels:
            raise _Refused(f"its labels ({', '.join(candidate.labels)}) differ from the running model's "
                           f"({', '.join(self.classifier.labels)})")

    def _check_accuracy(self, candidate: Classifier) -> tuple[float | None, float | None]:
        if self.verify is None:
            return None, None
        if self._baseline is None or self._baseline[0] != self.sha256:
            running = self.sha256
            self._baseline = (running, accuracy(lambda image: self.classify_bgr(image)[0], self.verify))
        baseline = self._baseline[1]
        new = accuracy(candidate.classify_bgr, self.verify)
        if new < baseline - self.max_drop:
            raise _Refused(f"its accuracy on {self.verify.folder} is {new:.3f}, below the running model's "
                           f"{baseline:.3f} by more than --max-drop {self.max_drop:g}", (new, baseline))
        return new, baseline


class _Refused(Exception):
    def __init__(self, reason: str, scores: tuple[float | None, float | None] = (None, None)):
        super().__init__(reason)
        self.scores = scores


class ModelWatcher:
    """A thread that offers the --model file to a ModelSlot whenever it is replaced."""

    def __init__(self, path: Path, slot: ModelSlot, report: Callable[[Outcome], None],
                 interval: float = WATCH_INTERVAL_S):
        self.path = path
        self._slot = slot
        self._report = report
        self._interval = interval
        self._seen = self._identity()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="antbee-model-watcher", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and wait for a check under way to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _identity(self) -> tuple[int, int, int] | None:
        # An atomic replace (mv, rsync, Ansible) gives a new inode; an in-place write a new mtime or size.
        try:
            status = self.path.stat()
        except OSError:
            return None  # between an unlink and the new file's rename: wait for the file
        return status.st_ino, status.st_mtime_ns, status.st_size

    def _run(self) -> None:
        previous = self._seen
        while not self._stop.wait(self._interval):
            identity = self._identity()
            # A file copied in place (cp, not mv) changes while it is written: it is taken once it has
            # held still for one interval, so a half-written model is not refused on the way.
            steady, previous = identity == previous, identity
            if identity is None or identity == self._seen or not steady:
                continue
            self._seen = identity
            try:
                content = self.path.read_bytes()
            except OSError:
                continue
            if hashlib.sha256(content).hexdigest() != self._slot.sha256:
                self._report(self._slot.consider(content, str(self.path)))


def slot_of(classifier: Classifier, verify: VerifySet | None = None, max_drop: float = DEFAULT_MAX_DROP) -> ModelSlot:
    """A ModelSlot around a run's classifier, hashing its model file, so a rollout can swap it between frames."""
    return ModelSlot(classifier, hashlib.sha256(Path(classifier.options.model).read_bytes()).hexdigest(), verify,
                     max_drop)


class SlotClassifier:
    """The slot's running classifier as the live loop sees it: each frame goes through the slot's lock, so a swap
    applies between two frames; other attributes (labels, input) are the running model's."""

    def __init__(self, slot: ModelSlot):
        self.slot = slot

    def classify_bgr(self, image: np.ndarray) -> Classification:
        """Classify with whichever model is running now."""
        return self.slot.classify_bgr(image)[0]

    def __getattr__(self, name: str):
        return getattr(self.slot.classifier, name)
