"""The one command boundary: how every antbee command is built, reports user mistakes, stops and keeps quiet."""

from __future__ import annotations

import importlib.util
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from antbee.common import logs
from antbee.common.errors import AntbeeError, UsageError

INTERRUPTED = 130  # what a shell reports for a command ended by Ctrl-C (128 + SIGINT)
WORKSTATION_EXTRA = "pip install 'antbee[train]'"
# The modules behind antbee-train, antbee-convert and antbee-bench that the plain (device) install lacks.
WORKSTATION_MODULES = ("tensorflow", "keras", "sklearn", "matplotlib")


def _verbose(value: bool) -> bool:
    logs.configure(value)
    return value


# Every command takes this option; eager, so the libraries' log levels are set before the command imports them.
Verbose = Annotated[bool, typer.Option(
    "--verbose", help=f"Show TensorFlow, XNNPACK and FFmpeg log lines (also {logs.VERBOSE_ENV}=1).",
    callback=_verbose, is_eager=True)]


def new_app() -> typer.Typer:
    """A Typer app with the settings every antbee command shares: plain help, plain errors, no completion."""
    return typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


def printable(text: str) -> str:
    """`text` safe to write to a UTF-8 stream."""
    # File names that are not valid UTF-8 reach Python as lone surrogates, which no UTF-8 stream
    # can write; show those bytes as U+FFFD so the line stays valid UTF-8 (and valid JSON).
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def fail(prog: str, exc: AntbeeError) -> None:
    """Print `<prog>: error: <message>` as one line on stderr and exit with the error's code."""
    print(printable(f"{prog}: error: {' '.join(str(exc).splitlines())}"), file=sys.stderr, flush=True)
    raise typer.Exit(exc.exit_code)


@contextmanager
def user_errors(prog: str) -> Iterator[None]:
    """Turn an AntbeeError into one error line and its exit code, and Ctrl-C into `<prog>: interrupted`, 130."""
    try:
        yield
    except AntbeeError as exc:
        fail(prog, exc)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr, flush=True)
        raise typer.Exit(INTERRUPTED) from None


def require_workstation() -> None:
    """Raise a UsageError naming the extra to install when TensorFlow and its companions are missing."""
    missing = [name for name in WORKSTATION_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"this command needs the workstation packages ({', '.join(missing)} not installed): "
                         f"{WORKSTATION_EXTRA}")


@contextmanager
def workstation(prog: str) -> Iterator[tuple]:
    """The body of a workstation command: user errors as one line, the [train] extra checked, progress bars
    on stderr; yields (tracker, on_epoch) from antbee.common.progress.rich_tracker."""
    with user_errors(prog):
        require_workstation()
        from rich.console import Console

        from antbee.common.progress import rich_tracker

        with rich_tracker(Console(stderr=True)) as bars:
            yield bars


def run(app: typer.Typer, prog: str, writes_files: bool = True) -> None:
    """Console-script entry point: filter native log lines, make SIGTERM unwind like Ctrl-C, run the app."""
    logs.filter_native_stderr()
    if writes_files:
        # SIGTERM's default action ends Python without running `finally` blocks, leaving staging and
        # temporary files; as SystemExit it unwinds like Ctrl-C, and the previous files stay as they were.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    app(prog_name=prog)
