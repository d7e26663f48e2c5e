"""The seed plan and the registry of named random streams: one ``SeedSequence`` per run, no two users alike.

Every random number of a run comes from the root ``SeedSequence(seed)`` through one of three doors, and the
doors cannot meet, by construction of the ``spawn_key`` (numpy turns every key element into 32-bit words
and mixes the words in order; the three forms below never give the same word sequence):

chunk streams, :func:`chunk_rng`
    Chunk ``i`` of a fixed *chunk plan* (:func:`chunk_plan`) draws from child ``(i,)``: one word, and
    ``i < CHUNK_LIMIT``, whatever process, worker or cluster runs it, so tallies added in chunk order give
    the same bits on any backend.
named streams of a chunk, :func:`chunk_streams`
    ``(i, tag, key)``: what chunk ``i`` draws *per named thing* (the outage history of one basic event,
    the switch delays of one redundancy group), keyed by the thing's name, so that a strategy that adds
    or changes some events leaves every other event's history as it was (common random numbers). The tag
    is the purpose's registered number (:data:`STREAMS`) and ``key`` a 63-bit key of the name; two names
    of one call with the same key are refused (:class:`StreamCollision`).
named streams of a run, :func:`named_rng`
    ``(NAMED, tag, *index)`` for draws that belong to no chunk (the caller parameters of a replayed
    incident, a sensitivity design, the pilot of generalized splitting). ``NAMED`` is the reserved word
    ``CHUNK_LIMIT`` that no chunk index can take, and every index element is one word.

A sub-run with a root of its own (a study's replay at one design point) takes :func:`child_seed`: an
integer seed drawn from a child of a given root, which then starts a new seed plan.

The purposes are registered once, here, in :data:`STREAMS` (name -> tag); :func:`register_stream` refuses
a name or a tag that is taken, so two users of a stream cannot collide unknowingly.

Examples
--------
>>> a = named_rng(5, "replay-callers").random()
>>> b = chunk_rng(5, 0).random()
>>> a != b
True
>>> stream_key(5, "replay-callers") != stream_key(5, "sensitivity")
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "CHUNK_LIMIT",
    "STREAMS",
    "StreamCollision",
    "child_rng",
    "child_seed",
    "chunk_plan",
    "chunk_rng",
    "chunk_streams",
    "named_rng",
    "register_stream",
    "root_sequence",
    "stable_key",
    "stream_key",
]

#: Chunk indices and index elements of named streams are below this (one 32-bit word each); the value
#: itself is the reserved first word of every run-level named stream.
CHUNK_LIMIT = 0xFFFF_FFFF

#: The registered purposes: name -> tag (a word). Tags 1 and 2 keep the keys the time engine has always
#: used for its per-event streams, so its draws are unchanged.
STREAMS: dict[str, int] = {}

SeedLike = int | np.random.SeedSequence


class StreamCollision(ValueError):
    """Two streams would share a ``spawn_key``: a name or tag registered twice, or two names of one key."""


def register_stream(name: str, tag: int) -> int:
    """Register the purpose ``name`` under the word ``tag``; a taken name or tag raises.

    Examples
    --------
    >>> register_stream("outages", 99)
    Traceback (most recent call last):
    ...
    model.run.seeds.StreamCollision: stream name 'outages' is registered already (tag 1)
    """
    if name in STREAMS:
        raise StreamCollision(f"stream name {name!r} is registered already (tag {STREAMS[name]})")
    if not 0 < int(tag) < CHUNK_LIMIT:
        raise ValueError(f"tag must lie in 1..{CHUNK_LIMIT - 1}, got {tag}")
    owner = next((n for n, t in STREAMS.items() if t == int(tag)), None)
    if owner is not None:
        raise StreamCollision(f"tag {tag} of stream {name!r} is taken by {owner!r}")
    STREAMS[name] = int(tag)
    return int(tag)


for _name, _tag in (("outages", 1), ("switch-delays", 2), ("replay-callers", 3), ("intervals-callers", 4),
                    ("sensitivity", 5), ("gs-pilot", 6), ("gs-runs", 7), ("latent-tests", 8),
                    ("crew-repairs", 9), ("incident-strata", 10), ("tails-pilot", 14)):
    register_stream(_name, _tag)


def root_sequence(seed: SeedLike) -> tuple[int | Sequence[int] | None, tuple[int, ...]]:
    """``(entropy, spawn_key)`` of the run's root: ``SeedSequence(seed)`` or the sequence given."""
    if isinstance(seed, np.random.SeedSequence):
        return seed.entropy, tuple(int(x) for x in seed.spawn_key)
    return int(seed), ()


def _word(x: int, what: str) -> int:
    x = int(x)
    if not 0 <= x < CHUNK_LIMIT:
        raise ValueError(f"{what} must lie in 0..{CHUNK_LIMIT - 1}, got {x}")
    return x


def stream_key(seed: SeedLike, name: str, *index: int) -> tuple[int, ...]:
    """The ``spawn_key`` of the run-level named stream ``name`` (with integer ``index`` words).

    Examples
    --------
    >>> stream_key(1, "gs-runs", 3)
    (4294967295, 7, 3)
    """
    if name not in STREAMS:
        raise KeyError(f"unknown stream {name!r}; registered: {', '.join(sorted(STREAMS))}")
    _, base = root_sequence(seed)
    return (*base, CHUNK_LIMIT, STREAMS[name], *(_word(i, f"index of stream {name!r}") for i in index))


def named_rng(seed: SeedLike, name: str, *index: int) -> np.random.Generator:
    """Generator of the run-level named stream ``name`` (see the module notes).

    Examples
    --------
    >>> float(named_rng(3, "sensitivity").random()) == float(named_rng(3, "sensitivity").random())
    True
    """
    entropy, _ = root_sequence(seed)
    return np.random.default_rng(np.random.SeedSequence(entropy=entropy, spawn_key=stream_key(seed, name,
                                                                                             *index)))


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


def chunk_rng(seed: SeedLike, chunk_index: int) -> np.random.Generator:
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
    entropy, base = root_sequence(seed)
    return np.random.default_rng(np.random.SeedSequence(
        entropy=entropy, spawn_key=(*base, _word(chunk_index, "chunk_index"))))


def stable_key(name: str) -> int:
    """A 63-bit key of a name, the same in every process and Python session.

    Examples
    --------
    >>> stable_key("a") == stable_key("a") != stable_key("b")
    True
    """
    return int.from_bytes(hashlib.blake2b(str(name).encode(), digest_size=8).digest(), "little") >> 1


def chunk_streams(seed: SeedLike, chunk_index: int, names: Sequence[str], purpose: str
                  ) -> Callable[[int], np.random.Generator]:
    """One stream per named thing of chunk ``chunk_index``: ``spawn_key = (chunk, tag, stable_key(name))``.

    Returns ``get(e)``, the (cached) generator of ``names[e]``. Streams keyed by *name* give common random
    numbers across scenario variants: a strategy that adds or changes some events leaves every other
    event's draws exactly as they were.

    Raises
    ------
    StreamCollision
        Two distinct names of ``names`` have the same key (so would share a stream).

    Examples
    --------
    >>> a = chunk_streams(1, 0, ["x", "y"], "outages")
    >>> b = chunk_streams(1, 0, ["new", "x", "y"], "outages")
    >>> float(a(0).random()) == float(b(1).random())
    True
    """
    if purpose not in STREAMS:
        raise KeyError(f"unknown stream {purpose!r}; registered: {', '.join(sorted(STREAMS))}")
    entropy, base = root_sequence(seed)
    tag = STREAMS[purpose]
    chunk = _word(chunk_index, "chunk_index")
    keys = [stable_key(n) for n in names]
    seen: dict[int, str] = {}
    for n, k in zip(names, keys, strict=True):
        if seen.setdefault(k, n) != n:
            raise StreamCollision(f"names {seen[k]!r} and {n!r} have the same stream key; rename one")
    cache: dict[int, np.random.Generator] = {}

    def get(e: int) -> np.random.Generator:
        g = cache.get(e)
        if g is None:
            ss = np.random.SeedSequence(entropy=entropy, spawn_key=(*base, chunk, tag, keys[e]))
            g = cache[e] = np.random.default_rng(ss)
        return g

    return get


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
    return int(_child(root, key).generate_state(1, np.uint32)[0])


def child_rng(root: np.random.SeedSequence, *key: int) -> np.random.Generator:
    """Generator of child ``key`` of ``root`` (the sequence :func:`child_seed` takes its seed from).

    Examples
    --------
    >>> root = np.random.SeedSequence(7)
    >>> float(child_rng(root, 3).random()) == float(np.random.default_rng(
    ...     np.random.SeedSequence(7, spawn_key=(3,))).random())
    True
    """
    return np.random.default_rng(_child(root, key))


def _child(root: np.random.SeedSequence, key: tuple[int, ...]) -> np.random.SeedSequence:
    return np.random.SeedSequence(entropy=root.entropy, spawn_key=(*root.spawn_key, *(int(k) for k in key)))
