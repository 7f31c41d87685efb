"""Deduplication: text and identity normalization, candidate keys, scoring. Pure: no Flask, database or queue."""
