"""One result type for every engine (value, interval, samples, method, seed, provenance) and its summaries.
"""
