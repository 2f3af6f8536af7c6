"""How antbee-edge prints a result: one readable line, or one JSON object per line."""

from __future__ import annotations

import functools
import json
from typing import Any


def format_human(result, classifier) -> str:
    """One readable line: source, the top classes with scores, and the latency."""
    where = result.source if result.frame is None else f"{result.source} frame {result.frame}"
    categories = result.classification.categories
    found = "; ".join(f"{c.label} {c.score:.3f}" for c in categories) if categories else \
        f"no class scores {classifier.options.threshold:g} or more"
    return f"{where}: {found} ({result.latency_ms:.1f} ms)"


def format_json(result, classifier) -> str:
    """One JSON object: source, label, score, every class's score, the top classes, latency (and frame)."""
    record: dict[str, Any] = {"source": result.source}
    if result.frame is not None:
        record["frame"] = result.frame
    if result.error is not None:
        record["error"] = result.error
        return json.dumps(record, ensure_ascii=False)
    top = result.classification.top
    record.update(
        label=top.label if top else None,
        score=round(top.score, 6) if top else None,
        scores={key: round(score, 6) for key, score in zip(_score_keys(classifier.labels),
                                                           result.classification.scores.tolist(), strict=True)},
        top=[{"index": c.index, "label": c.label, "score": round(c.score, 6)}
             for c in result.classification.categories],
        latency_ms=round(result.latency_ms, 3),
    )
    return json.dumps(record, ensure_ascii=False)


@functools.lru_cache(maxsize=4)
def _score_keys(labels: tuple[str, ...]) -> tuple[str, ...]:
    # Label files can repeat a name (ImageNet has two "crane"s); later ones get their index so no score is lost.
    seen: set[str] = set()
    keys = []
    for index, label in enumerate(labels):
        keys.append(label if label not in seen else f"{label} ({index})")
        seen.add(label)
    return tuple(keys)
