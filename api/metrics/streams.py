"""What subscriptions stream: rows and batches by phase, and how long a
committed change takes to reach a live subscriber."""

import time

from prometheus_client import Counter, Gauge, Histogram

from api.metrics.registry import ENABLED

# From a few milliseconds when all keeps up to a minute for a subscriber
# catching up on what it missed.
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

ROWS = Counter("conveyor_stream_rows", "Rows sent by subscriptions, by phase.", ["phase"])
BATCHES = Counter("conveyor_stream_batches", "Batches sent by subscriptions, by phase.", ["phase"])
LIVE_LAG = Histogram(
    "conveyor_live_lag_seconds",
    "Time from a change being written to the change log, in its transaction, to the "
    "LIVE batch that carries it having been sent to a subscriber; once per batch, for "
    "its oldest change.",
    buckets=LAG_BUCKETS,
)

WAITING = Gauge(
    "conveyor_live_pending_changes",
    "Changes read from the change log and waiting in live feeds to be sent "
    "(one per product and subscriber).",
    multiprocess_mode="livesum",
)
UNREAD = Gauge(
    "conveyor_change_log_backlog_changes",
    "Changes committed to the change log that a process tailing it has not read yet "
    "(the most behind of the processes).",
    multiprocess_mode="livemax",
)

# Both phases are exported from the start, at 0, so that rate() sees the first
# rows; a stream counts every batch into them, and labels() costs more than inc().
_ROWS = {phase: ROWS.labels(phase) for phase in ("snapshot", "live")}
_BATCHES = {phase: BATCHES.labels(phase) for phase in ("snapshot", "live")}


def count_batch(phase: str, rows: int) -> None:
    """A batch of ``rows`` products of ``phase`` (SNAPSHOT, LIVE) handed to
    the transport."""
    if ENABLED:
        phase = phase.lower()
        _BATCHES[phase].inc()
        _ROWS[phase].inc(rows)


def live_batch_sent(written_at: float) -> None:
    """A LIVE batch whose oldest change was written at ``written_at`` (Unix
    time, the database's clock) has been sent."""
    if ENABLED:
        LIVE_LAG.observe(max(0.0, time.time() - written_at))


def record_backlog(*, waiting: int, unread: int) -> None:
    WAITING.set(waiting)
    UNREAD.set(unread)
