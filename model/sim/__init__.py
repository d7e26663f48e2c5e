"""The time engine: time model, routing, capacity (Erlang), callers, simulated years and incident replays.
"""
