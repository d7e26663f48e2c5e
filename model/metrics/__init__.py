"""Metrics over engine results: strategy comparison with common random numbers, summaries of replications,
sensitivity and uncertainty.
"""
