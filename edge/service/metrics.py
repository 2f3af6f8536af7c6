"""The service's Prometheus metrics (prometheus-client), in a registry of its own, names prefixed antbee_."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Classification latency on a Pi runs from about a millisecond (tiny int8) to a few hundred.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The counters the service keeps; `text()` is the /metrics answer."""

    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.classifications = Counter("antbee_classifications", "Results with a class, by source and label",
                                       ["source_id", "label"], registry=r)
        self.errors = Counter("antbee_errors", "Inputs that could not be classified, by source",
                              ["source_id"], registry=r)
        self.latency = Histogram("antbee_latency_seconds", "Time to classify one input (decoding included "
                                 "for uploads)", buckets=LATENCY_BUCKETS, registry=r)
        self.refused_uploads = Counter("antbee_refused_uploads", "Uploads answered with a 4xx, by status",
                                       ["status"], registry=r)
        self.model_reloads = Counter("antbee_model_reloads", "New models swapped in", registry=r)
        self.model_rejections = Counter("antbee_model_rejections", "New models refused", registry=r)
        self.model_info = Gauge("antbee_model_info", "The running model (always 1)", ["sha256"], registry=r)
        # The live layer feeds these through the service's sink; API-only mode leaves them at zero.
        self.frames = Counter("antbee_frames", "Frames classified, by source", ["source_id"], registry=r)
        self.dropped = Counter("antbee_dropped_frames", "Frames replaced by a newer one before being classified",
                               ["source_id"], registry=r)
        self.source_up = Gauge("antbee_source_up", "1 while the source delivers frames, else 0", ["source_id"],
                               registry=r)

    def running(self, sha256: str) -> None:
        """Mark `sha256` as the running model."""
        self.model_info.clear()
        self.model_info.labels(sha256).set(1)

    def text(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
