"""Benchmarks: `python -m benchmarks.<name>`. Figures are medians; never unit tests."""
