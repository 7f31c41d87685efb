"""Benchmarks a city's engineer can run: `python -m bench.<name>` (intake, dispatch, supervision)."""
