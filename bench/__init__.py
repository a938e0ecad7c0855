"""Benchmarks (ack path, sweep, reporting latency, footprint, preflight): `python -m bench`."""
