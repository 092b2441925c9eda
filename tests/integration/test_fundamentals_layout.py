"""Statement layouts on disk (built at ingest, read memory-mapped) give the same statements as the issuer's facts read
from the lake, for random dates, statements and period kinds; a table written around the ingest engine makes the
store stale (reads go back to the lake) until ``build_layouts``."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import shared_data

pytestmark = pytest.mark.integration

FUND = shared_data() / "fundamentals"
FILES = [FUND / "companyfacts" / "sec_companyfacts_MRVL_CIK0001835632.json",
         FUND / "sec_companyfacts_SNOW_CIK0001640147.json"]


def _lake_path(mw, cik: int, stmt: str, period: str, when: date) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    svc = mw.fundamentals
    f, _ = svc.company(cik)
    return svc._statement(f, stmt, period, when)


def test_layouts_match_the_lake_and_go_stale(tmp_path: Path) -> None:
    if not all(p.is_file() for p in FILES):
        pytest.skip("shared fundamentals data not found (set MARKETWIRE_DATA)")
    import marketwire
    from marketwire.datasets import fundamentals as F

    mw = marketwire.open(tmp_path / "home")
    mw.ingest("sec-companyfacts", [FILES[0]])
    mw.ingest("sec-companyfacts", [FILES[1]])  # the second delivery keeps the store current (incremental)
    svc = mw.fundamentals
    m = svc.layouts.manifest()
    assert m["version"] == mw.lake.version(F.SEC_FACTS) and set(m["issuers"]) == {"1835632", "1640147"}
    rng = random.Random(5)
    for _ in range(40):
        cik = rng.choice([1835632, 1640147])
        stmt = rng.choice(["income", "balance", "cash_flow"])
        period = rng.choice(["annual", "quarter", "ttm"])
        when = date(2020, 6, 1) + timedelta(days=rng.randrange(6 * 365))
        lay = svc.stored_layout(cik)
        assert lay is not None
        got = svc._statement(None, stmt, period, when, lay=lay)
        want = _lake_path(mw, cik, stmt, period, when)
        assert got.height == want.height
        assert got.equals(want), (cik, stmt, period, when)
        assert got.filter(pl.col("filed") > when).height == 0
    # written around the engine: the store no longer matches the table, reads use the lake
    base = pl.from_arrow(mw.lake.read(F.SEC_FACTS, latest=False)).filter(pl.col("cik") == 1835632)
    mw.lake.append(F.SEC_FACTS, base.with_columns(pl.lit(999_000_001, pl.Int64).alias("cik")).to_arrow())
    assert svc.stored_layout(1835632) is None
    s = svc.statement("CIK:999000001", "income", period="annual", as_of="2024-06-30")
    assert s.height > 0
    built = svc.build_layouts()
    assert built["issuers"] == 3 and built["bytes"] > 0
    assert svc.stored_layout(999_000_001) is not None
    assert svc.statement("CIK:999000001", "income", period="annual", as_of="2024-06-30").equals(s)
