"""Where the series live: this process's memory, or, with several worker
processes, files in ``PROMETHEUS_MULTIPROC_DIR`` that every process writes
and whichever process is scraped sums (prometheus_client's multiprocess
mode). prometheus_client picks its mode when first imported, from that
variable: the directory must exist before any series is made."""

import os

from django.conf import settings
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROCESS_DIR:
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)

# A `_created` series beside every counter doubles what is scraped, for a
# start time that `rate()` does not need.
disable_created_metrics()  # type: ignore[no-untyped-call]

ENABLED: bool = settings.METRICS_ENABLED
MULTIPROCESS = bool(MULTIPROCESS_DIR)


def exposition() -> bytes:
    """Every series, in the text format."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def forget_this_process() -> None:
    """Drops this process's live gauges (connections open, pool in use…) as
    it exits; its counters keep counting in the sums."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
