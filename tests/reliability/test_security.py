"""Security properties, checked over the package source (AST, not grep, so comments and strings do not count)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE_DIRS = ("edge", "train", "convert", "benchmarks")


def _sources() -> list[Path]:
    files = [path for folder in PACKAGE_DIRS if (REPO / folder).is_dir() for path in (REPO / folder).rglob("*.py")]
    assert len(files) > 20, "package source not found"
    return files


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            yield name, node


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else "?"


def _keyword(call: ast.Call, name: str):
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


@pytest.fixture(scope="module")
def trees() -> dict[str, ast.AST]:
    return {str(path.relative_to(REPO)): ast.parse(path.read_text(encoding="utf-8")) for path in _sources()}


def test_every_keras_load_model_call_passes_safe_mode_true(trees):
    found = []
    for name, tree in trees.items():
        for called, call in _calls(tree):
            if called == "load_model":
                safe = _keyword(call, "safe_mode")
                assert isinstance(safe, ast.Constant) and safe.value is True, f"{name}:{call.lineno}: no safe_mode=True"
                found.append(name)
    assert found, "expected at least one load_model call (convert/tflite.py)"


def test_a_keras_file_that_needs_unsafe_deserialisation_is_refused(tmp_path):
    import keras

    from antbee.convert.tflite import load_keras_model
    from antbee.common.errors import ModelError

    marker = tmp_path / "pwned"
    inputs = keras.Input((4,))
    # The lambda would run when the layer is called; loading it needs to deserialise its bytecode.
    outputs = keras.layers.Lambda(lambda x, at=str(marker): x * 2 + (open(at, "w").close() or 0))(inputs)
    path = tmp_path / "evil.keras"
    keras.Model(inputs, outputs).save(path)
    marker.unlink()
    with pytest.raises(ModelError, match="unsafe deserialization"):
        load_keras_model(path)
    assert not marker.exists()


def test_no_pickle_and_no_np_load_with_allow_pickle(trees):
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [alias.name for alias in node.names] + ([node.module] if isinstance(node, ast.ImportFrom)
                                                                   and node.module else [])
                assert not {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve"} & {
                    m.split(".")[0] for m in modules}, f"{name}:{node.lineno}: imports {modules}"
        for called, call in _calls(tree):
            allow = _keyword(call, "allow_pickle")
            assert not (isinstance(allow, ast.Constant) and allow.value), f"{name}:{call.lineno}: allow_pickle"
            assert not (called == "load" and _dotted(call.func) in ("torch.load", "joblib.load", "yaml.load")), \
                f"{name}:{call.lineno}: {_dotted(call.func)}"


def test_no_shell_and_no_eval(trees):
    for name, tree in trees.items():
        for called, call in _calls(tree):
            shell = _keyword(call, "shell")
            assert not (isinstance(shell, ast.Constant) and shell.value), f"{name}:{call.lineno}: shell=True"
            dotted = _dotted(call.func)
            assert dotted not in ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
                                  "eval", "exec"), f"{name}:{call.lineno}: {dotted}"
            if called in ("run", "Popen", "call", "check_call", "check_output") and call.args:
                assert not isinstance(call.args[0], (ast.Constant, ast.JoinedStr, ast.BinOp)), \
                    f"{name}:{call.lineno}: a command given as one string"


def test_nothing_is_ever_extracted_from_a_zip(trees):
    for name, tree in trees.items():
        for called, call in _calls(tree):
            assert called not in ("extract", "extractall", "unpack_archive", "_extract_member"), \
                f"{name}:{call.lineno}: {_dotted(call.func)}"
