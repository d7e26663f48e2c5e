"""Packed trial bits: 64 trials (or failed sets) per ``uint64`` word.

The one bit layout every engine shares: bit ``t & 63`` of word ``t >> 6`` is trial ``t``; little-endian
within a word. Sampling writes it, the reachability kernel reads it, the tallies count it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["or_pairs_into", "pack_bool", "pack_sets", "popcount", "unpack_bits"]

_ONE = np.uint64(1)


def popcount(words: np.ndarray, axis: int | None = -1) -> np.ndarray:
    """Number of set bits of ``uint64`` words, summed along ``axis`` (None: per word).

    Examples
    --------
    >>> import numpy as np
    >>> popcount(np.array([[0, 1, 2**63 + 3]], dtype=np.uint64)).tolist()
    [4]
    """
    words = np.asarray(words, dtype=np.uint64)
    if hasattr(np, "bitwise_count"):
        per = np.bitwise_count(words).astype(np.int64)
    else:  # numpy < 2.0
        table = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)
        per = table[words.view(np.uint8)].reshape(*words.shape, 8).sum(axis=-1)
    return per if axis is None else per.sum(axis=axis)


def unpack_bits(words: np.ndarray, n_trials: int) -> np.ndarray:
    """Boolean ``(..., n_trials)`` array from packed ``(..., W)`` words.

    Examples
    --------
    >>> import numpy as np
    >>> unpack_bits(np.array([5], dtype=np.uint64), 4).tolist()
    [True, False, True, False]
    """
    words = np.ascontiguousarray(words, dtype="<u8")
    bits = np.unpackbits(words.view(np.uint8), axis=-1, bitorder="little")
    return bits[..., :n_trials].astype(bool)


def pack_bool(b: np.ndarray) -> np.ndarray:
    """Pack a boolean ``(R, T)`` array into ``(R, ceil(T/64))`` uint64 words."""
    r, t = b.shape
    w = -(-t // 64)
    padded = np.zeros((r, w * 64), dtype=bool)
    padded[:, :t] = b
    return np.packbits(padded, axis=1, bitorder="little").view("<u8").astype(np.uint64)


def or_pairs_into(words: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
    """Set bit ``cols`` of row ``rows`` in packed ``words`` (pairs sorted by row, then col)."""
    if rows.size == 0:
        return
    n_words = words.shape[1]
    key = rows * n_words + (cols >> 6)
    bits = _ONE << (cols & 63).astype(np.uint64)
    if key.size > 1 and not bool(np.all(key[1:] >= key[:-1])):
        order = np.argsort(key, kind="stable")
        key, bits = key[order], bits[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    flat = words.reshape(-1)
    flat[key[starts]] |= np.bitwise_or.reduceat(bits, starts)


def pack_sets(set_ptr: np.ndarray, members: np.ndarray, n_components: int) -> np.ndarray:
    """Packed ``(n_components, ceil(n_sets/64))`` down bits, one failed set per bit.

    Set ``j`` holds ``members[set_ptr[j]:set_ptr[j+1]]``.

    Examples
    --------
    >>> import numpy as np
    >>> pack_sets(np.array([0, 2, 2, 3]), np.array([0, 2, 2]), 3).tolist()
    [[1], [0], [5]]
    """
    set_ptr = np.asarray(set_ptr, dtype=np.int64)
    members = np.asarray(members, dtype=np.int64)
    n_sets = set_ptr.size - 1
    words = np.zeros((n_components, max(1, -(-n_sets // 64))), dtype=np.uint64)
    owner = np.repeat(np.arange(n_sets, dtype=np.int64), np.diff(set_ptr))
    or_pairs_into(words, members, owner)
    return words
