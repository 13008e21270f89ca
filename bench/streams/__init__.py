"""``productStream`` snapshots over real websockets: time to the first batch,
throughput against a raw server-side cursor, the server's peak memory, and
many streams at once.

One module per scenario, each runnable on its own (``python -m
bench.streams.<scenario>``): ``ttfb``, ``throughput``, ``memory``,
``concurrency``. They share ``harness`` (options, the two databases, servers
with their bounds, the run); ``python -m bench.streams`` runs them all, as
docs/benchmarks.md's figures were taken.
"""
