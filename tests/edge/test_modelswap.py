"""Safe model updates: a new model is swapped in only if it opens, has the same labels and is not worse on --verify."""

import hashlib
import threading
import time

import numpy as np
import pytest

from antbee.common.errors import UsageError
from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.edge.metadata import ModelInfo, attach
from antbee.edge.modelswap import ModelSlot, ModelWatcher, load_verify_set

SIZE = 32
LABELS = ("ant", "bee")
RED, BLUE = (20, 30, 220), (220, 30, 20)  # BGR: the tiny models call red "ant", blue "bee"


@pytest.fixture
def verify_dir(write_image, tmp_path):
    for i in range(3):
        write_image(f"verify/ant/red_{i}.png", RED)
        write_image(f"verify/bee/blue_{i}.png", BLUE)
    return tmp_path / "verify"


def worse_model(tiny_models) -> bytes:
    """The tiny plain int8 model with the right labels but a negative std: every pixel maps to 0, one class wins."""
    info = ModelInfo(labels=LABELS, size=(SIZE, SIZE), resize="crop", mean=0.0, std=-1.0)
    return attach(tiny_models.plain.read_bytes(), info)


def slot_for(path, verify=None, max_drop=0.02):
    content = path.read_bytes()
    return ModelSlot(Classifier(ClassifierOptions(model=path)), hashlib.sha256(content).hexdigest(), verify, max_drop)


def label_of(slot, colour):
    return slot.classify_bgr(np.full((40, 60, 3), colour, np.uint8))[0].top.label


def test_a_good_model_is_swapped_in(tiny_models, verify_dir):
    slot = slot_for(tiny_models.int8, load_verify_set(verify_dir, LABELS))
    content = tiny_models.float32.read_bytes()
    outcome = slot.consider(content, "new.tflite")
    assert outcome.accepted, outcome.reason
    assert (outcome.accuracy, outcome.baseline) == (1.0, 1.0)
    assert slot.sha256 == hashlib.sha256(content).hexdigest() == outcome.sha256
    assert slot.classifier.input.dtype == np.float32
    assert label_of(slot, BLUE) == "bee"


@pytest.mark.parametrize("case, reason", [
    ("corrupt", "not a TFLite model"),
    ("truncated", "new.tflite"),
    ("wrong labels", "labels (0, 1) differ from the running model's (ant, bee)"),
    ("worse", "accuracy on"),
])
def test_a_failing_model_is_refused_and_the_old_one_keeps_answering(tiny_models, verify_dir, case, reason):
    slot = slot_for(tiny_models.int8, load_verify_set(verify_dir, LABELS))
    running = slot.sha256
    content = {"corrupt": b"\x00" * 500, "truncated": tiny_models.float32.read_bytes()[:1000],
               "wrong labels": tiny_models.plain.read_bytes(), "worse": worse_model(tiny_models)}[case]
    outcome = slot.consider(content, "new.tflite")
    assert not outcome.accepted
    assert reason in outcome.reason
    assert "antbee-candidate" not in outcome.reason  # the message names the model's origin, not our temp file
    assert slot.sha256 == running
    assert (label_of(slot, RED), label_of(slot, BLUE)) == ("ant", "bee")
    if case == "worse":
        assert outcome.accuracy == 0.5 and outcome.baseline == 1.0


def test_without_verify_a_worse_model_with_the_right_labels_is_accepted(tiny_models):
    slot = slot_for(tiny_models.int8)
    assert slot.consider(worse_model(tiny_models), "new.tflite").accepted


def test_max_drop_allows_a_small_loss(tiny_models, verify_dir):
    slot = slot_for(tiny_models.int8, load_verify_set(verify_dir, LABELS), max_drop=0.5)
    assert slot.consider(worse_model(tiny_models), "new.tflite").accepted


def test_the_running_model_is_not_rechecked(tiny_models):
    slot = slot_for(tiny_models.int8)
    outcome = slot.consider(tiny_models.int8.read_bytes(), "same.tflite")
    assert not outcome.accepted and "already running" in outcome.reason


def test_classifications_go_on_without_a_gap_during_swaps(tiny_models):
    slot = slot_for(tiny_models.int8)
    models = [tiny_models.float32.read_bytes(), tiny_models.int8.read_bytes()]
    answers, stop = [], threading.Event()

    def classify():
        while not stop.is_set():
            answers.append(label_of(slot, RED))

    worker = threading.Thread(target=classify)
    worker.start()
    swaps, deadline = 0, time.monotonic() + 60
    try:
        # At least four swaps, and on until the worker has answered through several of them: on a busy
        # machine a swap (a probe in a child process) can be quicker than the worker is scheduled.
        while swaps < 4 or (len(answers) <= 4 and time.monotonic() < deadline):
            assert slot.consider(models[swaps % 2], f"model {swaps}").accepted
            swaps += 1
    finally:
        stop.set()
        worker.join()
    assert len(answers) > 4 and set(answers) == {"ant"}


def test_verify_folders_must_be_named_by_labels(tmp_path, write_image):
    write_image("verify/wasp/x.png")
    with pytest.raises(UsageError, match="subfolders named by the model's labels"):
        load_verify_set(tmp_path / "verify", LABELS)
    with pytest.raises(UsageError, match="not a folder"):
        load_verify_set(tmp_path / "missing", LABELS)


def test_the_watcher_offers_a_replaced_file(tiny_models, tmp_path):
    model = tmp_path / "model.tflite"
    model.write_bytes(tiny_models.int8.read_bytes())
    slot = slot_for(model)
    outcomes, done = [], threading.Event()
    watcher = ModelWatcher(model, slot, lambda outcome: (outcomes.append(outcome), done.set()), interval=0.05)
    watcher.start()
    try:
        staged = tmp_path / ".model.tflite.tmp"
        staged.write_bytes(tiny_models.float32.read_bytes())
        staged.replace(model)  # what mv, rsync and Ansible do
        assert done.wait(60)
    finally:
        watcher.stop()
    assert [o.accepted for o in outcomes] == [True] and outcomes[0].origin == str(model)


def test_the_watcher_waits_for_a_file_written_in_place_to_hold_still(tiny_models, tmp_path):
    model = tmp_path / "model.tflite"
    model.write_bytes(tiny_models.int8.read_bytes())
    slot = slot_for(model)
    outcomes = []
    watcher = ModelWatcher(model, slot, outcomes.append, interval=0.5)
    content = tiny_models.float32.read_bytes()
    watcher.start()
    try:
        with open(model, "wb") as out:  # as `cp` writes: the same file, truncated, then filled slowly
            step = len(content) // 12 + 1  # about 1.2 s of writing: the watcher looks in between
            for start in range(0, len(content), step):
                out.write(content[start:start + step])
                out.flush()
                time.sleep(0.1)  # writes come faster than the watcher looks
        deadline = time.monotonic() + 60
        while not outcomes and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        watcher.stop()
    assert [(o.accepted, o.reason) for o in outcomes] == [(True, "passed every check")]
