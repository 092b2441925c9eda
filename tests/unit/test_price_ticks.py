"""Integer ticks of verified bars: the per-run numpy path (series as runs of ``_sid``) gives the same exponents and
ticks as the per-group Polars expressions, on prices that need 0 to 12 decimals, float32 noise, nulls, series
without prices and prices near the 64-bit cap."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from marketwire.prices.ingest import MAX_EXP, _ticks


def _frame(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    runs, per = 400, 50
    sid = np.repeat(np.arange(1, runs + 1), per)
    n = sid.size
    dec = rng.integers(0, 9, n)
    close = np.round(rng.uniform(0.001, 5000, n) * 10.0**dec) / 10.0**dec
    close = np.where(sid % 5 == 0, close.astype(np.float32).astype(np.float64), close)  # float32-noisy vendor
    opn = np.where(sid % 7 == 0, close + rng.uniform(0, 1, n), close)  # another price needs more decimals
    high = np.where(sid % 11 == 0, 1e8 + rng.uniform(0, 1, n), np.maximum(opn, close))  # near the tick cap
    low = np.minimum(opn, close)
    df = pl.DataFrame({"_sid": sid.astype(np.int32), "listing_id": sid.astype(str), "file": "f.csv",
                       "open": opn, "high": high, "low": low, "close": close})
    df = df.with_columns(pl.when(pl.int_range(pl.len()) % 13 == 0).then(None).otherwise(pl.col("open")).alias("open"),
                         pl.when(pl.col("_sid") == 3).then(None).otherwise(pl.col("close")).alias("close"))
    return df.with_columns(pl.when(pl.col("_sid") == 4).then(None).otherwise(pl.col(c)).alias(c)  # no prices
                           for c in ("open", "high", "low", "close"))


@pytest.mark.parametrize("seed", [1, 2])
def test_run_path_equals_group_path(seed: int) -> None:
    df = _frame(seed)
    runs = _ticks(df).drop("_sid")
    groups = _ticks(df.drop("_sid"))  # grouped by listing and file, in Polars
    assert runs.equals(groups)
    exps = set(runs.get_column("price_exp").to_list())
    assert len(exps) >= 4 and max(exps) <= MAX_EXP  # several exponents, the cap among them


def test_exponent_and_ticks_values() -> None:
    df = pl.DataFrame({"_sid": [1, 1, 2, 2, 3], "listing_id": ["a", "a", "b", "b", "c"], "file": "f",
                       "open": [1.5, 2.25, 10.0, None, 3.0], "high": [1.5, 2.25, 10.0, 20.0, 3.0],
                       "low": [1.5, 2.25, 10.0, 20.0, 3.0], "close": [1.5, 2.25, 10.0, 20.0, 3.001]})
    out = _ticks(df)
    assert out.get_column("price_exp").to_list() == [2, 2, 0, 0, 3]
    assert out.get_column("close").to_list() == [150, 225, 10, 20, 3001]
    assert out.get_column("open").to_list() == [150, 225, 10, None, 3000]
