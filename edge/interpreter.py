"""Pick a TFLite interpreter (ai-edge-litert, tflite-runtime or TensorFlow Lite) and open a model with it."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from antbee.edge.errors import ModelError, UsageError

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
        raise ModelError("no TFLite interpreter found; install one: pip install ai-edge-litert")
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
                     reference_kernels: bool = False, name: str = "model"):
    """Open a model (a path, or bytes already checked) with a TFLite interpreter, allocate it and return it."""
    if threads is not None and threads < 1:
        raise UsageError(f"threads {threads}: expected a positive number")
    if isinstance(model, bytes):
        content = model
    else:
        content, name = check_model_file(model), str(model)
    runtime_name, module = interpreter_module(runtime)
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


def runtime_version(runtime: str = "auto") -> str:
    """Name and version of the interpreter `runtime` resolves to, for reports."""
    name, module = interpreter_module(runtime)
    package = importlib.import_module(module.__name__.split(".")[0])
    return f"{name} {getattr(package, '__version__', '?')}"


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:300]
