"""The seed plan: one ``SeedSequence`` per run, chunk ``i`` always gets child ``i``.

A run is a fixed *chunk plan* (:func:`chunk_plan`): chunk ``i`` holds a fixed number of units (trials,
replications, simulated years) and draws from :func:`chunk_rng` ``(seed, i)`` whatever process, worker or
cluster runs it, so tallies added in chunk order give the same bits on any backend.
"""

from __future__ import annotations

import numpy as np

__all__ = ["child_seed", "chunk_plan", "chunk_rng"]


def chunk_plan(samples: int, chunk_size: int) -> list[int]:
    """Trials per chunk: ``chunk_size`` each, the last one holding the remainder.

    Examples
    --------
    >>> chunk_plan(150_000, 65_536)
    [65536, 65536, 18928]
    """
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    full, rest = divmod(int(samples), int(chunk_size))
    return [int(chunk_size)] * full + ([rest] if rest else [])


def chunk_rng(seed: int, chunk_index: int) -> np.random.Generator:
    """The generator of chunk ``chunk_index``: child ``(chunk_index,)`` of ``SeedSequence(seed)``.

    Equal to ``SeedSequence(seed).spawn(n)[chunk_index]`` for any ``n > chunk_index``.

    Examples
    --------
    >>> import numpy as np
    >>> a = chunk_rng(5, 3).random()
    >>> b = np.random.default_rng(np.random.SeedSequence(5).spawn(4)[3]).random()
    >>> a == b
    True
    """
    if chunk_index < 0:
        raise ValueError("chunk_index must be >= 0")
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(int(chunk_index),)))


def child_seed(root: np.random.SeedSequence, *key: int) -> int:
    """An integer seed for a run of its own: the first word of child ``key`` of ``root``.

    Child ``(a, b)`` of a root with spawn key ``(k,)`` is the sequence with spawn key
    ``(k, a, b)`` under the same entropy, so distinct keys give independent runs.

    Examples
    --------
    >>> root = np.random.SeedSequence(7).spawn(3)[2]
    >>> child_seed(root, 1, 0) == int(np.random.SeedSequence(7, spawn_key=(2, 1, 0)).generate_state(1)[0])
    True
    >>> child_seed(root, 1, 0) != child_seed(root, 1, 1)
    True
    """
    ss = np.random.SeedSequence(entropy=root.entropy, spawn_key=(*root.spawn_key, *(int(k) for k in key)))
    return int(ss.generate_state(1, np.uint32)[0])
