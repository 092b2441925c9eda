"""The near-duplicate stage's MinHash and banded LSH: signatures estimate Jaccard similarity, and sets become
candidates with the banding probability ``1 - (1 - s**r)**b``."""

from __future__ import annotations

import numpy as np
import pytest

from marketwire.news.minhash import BandedLSH, MinHasher, fmix32


def _pair(rng: np.random.Generator, size: int, jaccard: float) -> tuple[np.ndarray, np.ndarray]:
    """Two sets of ``size`` random 64-bit values with exactly the given Jaccard similarity (rounded)."""
    shared = round(2 * size * jaccard / (1 + jaccard))
    pool = rng.integers(0, 2**63, size=2 * size, dtype=np.int64).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    common, rest = pool[:shared], pool[shared:]
    return np.concatenate([common, rest[:size - shared]]), np.concatenate([common, rest[size - shared:2 * (size - shared)]])


def test_fmix32_is_a_bijection_on_a_sample() -> None:
    x = np.arange(200_000, dtype=np.uint32)
    assert np.unique(fmix32(x)).size == x.size


@pytest.mark.parametrize("jaccard", [0.1, 0.25, 0.5, 0.8])
def test_signature_agreement_estimates_jaccard(jaccard: float) -> None:
    rng = np.random.default_rng(7)
    h = MinHasher(128, seed=1)
    estimates = []
    for _ in range(40):
        a, b = _pair(rng, 300, jaccard)
        estimates.append(float((h.signature(a) == h.signature(b)).mean()))
    assert abs(np.mean(estimates) - jaccard) < 0.03


def test_identical_sets_agree_everywhere_and_the_empty_set_is_the_sentinel() -> None:
    h = MinHasher(64, seed=3)
    v = np.array([5, 9, 2**64 - 1], dtype=np.uint64)
    assert (h.signature(v) == h.signature(v[::-1])).all()
    assert (h.signature([]) == 0xFFFFFFFF).all()
    assert not (MinHasher(64, seed=4).signature(v) == h.signature(v)).all()  # the seed draws the permutations


@pytest.mark.parametrize("jaccard", [0.15, 0.25, 0.4])
def test_banded_candidates_follow_the_banding_curve(jaccard: float) -> None:
    bands, rows = 42, 3
    rng = np.random.default_rng(11)
    h = MinHasher(128, seed=1)
    hits, trials = 0, 300
    for i in range(trials):
        a, b = _pair(rng, 200, jaccard)
        lsh = BandedLSH(bands, rows, num_perm=128)
        lsh.insert(i, h.signature(a))
        hits += i in lsh.query(h.signature(b))
    expected = 1 - (1 - jaccard**rows) ** bands
    assert abs(hits / trials - expected) < 0.08, (hits / trials, expected)


def test_remove_forgets_a_key_and_bad_shapes_are_refused() -> None:
    h = MinHasher(128, seed=1)
    lsh = BandedLSH(42, 3, num_perm=128)
    sig = h.signature(np.arange(1, 50, dtype=np.uint64))
    lsh.insert("a", sig)
    with pytest.raises(ValueError, match="already indexed"):
        lsh.insert("a", sig)
    assert lsh.query(sig) == {"a"} and "a" in lsh
    lsh.remove("a")
    assert lsh.query(sig) == set() and len(lsh) == 0
    with pytest.raises(ValueError, match="fit in num_perm"):
        BandedLSH(43, 3, num_perm=128)
