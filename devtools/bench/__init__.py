"""Benchmarks: each prints figures and asserts nothing; `scripts/bench/<name>` runs `python -m
devtools.bench.<name>`. The figures and their commands are in docs/performance.md."""
