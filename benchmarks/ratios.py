"""Ratios to Keras and to the reference model, issue 5's checks, and the sentences that spell them out."""

from __future__ import annotations

from collections.abc import Sequence

from antbee.benchmarks.results import (COMPILED, INVOKE, KERAS, PREDICT, REFERENCE, Accuracy, FrameOverhead,
                                       IssueCheck, Latency, Model, Ratio)

# Issue 5's targets. "Within 10%" is read one-sided: the reference is the floor a well-quantized
# MobileNetV2 reaches, so being slower by more than 10% fails and being faster never does.
REFERENCE_MARGIN = 0.10
EXPECTED_SPEEDUP = 8.0  # "about 8x on this machine"; "about" taken as at most 25% below
SPEEDUP_SLACK = 0.25
MAX_OVERHEAD_PCT = 15.0


def medians(latency: Sequence[Latency], statistic: str = "median_ms") -> dict[tuple[str, str, int], float]:
    """One statistic (ms) of every latency row, by (model, call, threads)."""
    return {(row.model, row.call, row.threads): getattr(row.stats, statistic) for row in latency}


def ratios(models: Sequence[Model], latency: Sequence[Latency], overhead: FrameOverhead | None) -> list[Ratio]:
    """Every ratio, of medians (what a user sees under this load) and of minima (what the check compares).

    On this shared machine two full runs gave the int8 speedup over the compiled Keras call as
    10.0x and 5.7x by medians but 5.1x and 5.0x by minima: other jobs only ever add time, and
    they slow TensorFlow's float model more than the int8 interpreter, so medians move with the
    load while the fastest of 200 calls stays put. Absolute times are never checked.
    """
    sizes = {m.name: m.size_bytes for m in models}
    out = [*_latency_ratios(models, latency, overhead, "median_ms", "", False),
           *_latency_ratios(models, latency, overhead, "min_ms", ".min", True)]
    out += [Ratio(f"size_ratio.{m.name}", sizes[KERAS] / m.size_bytes, "size", "higher", True)
            for m in models if KERAS in sizes and m.name not in (KERAS, REFERENCE)]
    return out


def _latency_ratios(models, latency, overhead, statistic: str, suffix: str, checked: bool) -> list[Ratio]:
    found = medians(latency, statistic)
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


def issue_checks(latency: Sequence[Latency], overhead: FrameOverhead | None) -> list[IssueCheck]:
    """Issue 5's checks: the reference ratio per thread count, the Keras speedup best against best (and per
    thread count, reported), the frame overhead; a check that could not be measured is absent."""
    found = medians(latency)
    threads = sorted({row.threads for row in latency})
    checks = []
    for t in threads:
        int8, reference = found.get(("int8", INVOKE, t)), found.get((REFERENCE, INVOKE, t))
        if int8 and reference:
            checks.append(IssueCheck(
                f"int8 vs Google's reference int8, {_threads(t)}",
                f"{int8:.2f} ms vs {reference:.2f} ms = {int8 / reference:.2f}x",
                f"<= {1 + REFERENCE_MARGIN:.2f}x", int8 / reference <= 1 + REFERENCE_MARGIN))
    best_int8, best_keras = _fastest(found, "int8", INVOKE), _fastest(found, KERAS, COMPILED)
    if best_int8 and best_keras:
        # Each deployed at its own best thread count: what a user choosing either gets. TensorFlow
        # runs this batch-1 model slower on 2 threads than on 1 here, XNNPACK faster, so the
        # same-thread-count ratios below straddle it.
        (int8, int8_t), (compiled, keras_t) = best_int8, best_keras
        checks.append(IssueCheck(
            f"int8 speedup over the compiled Keras call, each at its fastest thread count "
            f"(int8 {_threads(int8_t)}, Keras {_threads(keras_t)})",
            f"{compiled:.2f} ms / {int8:.2f} ms = {compiled / int8:.1f}x",
            f"about {EXPECTED_SPEEDUP:.0f}x (>= {EXPECTED_SPEEDUP * (1 - SPEEDUP_SLACK):.1f}x)",
            compiled / int8 >= EXPECTED_SPEEDUP * (1 - SPEEDUP_SLACK)))
    for t in threads:
        int8, compiled, predict = (found.get(key) for key in
                                   (("int8", INVOKE, t), (KERAS, COMPILED, t), (KERAS, PREDICT, t)))
        if int8 and compiled:
            checks.append(IssueCheck(
                f"int8 speedup over the compiled Keras call, {_threads(t)}",
                f"{compiled:.2f} ms / {int8:.2f} ms = {compiled / int8:.1f}x", "reported", None))
        if int8 and predict:
            checks.append(IssueCheck(
                f"int8 speedup over model.predict, {_threads(t)}",
                f"{predict:.2f} ms / {int8:.2f} ms = {predict / int8:.1f}x", "reported (the issue sets no figure)",
                None))
    if overhead is not None:
        checks.append(IssueCheck(
            f"edge runtime overhead over bare invoke, {overhead.frame} frame, {overhead.model}, "
            f"{_threads(overhead.threads)}",
            f"{overhead.classify.median_ms:.2f} ms vs {overhead.invoke.median_ms:.2f} ms = "
            f"{overhead.overhead_pct:+.1f}%", f"<= {MAX_OVERHEAD_PCT:.0f}%", overhead.overhead_pct <= MAX_OVERHEAD_PCT))
    return checks


def sentences(models: Sequence[Model], latency: Sequence[Latency], accuracy: Sequence[Accuracy]) -> list[str]:
    """One plain sentence per TFLite variant: how much faster and smaller than Keras, and the accuracy change."""
    found = medians(latency)
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
                         + f" at {_threads(t)}" for i, (speed, t) in enumerate(speeds)]
                parts.append(" and ".join(words))
        size = sizes[KERAS] / model.size_bytes
        parts.append(_times(size, "smaller", "larger"))
        if model.name in scores and KERAS in scores:
            parts.append(f"{100 * (scores[model.name] - scores[KERAS]):+.1f} pp accuracy")
        out.append(f"{model.name} is " + "; ".join(parts) + ".")
    return out


def _fastest(found: dict[tuple[str, str, int], float], model: str, call: str) -> tuple[float, int] | None:
    """(milliseconds, threads) of the model's fastest thread count for this call, or None if unmeasured."""
    return min(((ms, t) for (m, c, t), ms in found.items() if (m, c) == (model, call)), default=None)


def _threads(t: int) -> str:
    return f"{t} thread" + ("" if t == 1 else "s")


def _times(ratio: float, more: str, less: str) -> str:
    # "0.8x faster" reads wrong; below 1 the inverse ratio with the opposite word says the same thing.
    return f"{ratio:.1f}x {more}" if ratio >= 1 else f"{1 / ratio:.1f}x {less}"
