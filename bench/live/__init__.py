"""``productStream(live: true)`` over real websockets: how fast one committed
write reaches many live subscribers, what it costs the server in queries and
CPU, a category discount over 10,000 products, and the same across two server
processes on one PostgreSQL.

One module per scenario, each runnable on its own (``python -m
bench.live.<scenario>``): ``fanout``, ``queries``, ``category_discount``,
``two_processes``. They share ``harness`` (options, database, writer,
servers, the run), ``clients`` (the subscribers' processes) and
``price_changes`` (one price change at a time and its latencies);
``python -m bench.live`` runs them all, as docs/benchmarks.md's figures were
taken.
"""
