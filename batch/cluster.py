"""Joining Ray: how antbee-batch and antbee-train --ray start it, and what a bad --ray address says."""

from __future__ import annotations

from antbee.common.errors import UsageError


def connect_ray(address: str | None) -> None:
    """Start Ray in this process: join `address` (auto, host:port or ray://host:10001), or a local Ray for None."""
    import ray

    try:
        ray.init(address=address, include_dashboard=False, logging_level="warning")
    except ConnectionError as exc:
        raise UsageError(f"--ray {address}: cannot connect ({exc}); expected auto, a head node's host:port "
                         "or ray://host:10001") from None
