"""Ratios to Keras and to the reference model, and the sentences that spell them out."""

from __future__ import annotations

from collections.abc import Sequence

from antbee.benchmarks.results import (COMPILED, INVOKE, KERAS, PREDICT, REFERENCE, Accuracy, FrameOverhead, Latency,
                                       Model, Ratio)


def latency_ms(latency: Sequence[Latency], statistic: str = "median_ms") -> dict[tuple[str, str, int], float]:
    """One statistic (ms) of every latency row, by (model, call, threads)."""
    return {(row.model, row.call, row.threads): getattr(row.stats, statistic) for row in latency}


def ratios(models: Sequence[Model], latency: Sequence[Latency], overhead: FrameOverhead | None) -> list[Ratio]:
    """Every ratio, of medians (what a user sees under this load) and of minima (what the check compares).

    On a shared machine the medians of the int8 speedup over the compiled Keras call move far
    from run to run while the minima stay close: other jobs only ever add time, and they slow
    TensorFlow's float model more than the int8 interpreter, so medians move with the load while
    the fastest of 200 calls stays put. Absolute times are never checked.
    """
    sizes = {m.name: m.size_bytes for m in models}
    out = [*_latency_ratios(models, latency, overhead, "median_ms", "", False),
           *_latency_ratios(models, latency, overhead, "min_ms", ".min", True)]
    out += [Ratio(f"size_ratio.{m.name}", sizes[KERAS] / m.size_bytes, "size", "higher", True)
            for m in models if KERAS in sizes and m.name not in (KERAS, REFERENCE)]
    return out


def _latency_ratios(models, latency, overhead, statistic: str, suffix: str, checked: bool) -> list[Ratio]:
    found = latency_ms(latency, statistic)
    variants = [m.name for m in models if m.name not in (KERAS, REFERENCE)]
    threads = sorted({row.threads for row in latency})
    out = []
    for name in variants:
        for t in threads:
            mine = found.get((name, INVOKE, t))
            for call, key in ((COMPILED, "speedup_compiled"), (PREDICT, "speedup_predict")):
                keras = found.get((KERAS, call, t))
                if mine and keras:
                    out.append(Ratio(f"{key}.{name}.t{t}{suffix}", keras / mine, "latency", "higher", checked))
    for t in threads:
        int8, reference = found.get(("int8", INVOKE, t)), found.get((REFERENCE, INVOKE, t))
        if int8 and reference:
            out.append(Ratio(f"int8_vs_reference.t{t}{suffix}", int8 / reference, "latency", "lower", checked))
    if overhead is not None:  # as a ratio of times, so it takes the same tolerance as the other latency ratios
        classify, invoke = getattr(overhead.classify, statistic), getattr(overhead.invoke, statistic)
        out.append(Ratio(f"classify_vs_invoke.{overhead.model}.t{overhead.threads}{suffix}", classify / invoke,
                         "latency", "lower", checked))
    return out


def sentences(models: Sequence[Model], latency: Sequence[Latency], accuracy: Sequence[Accuracy]) -> list[str]:
    """One plain sentence per TFLite variant: how much faster and smaller than Keras, and the accuracy change."""
    found = latency_ms(latency)
    sizes = {m.name: m.size_bytes for m in models}
    scores = {a.model: a.accuracy for a in accuracy}
    threads = sorted({row.threads for row in latency})
    out = []
    for model in models:
        if model.name in (KERAS, REFERENCE) or KERAS not in sizes:
            continue
        parts = []
        for call in (COMPILED, PREDICT):
            speeds = [(found[(KERAS, call, t)] / found[(model.name, INVOKE, t)], t) for t in threads
                      if (KERAS, call, t) in found and (model.name, INVOKE, t) in found]
            if speeds:
                words = [_times(speed, "faster", "slower") + (f" than Keras ({call})" if i == 0 else "")
                         + f" at {threads_text(t)}" for i, (speed, t) in enumerate(speeds)]
                parts.append(" and ".join(words))
        size = sizes[KERAS] / model.size_bytes
        parts.append(_times(size, "smaller", "larger"))
        if model.name in scores and KERAS in scores:
            parts.append(f"{100 * (scores[model.name] - scores[KERAS]):+.1f} pp accuracy")
        out.append(f"{model.name} is " + "; ".join(parts) + ".")
    return out


def threads_text(t: int) -> str:
    return f"{t} thread" + ("" if t == 1 else "s")


def _times(ratio: float, more: str, less: str) -> str:
    # "0.8x faster" reads wrong; below 1 the inverse ratio with the opposite word says the same thing.
    return f"{ratio:.1f}x {more}" if ratio >= 1 else f"{1 / ratio:.1f}x {less}"
