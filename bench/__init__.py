"""Benchmarks: figures live here, never in timed tests (`python -m bench`)."""
