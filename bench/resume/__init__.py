"""Resuming ``productStream`` by its ``resumeToken`` against subscribing
afresh, and the change log that resuming reads: one client reconnecting to
a million products, 100 subscribers through a server restart, and the log's
size held by pruning.

One module per scenario, each runnable on its own (``python -m
bench.resume.<scenario>``): ``reconnect``, ``restart``, ``log_size``. They
share ``harness`` (options, databases, changes by SQL, servers, the run) and
``views`` (the lean live subscribers); ``python -m bench.resume`` runs them
all, as docs/benchmarks.md's figures were taken.
"""
