"""Pick a TFLite interpreter (ai-edge-litert, tflite-runtime or TensorFlow Lite) and open a model with it."""

from __future__ import annotations

import hashlib
import importlib
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from antbee.common.errors import ModelError, UsageError

# Preference order for `auto`: LiteRT is the maintained successor; tflite-runtime is what
# older Raspberry Pi images have; full TensorFlow is a last resort on a workstation.
RUNTIMES = {
    "litert": ("ai_edge_litert.interpreter", "pip install ai-edge-litert"),
    "tflite-runtime": ("tflite_runtime.interpreter",
                       "pip install 'antbee[tflite-runtime]' (tflite-runtime with numpy<2)"),
    "tensorflow": ("tensorflow.lite", "pip install tensorflow"),
}
FLATBUFFER_ID = b"TFL3"
MIN_MODEL_BYTES = 64
PROBE_TIMEOUT_S = 300
_PROBE_FAILED = 3
# Run in a child process by _probe: open, allocate and invoke the model once with the same runtime.
_PROBE = """
import importlib, sys
module = importlib.import_module(sys.argv[1])
kwargs = {"model_content": sys.stdin.buffer.read(), "num_threads": int(sys.argv[2]) or None}
if sys.argv[3] == "1":
    kwargs["experimental_op_resolver_type"] = module.OpResolverType.BUILTIN_REF
try:
    interpreter = module.Interpreter(**kwargs)
    interpreter.allocate_tensors()
    interpreter.invoke()
except (ValueError, RuntimeError, MemoryError) as exc:
    sys.stdout.write(" ".join(str(exc).split())[:300] or type(exc).__name__)
    sys.exit(%d)
""" % _PROBE_FAILED
_probed: set[tuple[str, str, int | None, bool]] = set()  # (sha256, runtime, threads, reference) that passed


def interpreter_module(runtime: str = "auto") -> tuple[str, Any]:
    """Return (name, module) of the first TFLite runtime that imports, or of the one asked for."""
    if runtime != "auto" and runtime not in RUNTIMES:
        raise UsageError(f"--runtime {runtime!r}: expected auto or one of {', '.join(RUNTIMES)}")
    names = list(RUNTIMES) if runtime == "auto" else [runtime]
    problems = []
    for name in names:
        module_name, install = RUNTIMES[name]
        try:
            return name, importlib.import_module(module_name)
        except ImportError as exc:  # a wheel built for NumPy 1.x raises ImportError under NumPy 2
            problems.append(f"{name}: {exc} (install: {install})")
    if runtime == "auto":
        raise ModelError("no TFLite interpreter could be loaded (" + "; ".join(problems) + ")")
    raise ModelError(f"runtime {runtime!r} cannot load: {problems[0]}")


def check_model_file(path: str | Path) -> bytes:
    """Read a .tflite file and check it is a TFLite flatbuffer, before any native code sees it."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{path}: model file not found") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model ({exc.strerror})") from None
    if len(content) < MIN_MODEL_BYTES or content[4:8] != FLATBUFFER_ID:
        raise ModelError(f"{path}: not a TFLite model (expected a .tflite flatbuffer with identifier TFL3)")
    return content


def make_interpreter(model: str | Path | bytes, threads: int | None = None, runtime: str = "auto",
                     reference_kernels: bool = False, name: str = "model", probe: bool = True):
    """Open a model (a path, or bytes already checked) with a TFLite interpreter, allocate it and return it.

    With `probe` (the default) the model is first opened in a child process (see _probe), so a
    malformed file the runtime would crash on gives a ModelError; pass False only for a model
    this process has just written itself, or to time the runtime's own load.
    """
    if threads is not None and threads < 1:
        raise UsageError(f"threads {threads}: expected a positive number")
    if isinstance(model, bytes):
        content = model
    else:
        content, name = check_model_file(model), str(model)
    runtime_name, module = interpreter_module(runtime)
    if probe:
        _probe(content, runtime_name, module.__name__, threads, reference_kernels, name)
    kwargs: dict[str, Any] = {"model_content": content, "num_threads": threads}
    if reference_kernels:
        # The portable reference kernels: slow, but they run where optimised ones crash (e.g. under emulation).
        kwargs["experimental_op_resolver_type"] = module.OpResolverType.BUILTIN_REF
    try:
        interpreter = module.Interpreter(**kwargs)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{name}: {runtime_name} cannot load this model ({_one_line(exc)})") from None
    return interpreter


def _probe(content: bytes, runtime_name: str, module_name: str, threads: int | None, reference_kernels: bool,
           name: str) -> None:
    """Load, allocate and invoke the model once in a child process; ModelError if that fails or crashes.

    The TFLite runtimes trust the model file: fuzzing showed about 1 in 200 bit-flipped tiny
    models makes allocate_tensors() die with SIGSEGV, which no Python code can catch. A
    flatbuffer verifier would not catch these (the files are well-formed flatbuffers with bad
    shapes or kernel parameters), and a check of every kernel's parameters would be a second
    TFLite. So the first load happens in a short-lived child with the same runtime: if that
    child dies, this process reports a corrupt model instead of dying. It costs a Python start,
    a runtime import and one inference, once per process and model: the CLI opens its model
    once per run. Passing models are remembered by
    their hash, so opening the same model again costs only the hash.
    """
    key = (hashlib.sha256(content).hexdigest(), module_name, threads, reference_kernels)
    if key in _probed or not sys.executable:
        return  # already probed, or an embedded Python that cannot start a child
    # -P: no script or working folder on sys.path, so no file there can stand in for the runtime.
    command = [sys.executable, "-P", "-c", _PROBE, module_name, str(threads or 0), "1" if reference_kernels else "0"]
    try:
        child = subprocess.run(command, input=content, capture_output=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ModelError(f"{name}: {runtime_name} did not finish loading this model in {PROBE_TIMEOUT_S} s "
                         "(corrupt model?)") from None
    except OSError:
        return  # no child process possible here; load in this process as before
    if child.returncode == -signal.SIGINT:
        raise KeyboardInterrupt  # Ctrl-C reached the child too: the user's interrupt, not the model
    if child.returncode < 0:
        try:
            died = signal.Signals(-child.returncode).name
        except ValueError:
            died = f"signal {-child.returncode}"
        raise ModelError(f"{name}: corrupt model: {runtime_name} crashed ({died}) opening it "
                         "in a separate check process")
    if child.returncode == _PROBE_FAILED:
        message = child.stdout.decode("utf-8", "replace").strip()
        raise ModelError(f"{name}: {runtime_name} cannot load this model ({message})")
    if child.returncode == 0:
        _probed.add(key)
    # Any other exit is the child's environment, not the model (e.g. it could not import the
    # runtime); the load below then reports whatever is wrong, as it did without the probe.


def runtime_version(runtime: str = "auto") -> str:
    """Name and version of the interpreter `runtime` resolves to, for reports."""
    name, module = interpreter_module(runtime)
    package = importlib.import_module(module.__name__.split(".")[0])
    return f"{name} {getattr(package, '__version__', '?')}"


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:300]
