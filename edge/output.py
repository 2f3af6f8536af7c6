"""How antbee-edge prints a result: one readable line, or one JSON object per line."""

from __future__ import annotations

import functools
import json
from datetime import datetime, timezone
from typing import Any


def format_human(result, classifier) -> str:
    """One readable line: source, the top classes with scores, and the latency."""
    named = result.source_id is not None and not result.source_id.isdigit()
    name = f"{result.source_id} ({result.source})" if named else result.source
    where = name if result.frame is None else f"{name} frame {result.frame}"
    categories = result.classification.categories
    found = "; ".join(f"{c.label} {c.score:.3f}" for c in categories) if categories else \
        f"no class scores {classifier.options.threshold:g} or more"
    age = "" if result.age_ms is None else f", {result.age_ms:.0f} ms after capture"
    return f"{where}: {found} ({result.latency_ms:.1f} ms{age})"


def iso_time(seconds: float) -> str:
    """Seconds since the epoch as ISO 8601 UTC with milliseconds: 2026-05-04T10:20:30.123Z."""
    stamp = datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def format_json(result, classifier) -> str:
    """One JSON object: source, label, score, every class's score, the top classes, latency; and for a frame
    its source_id, frame index, capture time and age."""
    return json.dumps(result_record(result, classifier), ensure_ascii=False)


def result_record(result, classifier) -> dict[str, Any]:
    """The object format_json prints, before it is text: what the event log, MQTT and the service's page keep."""
    record: dict[str, Any] = {"source": result.source}
    if result.frame is not None:
        record.update(source_id=result.source_id, frame=result.frame)
        if result.time is not None:
            record["time"] = iso_time(result.time)
    if result.error is not None:
        record["error"] = result.error
        return record
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
    if result.age_ms is not None:
        record["age_ms"] = round(result.age_ms, 3)
    return record


@functools.lru_cache(maxsize=4)
def _score_keys(labels: tuple[str, ...]) -> tuple[str, ...]:
    # Label files can repeat a name (ImageNet has two "crane"s); later ones get their index so no score is lost.
    seen: set[str] = set()
    keys = []
    for index, label in enumerate(labels):
        keys.append(label if label not in seen else f"{label} ({index})")
        seen.add(label)
    return tuple(keys)
