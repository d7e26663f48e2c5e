"""The runner: fixed chunk plan, random streams, backends (serial, processes, Dask), checkpoints, progress.

Engines call the runner; the runner never imports an engine.
"""
