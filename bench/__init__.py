"""Benchmarks for issue 5 (ack path, sweep, reporting latency, footprint, preflight): `python -m bench`."""
