"""Prometheus metrics of the server (``GET /metrics``), by concern: GraphQL
operations (operations.py), connections and subscriptions by transport
(transports.py), streamed rows and live delivery (streams.py), the database
pool and the change log (database.py), sampled at each scrape and, with
several processes, periodically (sampling.py). The names and labels are
listed in the README, "Metrics"."""
