"""Provisional price listings join the master listing backward when the evidence agrees, and only then.

A master that first knows its tickers from a 2015-01-10 Nasdaq snapshot, and price files of 2014: real rows of the
shared data (the Quandl WIKI sample, the zipline csvdir file, the Kaggle files), cut to what each case needs. The
recycled-ticker cases give one symbol the real prices of two different companies.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from marketwire.cli import main
from marketwire.errors import OutsideCoverage

pytestmark = pytest.mark.e2e

NASDAQ_2015 = "Symbol,Company Name\nAAPL,Apple Inc. \nXYZ,Xyz Corporation \n"
NASDAQ_2016 = "Symbol,Company Name\nAAPL,Apple Inc. \nXYZ,Xyz Corporation \nNEWC,Newco Holdings Inc. \n"
KAGGLE_HEADER = "Date,Open,High,Low,Close,Volume,OpenInt\n"


def run(home: Path, *args: str):
    r = CliRunner().invoke(main, ["--home", str(home), *args])
    assert "Traceback" not in (r.output + (r.stderr or "")), r.output + (r.stderr or "")
    return r


def quandl_rows(prices_dir: Path, ticker: str, as_symbol: str | None = None) -> str:
    src = (prices_dir / "zipline_samples" / "QUANDL_WIKI_SAMPLE_TABLE_2014.csv").read_text().splitlines()
    rows = [line for line in src[1:] if line.split(",", 1)[0] == ticker]
    assert rows, ticker
    return "\n".join([src[0]] + [(as_symbol or ticker) + line[len(ticker):] for line in rows]) + "\n"


def kaggle_rows(prices_dir: Path, name: str, start: str, end: str) -> str:
    src = (prices_dir / "huge_stock_market_dataset" / "Stocks" / f"{name}.us.txt").read_text().splitlines()
    return KAGGLE_HEADER + "\n".join(r for r in src[1:] if start <= r[:10] <= end) + "\n"


@pytest.fixture()
def lake(tmp_path: Path, prices_dir: Path) -> Path:
    """The master (2015-01-10 snapshot) with Apple's 2015-2016 Kaggle bars, then the 2014 files."""
    h = tmp_path / "h"
    (tmp_path / "nasdaqlisted_2015-01-10.csv").write_text(NASDAQ_2015)
    assert run(h, "ingest", "nasdaqtrader", str(tmp_path / "nasdaqlisted_2015-01-10.csv")).exit_code == 0
    (tmp_path / "aapl.us.txt").write_text(kaggle_rows(prices_dir, "aapl", "2013-06-01", "2016-12-31"))
    assert run(h, "ingest", "prices-csv", str(tmp_path / "aapl.us.txt"), "--preset", "kaggle").exit_code == 0
    return h


def test_apple_2014_joins_backward_and_every_lookup_answers(lake: Path, tmp_path: Path, prices_dir: Path) -> None:
    (tmp_path / "quandl.csv").write_text(quandl_rows(prices_dir, "AAPL"))
    r = run(lake, "ingest", "prices-csv", str(tmp_path / "quandl.csv"), "--preset", "quandl-wiki")
    assert r.exit_code == 0, r.output
    # the Quandl file's split day, as the file gives it: 645.57 on 2014-06-06, 93.70 on the 9th
    r = run(lake, "prices", "AAPL", "--start", "2014-06-05", "--end", "2014-06-10", "--format", "csv")
    assert r.exit_code == 0, r.output + r.stderr
    assert [x.split(",")[4] for x in r.stdout.splitlines()[1:]] == ["647.35", "645.57", "93.7", "94.25"]
    r = run(lake, "prices", "AAPL", "--source", "prices-csv:quandl-wiki", "--start", "2014-12-31", "--format", "csv")
    assert r.stdout.splitlines()[1:] == ["2014-12-31,112.82,113.13,110.21,110.38,41403351"]
    acts = json.loads(run(lake, "actions", "AAPL", "--format", "json").stdout)
    assert [(a["ex_date"], a["type"], a["value"]) for a in acts] == [
        ("2014-02-06", "dividend", 3.05), ("2014-05-08", "dividend", 3.29), ("2014-06-09", "split", 7.0),
        ("2014-08-07", "dividend", 0.47), ("2014-11-06", "dividend", 0.47)]
    # the decision and its evidence: returns agree on the 2014 dates both series hold
    master = json.loads(run(lake, "listing", "AAPL", "--format", "json").stdout)
    [prov] = master["merged_ids"]
    [d] = json.loads(run(lake, "merges", "AAPL", "--format", "json").stdout)
    assert (d["old_id"], d["new_id"], d["action"], d["direction"]) == (prov, master["listing_id"], "joined",
                                                                        "backward")
    ov = d["evidence"]["overlap"]
    assert ov["first_common"] == "2014-01-02" and ov["last_common"] == "2014-12-31"
    assert ov["returns"] >= 240 and ov["agree"] / ov["returns"] >= 0.95
    # every id a user sees answers in every lookup
    for ident in (prov, master["listing_id"], "AAPL", "AAPL@XNAS"):
        m = json.loads(run(lake, "listing", ident, "--format", "json").stdout)
        assert m["listing_id"] == master["listing_id"], ident
        assert json.loads(run(lake, "security", ident, "--format", "json").stdout)["security_id"] == \
            master["security_id"]
        r = run(lake, "prices", ident, "--source", "prices-csv:quandl-wiki", "--start", "2014-06-09", "--end",
                "2014-06-09", "--format", "csv")
        assert r.stdout.splitlines()[1:] == ["2014-06-09,92.7,93.88,91.75,93.7,75414997"], ident
        assert len(json.loads(run(lake, "actions", ident, "--format", "json").stdout)) == 5
        q = json.loads(run(lake, "quality", ident).stdout)
        assert q["listing_id"] == master["listing_id"]
        assert {(s["listing_id"], s["source"]) for s in q["sources"]} == {
            (master["listing_id"], "prices-csv:kaggle"), (prov, "prices-csv:quandl-wiki")}
        assert run(lake, "disagreements", ident, "--format", "json").exit_code == 0


def test_zipline_split_adjusted_closes_are_disagreements_of_the_joined_listing(lake: Path, tmp_path: Path,
                                                                               prices_dir: Path) -> None:
    (tmp_path / "quandl.csv").write_text(quandl_rows(prices_dir, "AAPL"))
    run(lake, "ingest", "prices-csv", str(tmp_path / "quandl.csv"), "--preset", "quandl-wiki")
    src = (prices_dir / "zipline_samples" / "csvdir_daily_AAPL.csv").read_text().splitlines()
    zdir = tmp_path / "zipline"
    zdir.mkdir()
    (zdir / "AAPL.csv").write_text("\n".join([src[0]] + [x for x in src[1:] if x >= "2014-01-01"]) + "\n")
    assert run(lake, "ingest", "prices-csv", str(zdir / "AAPL.csv"), "--preset", "zipline-csvdir").exit_code == 0
    rows = json.loads(run(lake, "disagreements", "AAPL", "--format", "json").stdout)
    before = [r for r in rows if r["date"] < "2014-06-09" and {r["source_a"], r["source_b"]} ==
              {"prices-csv:quandl-wiki", "prices-csv:zipline-csvdir"}]
    # the zipline file holds closes divided by 7 before the split: 553.13 (Quandl) against 79.02 (zipline)
    first = before[0]
    assert first["date"] == "2014-01-02" and first["compared"] == "levels"
    vals = {first["source_a"]: first["value_a"], first["source_b"]: first["value_b"]}
    assert vals["prices-csv:quandl-wiki"] == pytest.approx(553.13)
    assert vals["prices-csv:zipline-csvdir"] == pytest.approx(553.13 / 7, rel=1e-4)
    assert len(before) > 100


def test_a_reversed_join_stays_reversed(lake: Path, tmp_path: Path, prices_dir: Path) -> None:
    (tmp_path / "quandl.csv").write_text(quandl_rows(prices_dir, "AAPL"))
    run(lake, "ingest", "prices-csv", str(tmp_path / "quandl.csv"), "--preset", "quandl-wiki")
    [prov] = json.loads(run(lake, "listing", "AAPL", "--format", "json").stdout)["merged_ids"]
    r = run(lake, "unmerge", prov)
    assert r.exit_code == 0 and prov in r.stdout
    r = run(lake, "unmerge", prov)
    assert r.exit_code == 3 and "is not merged into another listing" in r.stderr
    r = run(lake, "prices", "AAPL", "--source", "prices-csv:quandl-wiki")
    assert r.exit_code == 3 and "sources: prices-csv:kaggle" in r.stderr
    m = json.loads(run(lake, "listing", prov, "--format", "json").stdout)
    assert m["status"] == "provisional" and m["listing_id"] == prov and m["security_id"] is None
    assert run(lake, "security", prov).exit_code == 3
    run(lake, "rebuild")  # a rebuild re-runs the joins: a reversed pair is not joined again
    assert "merged_ids" not in json.loads(run(lake, "listing", "AAPL", "--format", "json").stdout)
    actions = [d["action"] for d in json.loads(run(lake, "merges", prov, "--format", "json").stdout)]
    assert actions == ["joined", "reversed"]


def test_recycled_ticker_with_other_prices_where_both_have_data_is_not_joined(tmp_path: Path,
                                                                              prices_dir: Path) -> None:
    """XYZ in 2014 is a file of Microsoft's prices; the master's XYZ (from 2015) has IBM's prices, 2014 too."""
    h = tmp_path / "h"
    (tmp_path / "nasdaqlisted_2015-01-10.csv").write_text(NASDAQ_2015)
    run(h, "ingest", "nasdaqtrader", str(tmp_path / "nasdaqlisted_2015-01-10.csv"))
    (tmp_path / "xyz.us.txt").write_text(kaggle_rows(prices_dir, "ibm", "2014-01-01", "2015-12-31"))
    run(h, "ingest", "prices-csv", str(tmp_path / "xyz.us.txt"), "--preset", "kaggle")
    (tmp_path / "quandl.csv").write_text(quandl_rows(prices_dir, "MSFT", "XYZ"))
    run(h, "ingest", "prices-csv", str(tmp_path / "quandl.csv"), "--preset", "quandl-wiki")
    assert "merged_ids" not in json.loads(run(h, "listing", "XYZ", "--format", "json").stdout)
    [d] = json.loads(run(h, "merges", "XYZ", "--format", "json").stdout)
    assert d["action"] == "refused" and "daily returns disagree" in d["reason"]
    assert d["evidence"]["overlap"]["agree"] / d["evidence"]["overlap"]["returns"] < 0.8
    r = run(h, "prices", "XYZ", "--source", "prices-csv:quandl-wiki")
    assert r.exit_code == 3  # the 2014 series is not the master's XYZ
    assert json.loads(run(h, "listing", d["old_id"], "--format", "json").stdout)["status"] == "provisional"


def test_recycled_ticker_with_a_price_jump_across_the_gap_is_not_joined(tmp_path: Path, prices_dir: Path) -> None:
    """No common dates: Microsoft's 2014 closes (46.45 on 2014-12-31) against IBM's from 2015 (162.06)."""
    h = tmp_path / "h"
    (tmp_path / "nasdaqlisted_2015-01-10.csv").write_text(NASDAQ_2015)
    run(h, "ingest", "nasdaqtrader", str(tmp_path / "nasdaqlisted_2015-01-10.csv"))
    (tmp_path / "xyz.us.txt").write_text(kaggle_rows(prices_dir, "ibm", "2015-01-02", "2015-12-31"))
    run(h, "ingest", "prices-csv", str(tmp_path / "xyz.us.txt"), "--preset", "kaggle")
    (tmp_path / "quandl.csv").write_text(quandl_rows(prices_dir, "MSFT", "XYZ"))
    run(h, "ingest", "prices-csv", str(tmp_path / "quandl.csv"), "--preset", "quandl-wiki")
    [d] = json.loads(run(h, "merges", "XYZ", "--format", "json").stdout)
    assert d["action"] == "refused" and "jumps across the gap" in d["reason"]
    assert d["evidence"]["gap"]["last_close"] == pytest.approx(46.45)
    assert d["evidence"]["gap"]["next_date"] == "2015-01-02"


def test_a_listing_that_appears_after_the_first_snapshot_is_not_joined(tmp_path: Path, prices_dir: Path) -> None:
    """NEWC is absent from the 2015 snapshot and present in 2016: a 2014 series named NEWC is another instrument."""
    h = tmp_path / "h"
    (tmp_path / "nasdaqlisted_2015-01-10.csv").write_text(NASDAQ_2015)
    (tmp_path / "nasdaqlisted_2016-01-08.csv").write_text(NASDAQ_2016)
    run(h, "ingest", "nasdaqtrader", str(tmp_path / "nasdaqlisted_2015-01-10.csv"),
        str(tmp_path / "nasdaqlisted_2016-01-08.csv"))
    (tmp_path / "quandl.csv").write_text(quandl_rows(prices_dir, "ZEN", "NEWC"))
    run(h, "ingest", "prices-csv", str(tmp_path / "quandl.csv"), "--preset", "quandl-wiki")
    [d] = json.loads(run(h, "merges", "NEWC", "--format", "json").stdout)
    assert d["action"] == "refused" and "began after the series" in d["reason"]
    assert d["evidence"]["ticker_from"] == "2016-01-08" and d["evidence"]["venue_from"] == "2015-01-10"


def test_without_prices_on_the_master_listing_a_series_ending_at_the_first_snapshot_joins(
        tmp_path: Path, prices_dir: Path) -> None:
    h = tmp_path / "h"
    (tmp_path / "nasdaqlisted_2015-01-10.csv").write_text(NASDAQ_2015)
    run(h, "ingest", "nasdaqtrader", str(tmp_path / "nasdaqlisted_2015-01-10.csv"))
    (tmp_path / "quandl.csv").write_text(quandl_rows(prices_dir, "AAPL"))
    run(h, "ingest", "prices-csv", str(tmp_path / "quandl.csv"), "--preset", "quandl-wiki")
    [d] = json.loads(run(h, "merges", "AAPL", "--format", "json").stdout)
    assert d["action"] == "joined" and d["evidence"]["gap_days"] == 10  # 2014-12-31 -> 2015-01-10
    r = run(h, "prices", "AAPL", "--start", "2014-06-09", "--end", "2014-06-09", "--format", "csv")
    assert r.stdout.splitlines()[1:] == ["2014-06-09,92.7,93.88,91.75,93.7,75414997"]


# -- coverage ---------------------------------------------------------------------------------------------

def test_empty_answers_outside_coverage_say_so(lake: Path, tmp_path: Path) -> None:
    (tmp_path / "constituents_2012-12-27.csv").write_text("Symbol,Name,Sector\nAAPL,Apple Inc.,Information "
                                                          "Technology\n")
    assert run(lake, "ingest", "sp500-constituents", str(tmp_path / "constituents_2012-12-27.csv")).exit_code == 0
    r = run(lake, "members", "SP500", "--as-of", "2012-06-01", "--format", "csv")
    assert r.exit_code == 0 and r.stdout.strip() == "ticker,listing_id,name,valid_from,valid_to"
    assert "note: SP500 membership is known from 2012-12-27; 2012-06-01 is outside it" in r.stderr
    r = run(lake, "members", "SP500", "--as-of", "2012-12-27", "--format", "csv")
    assert [x["ticker"] for x in csv.DictReader(io.StringIO(r.stdout))] == ["AAPL"] and "note" not in r.stderr
    r = run(lake, "prices", "AAPL", "--start", "1990-01-01", "--end", "1990-12-31", "--format", "csv")
    assert r.exit_code == 0 and r.stdout.strip() == "date,open,high,low,close,volume"
    assert "note: AAPL has bars from 2013-06-03 to 2016-12-30 (prices-csv:kaggle); none from 1990-01-01 to " \
           "1990-12-31" in r.stderr
    import marketwire

    mw = marketwire.open(lake)
    with pytest.warns(OutsideCoverage, match="known from 2012-12-27") as w:
        assert mw.members("SP500", "2012-06-01") == []
    assert w[0].message.coverage == {"index": "SP500", "from": __import__("datetime").date(2012, 12, 27)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(mw.members("SP500", "2013-01-02")) == 1  # no warning inside the coverage
    with pytest.warns(OutsideCoverage):
        df = mw.prices("AAPL", start="1990-01-01", end="1990-12-31")
    assert df.empty and df.attrs["coverage_from"] == "2013-06-03" and df.attrs["coverage_to"] == "2016-12-30"
