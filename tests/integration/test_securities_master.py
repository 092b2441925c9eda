"""The securities master on the real files in shared data (skipped when the data is absent)."""

from __future__ import annotations

import csv
import glob
from datetime import date
from pathlib import Path

import pytest

import marketwire

pytestmark = pytest.mark.integration

FD_AS_OF = "2026-08-16"  # the FinanceDatabase commit date; its files carry no date of their own


def _plan(sm: Path) -> list[tuple[str, list[str], str | None]]:
    return [
        ("mic", [str(sm / "ISO10383_MIC_2025-05.csv")], None),
        ("iso3166", [str(sm / "iso3166-1_pycountry.json")], None),
        ("iso4217", [str(sm / "iso4217_list_one_2026-01-01.xml")], None),
        ("nasdaqtrader", [str(sm / "nasdaq-listed-symbols_2015-01-10.csv"),
                          str(sm / "nasdaqtrader-other-listed_2015-01-10.csv")], None),
        ("nasdaqtrader", [str(sm / "nasdaq-listed-symbols_2026-08-01.csv"),
                          str(sm / "nasdaqtrader-other-listed_2026-08-22.csv"),
                          str(sm / "nyse-listed_2026-08-22.csv")], None),
        ("financedatabase", [str(sm / "financedatabase")], FD_AS_OF),
        ("sec-tickers", [str(sm / "sec_company_tickers.json")], FD_AS_OF),
        ("sp500-constituents", sorted(glob.glob(str(sm / "sp500-constituents-history" / "*.csv")))
         + [str(sm / "sp500-constituents_2026-08-08.csv")], None),
    ]


@pytest.fixture(scope="module")
def loaded(securities_master, tmp_path_factory):
    home = tmp_path_factory.mktemp("mw")
    mw = marketwire.open(home)
    reports = [mw.ingest(src, paths, as_of, rebuild=False) for src, paths, as_of in _plan(securities_master)]
    mw.rebuild()
    return mw, reports, securities_master


def test_every_file_ingests_and_refusals_are_quarantined_with_a_rule(loaded):
    mw, reports, sm = loaded
    assert all(r.files >= 1 for r in reports)
    q = mw.quarantine()
    assert sum(r.quarantined for r in reports) == len(q) > 0
    assert all(row["rule"] and row["source"] and row["raw"] for row in q)
    rules = {row["rule"] for row in q}
    assert "listing.test_issue" in rules and "record.out_of_scope" in rules


def test_second_ingest_adds_nothing(loaded):
    mw, _, sm = loaded
    n_q = len(mw.quarantine())
    for src, paths, as_of in _plan(sm)[3:5]:
        r = mw.ingest(src, paths, as_of, rebuild=False)
        assert (r.accepted, r.quarantined) == (0, 0) and r.unchanged > 0
    assert len(mw.quarantine()) == n_q


@pytest.mark.parametrize("ticker,old,new", [
    ("AI", "Arlington", "C3.ai"), ("ACET", "Aceto", "Adicet"), ("B", "Barnes", "Barrick"),
])
def test_recycled_tickers_point_in_time(loaded, ticker, old, new):
    mw, _, _ = loaded
    a = mw.resolve(ticker, "2015-01-10")
    b = mw.resolve(ticker, "2026-08-01")
    assert len(a) == 1 and len(b) == 1
    assert a[0]["name"].startswith(old) and b[0]["name"].startswith(new)
    assert a[0]["security_id"] != b[0]["security_id"]


def test_renames_keep_ids(loaded):
    mw, _, _ = loaded
    a, b = mw.resolve("ADBE", "2015-01-10")[0], mw.resolve("ADBE", "2026-08-01")[0]
    assert (a["listing_id"], a["security_id"]) == (b["listing_id"], b["security_id"])
    assert "Systems" in a["name"] and "Systems" not in b["name"]


def test_sanofi_is_one_security_with_listings_across_venues(loaded):
    mw, _, _ = loaded
    [s] = mw.resolve("FR0000120578", "2026-09-01")
    venues = {(x["mic"], x["currency"]) for x in s["listings"]}
    assert {("XPAR", "EUR"), ("XETR", "EUR"), ("XNSE", "INR"), ("XMIL", "EUR")} <= venues
    assert len(s["listings"]) >= 15
    assert s["identifiers"]["isin"] == "FR0000120578"
    for sym in ("SAN.PA", "SAN@XPAR"):
        [m] = mw.resolve(sym, "2026-09-01")
        assert m["security_id"] == s["security_id"] and m["mic"] == "XPAR"


def test_suspect_identifiers_are_flagged(loaded):
    mw, _, _ = loaded
    counts = mw.flag_counts()
    assert counts.get("isin.country_mismatch", 0) > 0
    assert counts.get("figi.shared", 0) > 0
    # a flagged listing says so when resolved
    f = mw.flags("isin.country_mismatch")[0]
    m = mw.resolve(f["entity_id"], "2026-09-01")[0]
    assert "isin.country_mismatch" in m["flags"]


def _snapshot(path: str) -> set[str]:
    with open(path, encoding="utf-8") as fh:
        return {r["Symbol"].strip().upper().replace("-", ".") for r in csv.DictReader(fh)}


def test_sp500_membership_equals_each_snapshot(loaded):
    mw, _, sm = loaded
    files = sorted(glob.glob(str(sm / "sp500-constituents-history" / "*.csv"))) + \
        [str(sm / "sp500-constituents_2026-08-08.csv")]
    for f in files:
        d = date.fromisoformat(Path(f).stem.split("_")[-1])
        got = {m["ticker"] for m in mw.members("SP500", d)}
        assert got == _snapshot(f), f


def test_prices_attach_to_master_listings(loaded, prices_dir):
    """Kaggle files name US tickers; the master resolves them (as of the file's last date) to its listings, so
    an ISIN or ticker@MIC reaches the bars, and only unknown symbols become provisional listings."""
    mw, _, _ = loaded
    stocks = prices_dir / "huge_stock_market_dataset" / "Stocks"
    rep = mw.ingest("prices-csv", [stocks / "ibm.us.txt", stocks / "ge.us.txt"], preset="kaggle")
    assert rep.provisional == 0 and rep.listings == 2
    ibm = mw.resolve("IBM@XNYS")[0]
    assert mw.price_listing("IBM") == ibm["listing_id"]
    assert mw.prices(ibm["identifiers"]["isin"]).attrs["listing_id"] == ibm["listing_id"]
    assert len(mw.prices("IBM@XNYS")) == rep.accepted - len(mw.prices("GE"))
