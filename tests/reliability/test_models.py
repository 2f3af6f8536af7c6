"""Broken .tflite files through Classifier and antbee-edge: a clear ModelError and exit 2, never a signal."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

import corpus
from antbee.edge import interpreter as interp
from antbee.edge.classifier import Classifier, ClassifierOptions
from antbee.common.errors import ModelError

FLIPS_IN_TESTS = 2 * 30  # two workers in parallel; tools/reliability_report.py runs more


def _bad_models(folder: Path, tiny_models) -> dict[str, Path]:
    content = tiny_models.plain.read_bytes()
    packed = tiny_models.int8.read_bytes()
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(500)
    models = {
        "empty": b"",
        "truncated to 100 bytes": content[:100],
        "truncated to half": content[: len(content) // 2],
        "truncated by 16 bytes": content[:-16],
        "packed model truncated into its flatbuffer": packed[: len(content) - 200],
        "a PNG named .tflite": png,
        "random bytes": os.urandom(3000),
        "TFL3 header then zeros": content[:8] + bytes(3000),
        "a ZIP named .tflite": b"PK\x05\x06" + bytes(18),
    }
    paths = {}
    for name, data in models.items():
        path = folder / (name.replace(" ", "_") + ".tflite")
        path.write_bytes(data)
        paths[name] = path
    return paths


def test_broken_model_files_are_model_errors(tmp_path, tiny_models):
    for name, path in _bad_models(tmp_path, tiny_models).items():
        with pytest.raises(ModelError) as error:
            Classifier(ClassifierOptions(model=path))
        assert str(path) in str(error.value), name


def test_the_cli_exits_2_with_one_line_for_each_broken_model(tmp_path, tiny_models, edge_command):
    image = tmp_path / "a.png"
    image.write_bytes(corpus.encode(np.full((8, 8, 3), 200, np.uint8), "PNG"))
    for name, path in _bad_models(tmp_path, tiny_models).items():
        done = subprocess.run([*edge_command, str(image), "--model", str(path)], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2, (name, done.returncode, done.stderr[-1000:])
        errors = [line for line in done.stderr.splitlines() if line.startswith("antbee-edge: error:")]
        assert len(errors) == 1 and str(path) in errors[0], (name, done.stderr)
        assert "Traceback" not in done.stderr and done.stdout == ""


def test_bit_flipped_models_never_kill_the_process(tiny_models):
    """Each mutant loads in a forked child; none may die by a signal, nothing but ModelError may escape.

    Before the probe in antbee.edge.interpreter, about 1 in 200 such mutants killed the process
    with SIGSEGV inside allocate_tensors(); see tools/reliability_report.py for a longer run.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda seed: corpus.flip_fuzz(tiny_models.int8 if seed % 2 else tiny_models.plain,
                                                          FLIPS_IN_TESTS // 2, seed), (11, 12)))
    total = {key: sum(run[key] for run in runs) for key in ("tried", "loaded", "model_error", "other_exception",
                                                            "signal")}
    print(f"bit-flip fuzz: {total}")
    assert total["tried"] == FLIPS_IN_TESTS
    assert total["signal"] == 0, [run["examples"] for run in runs]
    assert total["other_exception"] == 0, [run["examples"] for run in runs]
    assert total["model_error"] > total["tried"] // 2  # the flips really did break most models


CRASHING_RUNTIME = textwrap.dedent("""
    import os, signal

    class Interpreter:
        def __init__(self, model_content=None, num_threads=None, **kwargs):
            self.content = model_content

        def allocate_tensors(self):
            if b"CRASH" in self.content:
                os.kill(os.getpid(), signal.SIGSEGV)  # what TFLite does with some malformed models
            if b"HANG" in self.content:
                import time
                time.sleep(60)

        def invoke(self):
            pass
""")


@pytest.fixture
def crashing_runtime(tmp_path, monkeypatch):
    """A fake interpreter module that dies by SIGSEGV on models containing b"CRASH", registered as 'fake'."""
    (tmp_path / "fake_crashing_runtime.py").write_text(CRASHING_RUNTIME)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # for the probe's child process
    monkeypatch.setitem(interp.RUNTIMES, "fake", ("fake_crashing_runtime", "nothing to install"))
    monkeypatch.setattr(interp, "_probed", set())
    return tmp_path


def test_a_runtime_that_segfaults_on_a_model_is_reported_not_fatal(crashing_runtime, tiny_models):
    crasher = tiny_models.plain.read_bytes() + b"CRASH"
    with pytest.raises(ModelError, match=r"corrupt model: fake crashed \(SIGSEGV\)"):
        interp.make_interpreter(crasher, runtime="fake", name="crasher.tflite")
    # This process is still alive to see the error; a good model goes through the same probe.
    assert interp.make_interpreter(tiny_models.plain.read_bytes(), runtime="fake") is not None


def test_a_runtime_that_hangs_on_a_model_is_stopped(crashing_runtime, tiny_models, monkeypatch):
    monkeypatch.setattr(interp, "PROBE_TIMEOUT_S", 2)
    with pytest.raises(ModelError, match="did not finish loading"):
        interp.make_interpreter(tiny_models.plain.read_bytes() + b"HANG", runtime="fake", name="hang.tflite")


def test_the_probe_is_skipped_for_a_model_already_probed(tiny_models, monkeypatch):
    content = tiny_models.float32.read_bytes()
    interp.make_interpreter(content)
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    interp.make_interpreter(content)
    assert calls == []


def test_labels_that_do_not_match_the_outputs_exit_2(tmp_path, tiny_models, edge_command):
    image = tmp_path / "a.png"
    image.write_bytes(corpus.encode(np.full((8, 8, 3), 200, np.uint8), "PNG"))
    labels = tmp_path / "labels.txt"
    labels.write_text("ant\nbee\nwasp\n")
    with pytest.raises(ModelError, match="3 labels, but the model outputs 2"):
        Classifier(ClassifierOptions(model=tiny_models.int8, labels=labels))
    done = subprocess.run([*edge_command, str(image), "--model", str(tiny_models.plain), "--labels", str(labels)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "labels.txt: 3 labels, but the model outputs 2 scores" in done.stderr
    # Packed labels that disagree with the model are refused the same way.
    from antbee.edge.metadata import ModelInfo, attach

    wrong = tmp_path / "wrong_packed.tflite"
    wrong.write_bytes(attach(tiny_models.plain.read_bytes(), ModelInfo(labels=("a", "b", "c"), size=(32, 32))))
    with pytest.raises(ModelError, match="3 labels, but the model outputs 2"):
        Classifier(ClassifierOptions(model=wrong))


def test_a_model_with_a_non_image_input_is_a_model_error_and_exit_2(tmp_path, tiny_models, edge_command):
    with pytest.raises(ModelError, match=r"expected an image input of shape \[1, height, width, 3\], found \[1, 10\]"):
        Classifier(ClassifierOptions(model=tiny_models.vector_input))
    image = tmp_path / "a.png"
    image.write_bytes(corpus.encode(np.full((8, 8, 3), 200, np.uint8), "PNG"))
    done = subprocess.run([*edge_command, str(image), "--model", str(tiny_models.vector_input)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "found [1, 10]" in done.stderr


def test_a_missing_model_and_a_folder_as_model_exit_2(tmp_path, edge_command):
    image = tmp_path / "a.png"
    image.write_bytes(corpus.encode(np.full((8, 8, 3), 200, np.uint8), "PNG"))
    for model in (tmp_path / "nope.tflite", tmp_path):
        done = subprocess.run([*edge_command, str(image), "--model", str(model)], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert str(model) in done.stderr
