"""Facts about the machine and software the numbers were measured with."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

from antbee.benchmarks.results import Machine


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name from /proc/cpuinfo (x86 `model name`, Arm `Model`/`Hardware`), else platform's."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and value.strip():
            fields.setdefault(key.strip(), value.strip())
    for key in ("model name", "Model", "Hardware", "cpu model"):
        if key in fields:
            return fields[key]
    return platform.processor() or platform.machine()


def slug(cores: int | None = None) -> str:
    """A name for this kind of machine, e.g. `x86_64-2core`: the reference file's name."""
    return f"{platform.machine() or 'unknown'}-{cores or os.cpu_count() or 1}core"


def version(distribution: str) -> str | None:
    """An installed distribution's version, or None."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def machine(with_keras: bool) -> Machine:
    """Machine facts; TensorFlow and Keras versions only when this run used them."""
    import cv2
    import numpy as np

    from antbee.edge.interpreter import runtime_version

    cores = os.cpu_count() or 1
    return Machine(
        slug=slug(cores),
        cpu=cpu_model(),
        cores=cores,
        platform=platform.platform(),
        python=platform.python_version(),
        tensorflow=version("tensorflow") if with_keras else None,
        keras=version("keras") if with_keras else None,
        interpreter=runtime_version(),
        numpy=np.__version__,
        opencv=cv2.__version__,
        load_average=tuple(round(v, 2) for v in os.getloadavg()),
    )
