"""Company linking on the held-out wire stories (benchmarks/news_linking/heldout.txt) against the reference master
built from the shared files: at least 90% of mentions linked to the right issuer, at most 2% spurious links.

Building the master takes a few minutes; ``MARKETWIRE_LINKING_HOME`` names a lake that already holds it (the one
``make run`` builds) to skip that."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

import marketwire
from conftest import benchmark_module  # type: ignore[import-not-found]

pytestmark = pytest.mark.integration

B = benchmark_module("news_linking")


def _plan(sm: Path) -> list[tuple[str, list[str], str | None]]:
    """The reference sources in the order tools/load_reference.sh loads them (no prices)."""
    fd = "2026-08-16"  # the FinanceDatabase commit date; its files carry no date of their own
    return [
        ("mic", [str(sm / "ISO10383_MIC_2025-05.csv")], None),
        ("iso3166", [str(sm / "iso3166-1_pycountry.json")], None),
        ("iso4217", [str(sm / "iso4217_list_one_2026-01-01.xml")], None),
        ("nasdaqtrader", [str(sm / "nasdaq-listed-symbols_2015-01-10.csv"),
                          str(sm / "nasdaqtrader-other-listed_2015-01-10.csv")], None),
        ("nasdaqtrader", [str(sm / "nasdaq-listed-symbols_2026-08-01.csv"),
                          str(sm / "nasdaqtrader-other-listed_2026-08-22.csv"),
                          str(sm / "nyse-listed_2026-08-22.csv")], None),
        ("financedatabase", [str(sm / "financedatabase")], fd),
        ("sec-tickers", [str(sm / "sec_company_tickers.json")], fd),
        ("sp500-constituents", sorted(glob.glob(str(sm / "sp500-constituents-history" / "*.csv")))
         + [str(sm / "sp500-constituents_2026-08-08.csv")], None),
    ]


@pytest.fixture(scope="module")
def home(securities_master, tmp_path_factory) -> str:
    given = os.environ.get("MARKETWIRE_LINKING_HOME")
    if given:
        return given
    h = tmp_path_factory.mktemp("linking")
    mw = marketwire.open(h)
    for src, paths, as_of in _plan(securities_master):
        mw.ingest(src, paths, as_of, rebuild=False)
    mw.rebuild()
    return str(h)


def test_held_out_linking_meets_the_bar(home):
    ann, rows = B.annotator(home)
    r = B.evaluate(B.parse(B.SETS["held-out"]), ann, rows)
    assert r["unknown_keys"] == []
    assert r["stories"] >= 40
    assert r["recall"] >= B.MIN_RIGHT, r["errors"]
    assert r["spurious_share"] <= B.MAX_SPURIOUS, r["errors"]
    assert B.meets(r)
