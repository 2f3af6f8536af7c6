"""antbee-batch: a thin Typer layer over antbee.batch.run.run_batch."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from antbee.common.command import Verbose, new_app, run, user_errors
from antbee.common.extras import require

PROG = "antbee-batch"

app = new_app()


@app.command()
def batch_command(
    sources: Annotated[list[str], typer.Argument(
        metavar="SOURCE...", help="Image files, folders (walked recursively), globs, URIs pyarrow reads "
        "(s3://bucket/photos/, gs://..., file://...), or .txt files listing paths or URIs one a line.",
        show_default=False)],
    out: Annotated[Path, typer.Option(
        "--out", metavar="FILE", help="Results: FILE.jsonl (JSON lines) or FILE.parquet (a folder of part "
        "files). Rerunning adds only the sources it does not hold yet.", show_default=False)],
    model: Annotated[Path | None, typer.Option(
        "--model", metavar="FILE.tflite", help="The model; default: antbee-edge's default.")] = None,
    ray: Annotated[str | None, typer.Option(
        "--ray", metavar="ADDRESS", help="A Ray cluster: auto (the one `ray start` made here), host:6379 or "
        "ray://host:10001. Default: a Ray started for the job on this machine's cores.")] = None,
    actors: Annotated[int | None, typer.Option(
        "--actors", metavar="N", help="Classifier actors (each one model, one process). Default: the "
        "cluster's CPUs divided by --threads.")] = None,
    threads: Annotated[int, typer.Option("--threads", metavar="N", help="Interpreter threads per actor.")] = 1,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", metavar="N", help="Images an actor takes at a time.")] = 32,
    labels: Annotated[Path | None, typer.Option(
        "--labels", metavar="FILE", help="Labels file, one class a line (default: inside the model).")] = None,
    top_k: Annotated[int, typer.Option("--top-k", metavar="K", help="Classes per row's top list.")] = 1,
    threshold: Annotated[float, typer.Option(
        "--threshold", metavar="SCORE", help="Leave out classes scoring below this.")] = 0.0,
    runtime: Annotated[str, typer.Option(
        "--runtime", metavar="auto|litert|tflite-runtime|tensorflow", help="The TFLite interpreter to use.")] = "auto",
    verbose: Verbose = False,
) -> None:
    """Classify many images on Ray Data actors into a results file, as antbee-edge --json would; resumable."""
    with user_errors(PROG):
        require("ray", "batch", PROG)
        from antbee.batch.progress import progress_bar
        from antbee.batch.run import BatchOptions, run_batch
        from antbee.edge.runner import default_model

        options = BatchOptions(sources=tuple(sources), model=model or default_model(), out=out, ray=ray,
                               actors=actors, threads=threads, batch_size=batch_size, labels=labels,
                               top_k=top_k, threshold=threshold, runtime=runtime)
        with progress_bar() as progress:
            summary = run_batch(options, progress)
    rate = summary.written / summary.seconds if summary.seconds > 0 else 0.0
    print(f"{PROG}: {summary.written} rows written to {out} ({summary.failed} of them errors) by "
          f"{summary.workers} worker processes, {rate:.1f} images/s; {summary.skipped} of {summary.sources} "
          "sources were already there", file=sys.stderr, flush=True)


def main() -> None:
    """Console-script entry point."""
    run(app, PROG)
