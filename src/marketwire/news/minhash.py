"""MinHash signatures and a banded LSH index for the near-duplicate stage, in NumPy.

The inputs are already uniform 64-bit shingle hashes (:func:`marketwire.news.dedup.shingles`). Each is folded to 32
bits and mixed once by the MurmurHash3 finalizer (a bijection that spreads structured inputs); permutation ``k`` is
the affine map ``h -> a_k * h + b_k (mod 2**32)`` with ``a_k`` odd, a bijection of the 32-bit range, so it adds no
collisions. A signature is the minimum of each permutation over the set: two sets agree at a position with
probability equal to their Jaccard similarity.

:class:`BandedLSH` splits a signature into ``bands`` bands of ``rows`` values; two sets become candidates when they
agree on every value of at least one band, which happens with probability ``1 - (1 - s**rows)**bands`` for Jaccard
``s``. Candidates are only candidates: the index verifies them on the shingle sets themselves.

This replaces the ``datasketch`` package, whose import pulls in SciPy's integration routines (about a second of every
cold ``marketwire news add``) for a parameter optimiser the index never uses.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable

import numpy as np

__all__ = ["BandedLSH", "MinHasher"]

_M1 = np.uint32(0x85EBCA6B)
_M2 = np.uint32(0xC2B2AE35)
_EMPTY = np.uint32(0xFFFFFFFF)


def fmix32(h: np.ndarray) -> np.ndarray:
    """The MurmurHash3 32-bit finalizer, element-wise (multiplications wrap modulo 2**32)."""
    h = h.astype(np.uint32, copy=True)
    h ^= h >> np.uint32(16)
    h *= _M1
    h ^= h >> np.uint32(13)
    h *= _M2
    h ^= h >> np.uint32(16)
    return h


class MinHasher:
    """``num_perm`` affine permutations drawn from ``seed``; :meth:`signature` of a set of 64-bit hashes."""

    def __init__(self, num_perm: int = 128, seed: int = 1) -> None:
        if num_perm < 1:
            raise ValueError("num_perm must be at least 1")
        rng = np.random.RandomState(seed)
        self.num_perm = num_perm
        self.a = (rng.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1))[:, None]
        self.b = rng.randint(0, 1 << 32, num_perm, dtype=np.uint64).astype(np.uint32)[:, None]

    def signature(self, values: np.ndarray | list[int]) -> np.ndarray:
        """The ``num_perm`` minima (uint32) over ``values``; all ``0xFFFFFFFF`` for an empty set."""
        v = np.asarray(values, dtype=np.uint64)
        if v.size == 0:
            return np.full(self.num_perm, _EMPTY, dtype=np.uint32)
        h = fmix32((v & np.uint64(0xFFFFFFFF)).astype(np.uint32))
        out = np.full(self.num_perm, _EMPTY, dtype=np.uint32)
        for i in range(0, h.size, 4096):  # bounded scratch: num_perm x 4096 values at a time
            part = self.a * h[None, i:i + 4096] + self.b
            np.minimum(out, part.min(axis=1), out=out)
        return out


class BandedLSH:
    """Candidates by band equality: ``bands`` x ``rows`` values of each signature (the rest are unused)."""

    def __init__(self, bands: int, rows: int, num_perm: int) -> None:
        if bands < 1 or rows < 1 or bands * rows > num_perm:
            raise ValueError(f"bands x rows must fit in num_perm ({bands} x {rows} > {num_perm})")
        self.bands, self.rows = bands, rows
        self._tables: list[defaultdict[bytes, set[Hashable]]] = [defaultdict(set) for _ in range(bands)]
        self._keys: dict[Hashable, list[bytes]] = {}

    def _bands(self, sig: np.ndarray) -> list[bytes]:
        r = self.rows
        return [sig[i * r:(i + 1) * r].tobytes() for i in range(self.bands)]

    def __contains__(self, key: Hashable) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def insert(self, key: Hashable, sig: np.ndarray) -> None:
        if key in self._keys:
            raise ValueError(f"key {key!r} is already indexed")
        parts = self._bands(sig)
        self._keys[key] = parts
        for table, part in zip(self._tables, parts, strict=True):
            table[part].add(key)

    def remove(self, key: Hashable) -> None:
        parts = self._keys.pop(key)
        for table, part in zip(self._tables, parts, strict=True):
            bucket = table[part]
            bucket.discard(key)
            if not bucket:
                del table[part]

    def query(self, sig: np.ndarray) -> set[Hashable]:
        out: set[Hashable] = set()
        for table, part in zip(self._tables, self._bands(sig), strict=True):
            bucket = table.get(part)
            if bucket:
                out |= bucket
        return out
