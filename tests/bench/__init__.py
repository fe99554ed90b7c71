"""Benchmarks: run by `nox -s bench`, never collected by pytest (no test_ files here)."""
