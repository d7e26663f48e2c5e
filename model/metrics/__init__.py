"""Metrics over engine results: strategy comparison with common random numbers, sensitivity and uncertainty.
"""
