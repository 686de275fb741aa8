"""Benchmarks for every target of SPEC section 4: `python -m bench` (results in BENCHMARKS.md)."""
