"""Scenario files: schema, loading (``extends``, ``remove``), strategies as overlays.
"""
