"""The PostgreSQL connection pool (Django's, psycopg_pool's): connections in
use and idle, its size limit, requests waiting now, and how often and how
long requests have waited for a connection. SQLite has no pool (Django opens
a connection per thread): there, none of these series is exported."""

from typing import Any

from django.db import connections
from prometheus_client import Counter, Gauge

from api.metrics.sampling import sampled


class PoolSeries:
    """Made when a pool is first sampled, so that SQLite exports none."""

    def __init__(self) -> None:
        self.connections = Gauge(
            "conveyor_db_pool_connections",
            "Pooled database connections, by state (in_use, idle).",
            ["state"],
            multiprocess_mode="livesum",
        )
        self.max_connections = Gauge(
            "conveyor_db_pool_max_connections",
            "The most connections the pools may hold (DB_POOL_MAX_SIZE per process).",
            multiprocess_mode="livesum",
        )
        self.waiting = Gauge(
            "conveyor_db_pool_waiting_requests",
            "Requests for a connection waiting now.",
            multiprocess_mode="livesum",
        )
        self.waits = Counter(
            "conveyor_db_pool_waits",
            "Requests for a connection that found none idle and waited.",
        )
        self.wait_seconds = Counter(
            "conveyor_db_pool_wait_seconds",
            "Time requests spent waiting for a connection.",
        )
        self.failures = Counter(
            "conveyor_db_pool_request_failures",
            "Requests for a connection that failed (timed out: DB_POOL_TIMEOUT).",
        )


class PoolStatistics:
    """The pool's cumulative statistics turned into counter increments."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._series: PoolSeries | None = None

    def _since_last(self, stats: dict[str, int], key: str) -> int:
        value = stats.get(key, 0)
        increase = value - self._seen.get(key, 0)
        self._seen[key] = value
        return max(increase, 0)

    async def sample(self) -> None:
        pool: Any = getattr(connections["default"], "pool", None)
        if pool is None:
            return
        series = self._series = self._series or PoolSeries()
        stats: dict[str, int] = pool.get_stats()
        size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
        series.connections.labels("in_use").set(size - idle)
        series.connections.labels("idle").set(idle)
        series.max_connections.set(stats.get("pool_max", pool.max_size))
        series.waiting.set(stats.get("requests_waiting", 0))
        series.waits.inc(self._since_last(stats, "requests_queued"))
        series.wait_seconds.inc(self._since_last(stats, "requests_wait_ms") / 1000)
        series.failures.inc(self._since_last(stats, "requests_errors"))


sampled(PoolStatistics().sample)
