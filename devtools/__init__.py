"""Development tooling: the demo office, the all-in-one local run, the embedded PouchDB Server and the
benchmarks. It lives in the checkout only; the installed `segel` package never carries it (pyproject.toml
finds `server`, `sync`, `records` and `store`, and tests/integration/test_packaging.py checks the wheel).

Run it from the repository root, where the checkout is on `sys.path`: `python -m devtools <command>`
(`scripts/run` starts `python -m devtools dev`), `python -m devtools.bench.<name>` (`scripts/bench/<name>`).
"""
