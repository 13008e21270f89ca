"""Benchmarks of the catalog API, run by hand against a seeded database (see
docs/benchmarks.md). Not part of the served application."""
