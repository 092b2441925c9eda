"""Prices on the real files of the shared data: known answers, fixtures, reconciliation, FX."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import marketwire

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def quandl(prices_dir, tmp_path_factory):
    mw = marketwire.open(tmp_path_factory.mktemp("quandl"))
    table = prices_dir / "zipline_samples" / "QUANDL_WIKI_SAMPLE_TABLE_2014.csv"
    rep = mw.ingest("prices-csv", [table], preset="quandl-wiki")
    assert (rep.accepted, rep.quarantined, rep.flagged) == (916, 0, 0)
    return mw, pl.read_csv(table, try_parse_dates=True)


@pytest.mark.parametrize("ticker", ["AAPL", "MSFT"])
def test_quandl_adjusted_close_is_reproduced_by_the_ex_close_convention(quandl, ticker):
    mw, q = quandl
    ours = mw.prices(ticker, adjust="total_return", convention="ex_close", output="polars")
    theirs = q.filter(pl.col("ticker") == ticker).sort("date")
    assert ours.get_column("date").to_list() == theirs.get_column("date").to_list()
    a, b = ours.get_column("close").to_numpy(), theirs.get_column("adj_close").to_numpy()
    assert np.max(np.abs((a / a[-1]) / (b / b[-1]) - 1)) < 1e-9
    crsp = mw.prices(ticker, adjust="total_return", output="polars").get_column("close").to_numpy()
    assert np.max(np.abs((crsp / crsp[-1]) / (b / b[-1]) - 1)) > 1e-6  # the convention matters, so it is named


def test_quandl_split_only_adjustment_is_exact(quandl):
    mw, q = quandl
    raw = mw.prices("AAPL", output="polars")
    spl = mw.prices("AAPL", adjust="splits", output="polars")
    pre = raw.get_column("date") < pl.date(2014, 6, 9)
    assert (spl.filter(pre).get_column("close") == raw.filter(pre).get_column("close") / 7.0).all()
    assert (spl.filter(~pre).get_column("close") == raw.filter(~pre).get_column("close")).all()
    theirs = q.filter(pl.col("ticker") == "AAPL").sort("date").get_column("close")
    assert raw.get_column("close").to_list() == theirs.to_list()  # the raw closes are stored exactly
    acts = mw.actions("AAPL")
    assert [(a["ex_date"].isoformat(), a["type"], a["value"]) for a in acts] == [
        ("2014-02-06", "dividend", 3.05), ("2014-05-08", "dividend", 3.29), ("2014-06-09", "split", 7.0),
        ("2014-08-07", "dividend", 0.47), ("2014-11-06", "dividend", 0.47)]


def test_two_sources_are_reconciled_and_the_disagreement_recorded(prices_dir, tmp_path):
    """The zipline csvdir AAPL file says raw but is split-adjusted: its split has no jump, and its closes before
    the 7:1 split are a seventh of Quandl's."""
    mw = marketwire.open(tmp_path)
    z = prices_dir / "zipline_samples"
    rep = mw.ingest("prices-csv", [z / "QUANDL_WIKI_SAMPLE_TABLE_2014.csv", z / "csvdir_daily_AAPL.csv"])
    assert rep.by_rule.get("split.mismatch") == 1
    dis = mw.disagreements("AAPL")
    assert len(dis) == 108  # the 2014 sessions before 2014-06-09
    assert {d["date"].isoformat() < "2014-06-09" for d in dis} == {True}
    assert all(abs(d["value_a"] / d["value_b"] - 7.0) < 1e-4 for d in dis
               if d["source_a"].endswith("quandl-wiki"))
    bad = next(a for a in mw.actions("AAPL") if a["type"] == "split" and a["source"].endswith("csvdir"))
    assert bad["flags"] == "split.mismatch"
    q = mw.quality("AAPL")
    assert {s["source"] for s in q["sources"]} == {"prices-csv:quandl-wiki", "prices-csv:zipline-csvdir"}
    assert q["disagreements"] == 108


def test_kaggle_ibm_full_history(prices_dir, tmp_path):
    mw = marketwire.open(tmp_path)
    rep = mw.ingest("prices-csv", [prices_dir / "huge_stock_market_dataset" / "Stocks" / "ibm.us.txt"])
    assert rep.accepted + rep.quarantined == 14059
    df = mw.prices("IBM")
    assert len(df) == rep.accepted and str(df["date"].iloc[0].date()) == "1962-01-02" and df.attrs["basis"] == "adjusted"
    assert df["close"].iloc[-1] == 149.16
    size = mw.bars_size()
    assert size["rows"] == rep.accepted and size["bytes_per_row"] < 16


def test_yfinance_fixtures(prices_dir):
    from conftest import benchmark_module

    rules = benchmark_module("price_rules")
    evaluate, table = rules.evaluate, rules.table
    rows = evaluate(prices_dir / "yfinance_repair_fixtures")
    by = {r["file"]: r for r in rows}
    for f in ("AET-L-1d-100x-error.csv", "SSW-JO-1d-100x-error.csv", "ASAI-L-1h-bad-unit.csv"):
        assert by[f]["caught"] and "bar.unit_jump" in by[f]["rules"], f
    clean = [r for r in rows if r["kind"] == "clean"]
    assert len(clean) == 7 and all(r["quarantined"] == 0 and not r["error"] for r in clean)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "prices.md").read_text()
    assert table(rows) in doc, "docs/prices.md is stale: python benchmarks/price_rules.py FOLDER"


def test_ecb_rates_cross_through_eur(prices_dir, tmp_path):
    mw = marketwire.open(tmp_path)
    rep = mw.ingest("ecb-fx", [prices_dir / "ecb_eurofxref-hist_1999-2026.csv"])
    assert rep.quarantined == 0 and rep.accepted > 200_000
    jpy = mw.fx("USD", "JPY", start="2026-10-30", end="2026-10-30").get_column("rate").item()
    assert jpy == pytest.approx(175.68 / 1.1172, rel=1e-12)
    again = mw.ingest("ecb-fx", [prices_dir / "ecb_eurofxref-hist_1999-2026.csv"])
    assert again.accepted == 0
