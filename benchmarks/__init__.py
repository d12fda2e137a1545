"""Benchmarks: they report figures (JSON and charts); they never assert times."""
