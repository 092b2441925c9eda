"""Apple's 2014 files join AAPL on the real files `make run` loads: the master's 2015-01-10 Nasdaq Trader
snapshots (its first knowledge of AAPL), the Kaggle history, the Quandl WIKI sample and the zipline csvdir file.

The subset of tools/load_reference.sh that Apple's history needs, in the same order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from marketwire.cli import main

pytestmark = pytest.mark.integration


def run(home: Path, *args: str):
    r = CliRunner().invoke(main, ["--home", str(home), *args])
    assert "Traceback" not in (r.output + (r.stderr or "")), r.output + (r.stderr or "")
    assert r.exit_code == 0, r.output + (r.stderr or "")
    return r


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, securities_master: Path, prices_dir: Path) -> Path:
    h = tmp_path_factory.mktemp("aapl") / "h"
    sm, px = securities_master, prices_dir
    run(h, "ingest", "mic", *map(str, sm.glob("ISO10383_MIC_*.csv")))
    run(h, "ingest", "nasdaqtrader", str(sm / "nasdaq-listed-symbols_2015-01-10.csv"),
        str(sm / "nasdaqtrader-other-listed_2015-01-10.csv"))
    run(h, "ingest", "prices-csv", str(px / "huge_stock_market_dataset" / "Stocks" / "aapl.us.txt"), "--preset",
        "kaggle")
    run(h, "ingest", "prices-csv", str(px / "zipline_samples" / "QUANDL_WIKI_SAMPLE_TABLE_2014.csv"), "--preset",
        "quandl-wiki")
    run(h, "ingest", "prices-csv", str(px / "zipline_samples" / "csvdir_daily_AAPL.csv"), "--preset",
        "zipline-csvdir")
    return h


def test_prices_across_the_split_from_the_quandl_file(lake: Path, prices_dir: Path) -> None:
    src = (prices_dir / "zipline_samples" / "QUANDL_WIKI_SAMPLE_TABLE_2014.csv").read_text().splitlines()
    want = [r.split(",") for r in src if r.startswith("AAPL,") and "2014-06-02" <= r.split(",")[1] <= "2014-06-13"]
    for extra in ((), ("--source", "prices-csv:quandl-wiki")):
        got = json.loads(run(lake, "prices", "AAPL", "--start", "2014-06-02", "--end", "2014-06-13", *extra,
                             "--format", "json").stdout)
        assert [(g["date"], g["close"]) for g in got] == [(w[1], float(w[5])) for w in want]
    assert [g["close"] for g in got][4:6] == [645.57, 93.7]  # 2014-06-06 and 2014-06-09, the 7:1 split


def test_actions_list_the_split_and_the_four_2014_dividends(lake: Path) -> None:
    acts = json.loads(run(lake, "actions", "AAPL", "--format", "json").stdout)
    quandl = [(a["ex_date"], a["type"], a["value"]) for a in acts if a["source"] == "prices-csv:quandl-wiki"]
    assert quandl == [("2014-02-06", "dividend", 3.05), ("2014-05-08", "dividend", 3.29),
                      ("2014-06-09", "split", 7.0), ("2014-08-07", "dividend", 0.47),
                      ("2014-11-06", "dividend", 0.47)]


def test_disagreements_list_the_zipline_files_split_adjusted_closes(lake: Path, prices_dir: Path) -> None:
    src = (prices_dir / "zipline_samples" / "QUANDL_WIKI_SAMPLE_TABLE_2014.csv").read_text().splitlines()
    before_split = sorted(r.split(",")[1] for r in src if r.startswith("AAPL,") and r.split(",")[1] < "2014-06-09")
    rows = json.loads(run(lake, "disagreements", "AAPL", "--format", "json").stdout)
    pair = [r for r in rows if {r["source_a"], r["source_b"]} == {"prices-csv:quandl-wiki", "prices-csv:zipline-csvdir"}]
    # every session before the split, and none after: the zipline file's close is Quandl's divided by 7
    assert [r["date"] for r in pair] == before_split and len(pair) == 108
    for r in pair:
        v = {r["source_a"]: r["value_a"], r["source_b"]: r["value_b"]}
        assert v["prices-csv:zipline-csvdir"] == pytest.approx(v["prices-csv:quandl-wiki"] / 7, rel=1e-4)


def test_every_id_answers_in_every_lookup(lake: Path) -> None:
    master = json.loads(run(lake, "listing", "AAPL", "--format", "json").stdout)
    [prov] = master["merged_ids"]
    [d] = json.loads(run(lake, "merges", prov, "--format", "json").stdout)
    assert d["action"] == "joined" and d["direction"] == "backward" and d["new_id"] == master["listing_id"]
    for ident in (prov, master["listing_id"]):
        assert json.loads(run(lake, "listing", ident, "--format", "json").stdout)["listing_id"] == master["listing_id"]
        assert json.loads(run(lake, "security", ident, "--format", "json").stdout)["security_id"] == \
            master["security_id"]
        assert len(json.loads(run(lake, "actions", ident, "--format", "json").stdout)) >= 5
        assert len(json.loads(run(lake, "disagreements", ident, "--format", "json").stdout)) >= 107
        assert json.loads(run(lake, "quality", ident).stdout)["listing_id"] == master["listing_id"]
