"""Fundamentals on real SEC company facts: known answers, point in time, splits, bad input, rules, estimates."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import shared_data

pytestmark = pytest.mark.integration

FUND = shared_data() / "fundamentals"
CF = FUND / "companyfacts"
SM = shared_data() / "securities_master"
EST = shared_data() / "estimates"
ROOT = Path(__file__).resolve().parents[2]


def _need() -> None:
    if not (CF / "sec_companyfacts_AAPL_CIK0000320193.json").is_file() or not SM.is_dir():
        pytest.skip(f"shared fundamentals data not found at {FUND} (set MARKETWIRE_DATA)")


def _slice(src: Path, dst: Path, keep: tuple[str, ...]) -> Path:
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    dst.write_text(lines[0] + "".join(x for x in lines[1:] if x.split("|")[0] in keep), encoding="utf-8")
    return dst


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _need()
    import marketwire

    tmp = tmp_path_factory.mktemp("fund")
    listed = _slice(SM / "nasdaq-listed-symbols_2026-08-01.csv", tmp / "nasdaq-listed-symbols_2026-08-01.csv",
                    ("AAPL", "GOOGL", "GOOG", "MRVL", "TSLA"))
    tickers = json.loads((SM / "sec_company_tickers.json").read_text())
    keep = {k: v for k, v in tickers.items() if v["ticker"] in ("AAPL", "GOOGL", "GOOG", "MRVL", "TSLA")}
    (tmp / "company_tickers_2026-08-01.json").write_text(json.dumps(keep))
    h = tmp / "home"
    mw = marketwire.open(h)
    mw.ingest("nasdaqtrader", [listed])
    mw.ingest("sec-tickers", [tmp / "company_tickers_2026-08-01.json"])
    rep = mw.ingest("sec-companyfacts", [CF / "sec_companyfacts_AAPL_CIK0000320193.json",
                                         CF / "sec_companyfacts_GOOGL_CIK0001652044.json"])
    assert rep.accepted > 40_000 and rep.quarantined == 0
    # clean real facts: under 0.5% flagged
    assert rep.flagged / rep.accepted < 0.005, rep.by_rule
    mw.ingest("estimates-fmp", [EST / "fmp_historical_earning_calendar_AAPL_2023-11-11.DERIVED.json",
                                EST / "fmp_analyst_estimates_sample_2025-09-23.json"])
    return h


@pytest.fixture(scope="session")
def mw(home: Path):  # type: ignore[no-untyped-def]
    import marketwire

    return marketwire.open(home)


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "marketwire.cli", "--home", str(home), *args], capture_output=True,
                          text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})


def _item(df: pl.DataFrame, item: str, fy: int) -> float:
    r = df.filter((pl.col("line_item") == item) & (pl.col("fiscal_year") == fy))
    assert r.height == 1, r
    return float(r.item(0, "value"))


def test_aapl_fy2023_known_answers(mw) -> None:  # type: ignore[no-untyped-def]
    s = mw.fundamentals.statement("AAPL", "income", period="annual")
    assert _item(s, "revenue", 2023) == 383_285_000_000
    assert _item(s, "net_income", 2023) == 96_995_000_000
    assert _item(s, "eps_diluted", 2023) == 6.13
    # the same issuer by CIK
    s2 = mw.fundamentals.statement("CIK:320193", "income")
    assert _item(s2, "revenue", 2023) == 383_285_000_000


def test_googl_eps_point_in_time_and_splits(mw) -> None:  # type: ignore[no-untyped-def]
    fs = mw.fundamentals
    then = fs.statement("GOOGL", "income", as_of="2021-06-30")
    now = fs.statement("GOOGL", "income")
    assert _item(then, "eps_diluted", 2020) == 58.61
    assert _item(now, "eps_diluted", 2020) == 2.93
    assert _item(fs.statement("GOOGL", "income", as_of="2021-06-30", adjust="splits"), "eps_diluted", 2020) == 2.93
    assert _item(fs.statement("GOOGL", "income", adjust="splits"), "eps_diluted", 2020) == 2.93
    # no prices in this lake: the split comes from the issuer's own restatements (20:1, in 2022)
    f, _ = fs.company(1652044)
    events, basis = fs.split_events(f, None)
    assert basis == "restatements"
    assert [(d.year, r) for d, r in events] == [(2022, 20.0)]
    # basic EPS the same way: 59.15 before the split, 2.96 after (59.15 / 20 at the reported precision)
    assert _item(then, "eps_basic", 2020) == 59.15
    assert _item(fs.statement("GOOGL", "income", as_of="2021-06-30", adjust="splits"), "eps_basic", 2020) == 2.96
    # money is never adjusted
    assert _item(fs.statement("GOOGL", "income", as_of="2021-06-30", adjust="splits"), "net_income", 2020) == \
        _item(then, "net_income", 2020)


def test_first_reported_and_all_versions(mw) -> None:  # type: ignore[no-untyped-def]
    fs = mw.fundamentals
    kw = {"tag": "EarningsPerShareDiluted", "fy": 2020}
    latest = fs.facts("GOOGL", **kw).filter(pl.col("fiscal_period") == "FY")
    first = fs.facts("GOOGL", first_reported=True, **kw).filter(pl.col("fiscal_period") == "FY")
    every = fs.facts("GOOGL", all_versions=True, **kw).filter(pl.col("fiscal_period") == "FY")
    assert latest.item(0, "value") == 2.93 and first.item(0, "value") == 58.61
    assert set(every.get_column("value").to_list()) == {58.61, 2.93}
    assert every.height >= 2 and every.get_column("filed").is_sorted()


def test_cli_facts_and_statement_csv(home: Path) -> None:
    r = cli(home, "fundamentals", "facts", "GOOGL", "--tag", "EarningsPerShareDiluted", "--fy", "2020", "--as-of",
            "2021-06-30", "--format", "csv")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("tag,unit,start,end,value,fy,fp,form,accession,filed")
    fy = [x for x in lines[1:] if ",2020-01-01,2020-12-31," in x]
    assert len(fy) == 1 and ",58.61," in fy[0]
    r = cli(home, "fundamentals", "statement", "CIK:320193", "--statement", "income", "--format", "csv")
    assert r.returncode == 0, r.stderr
    head = r.stdout.splitlines()[0].split(",")
    assert head[:4] == ["line_item", "period_end", "value", "unit"]
    assert "revenue,2023-09-30,383285000000,USD" in r.stdout


def test_quarters_from_ytd_and_ttm(mw) -> None:  # type: ignore[no-untyped-def]
    q = mw.fundamentals.statement("AAPL", "cash_flow", period="quarter")
    a = mw.fundamentals.statement("AAPL", "cash_flow", period="annual")
    cfo_q = q.filter((pl.col("line_item") == "cfo") & (pl.col("fiscal_year") == 2023))
    assert cfo_q.height == 4 and cfo_q.get_column("derived").to_list()[1:] == [True, True, True]
    assert cfo_q.get_column("value").sum() == pytest.approx(_item(a, "cfo", 2023))
    inc_q = mw.fundamentals.statement("AAPL", "income", period="quarter")
    rev = inc_q.filter((pl.col("line_item") == "revenue") & (pl.col("fiscal_year") == 2023)).sort("period_end")
    assert rev.get_column("fiscal_period").to_list() == ["Q1", "Q2", "Q3", "Q4"]
    assert rev.get_column("value").sum() == 383_285_000_000  # Q4 = FY - 9M
    ttm = mw.fundamentals.statement("AAPL", "income", period="ttm")
    t = ttm.filter((pl.col("line_item") == "revenue") & (pl.col("period_end") == date(2023, 9, 30)))
    assert t.item(0, "value") == 383_285_000_000


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.integers(min_value=0, max_value=(date(2026, 6, 30) - date(2009, 1, 1)).days),
       who=st.sampled_from(["AAPL", "GOOGL"]), stmt=st.sampled_from(["income", "balance", "cash_flow"]),
       period=st.sampled_from(["annual", "quarter", "ttm"]))
def test_no_look_ahead(mw, days: int, who: str, stmt: str, period: str) -> None:  # type: ignore[no-untyped-def]
    when = date(2009, 1, 1) + timedelta(days=days)
    f = mw.fundamentals.facts(who, as_of=when)
    assert f.height == 0 or f.get_column("filed").max() <= when
    try:
        s = mw.fundamentals.statement(who, stmt, period=period, as_of=when)
    except Exception as e:  # nothing filed yet is a clean answer, not an error
        raise AssertionError(e) from e
    assert s.height == 0 or s.get_column("filed").max() <= when
    v = mw.fundamentals.facts(who, as_of=when, all_versions=True)
    assert v.height == 0 or v.get_column("filed").max() <= when


def test_ratios_use_only_what_was_filed(mw) -> None:  # type: ignore[no-untyped-def]
    r = mw.fundamentals.ratios("AAPL", "2023-10-15")
    # the FY2023 10-K was filed 2023-11-03: on 2023-10-15 the TTM ends at the June quarter
    assert r["net_income_ttm"] != 96_995_000_000
    r2 = mw.fundamentals.ratios("AAPL", "2023-11-10")
    assert r2["net_income_ttm"] == 96_995_000_000


def test_estimates_consensus_and_surprises(home: Path, mw) -> None:  # type: ignore[no-untyped-def]
    c = mw.estimates.consensus("AAPL", as_of="2023-08-02", metric="eps")
    assert mw.estimates.consensus("AAPL", as_of="2023-08-01", metric="eps").filter(
        pl.col("period_end") == date(2023, 7, 1)).height == 0  # dated the day before the report
    q = c.filter(pl.col("period_end") == date(2023, 7, 1))
    assert q.item(0, "mean") == 1.19  # the consensus known before the 2023-08-03 report
    assert c.get_column("as_of").max() <= date(2023, 8, 2)
    later = mw.estimates.consensus("AAPL", as_of="2025-09-30", metric="eps")
    fy29 = later.filter(pl.col("period_end") == date(2029, 9, 28))
    assert fy29.item(0, "mean") == pytest.approx(10.91773) and fy29.item(0, "count") == 13
    assert mw.estimates.consensus("AAPL", as_of="2025-09-22", metric="eps").filter(
        pl.col("period_end") == date(2029, 9, 28)).height == 0
    s = mw.estimates.surprises("AAPL", metric="eps")
    row = s.filter(pl.col("period_end") == date(2023, 9, 30))
    assert row.item(0, "actual") == 1.46 and row.item(0, "consensus") == 1.39
    assert row.item(0, "surprise") == pytest.approx(0.07)
    assert (s.get_column("consensus_as_of") < s.get_column("report_date")).all()
    r = cli(home, "estimates", "consensus", "AAPL", "--as-of", "2023-08-01", "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith("symbol,metric,fiscal_period,period_end,mean,median,high,low,count,std")


def test_bad_input(tmp_path: Path, home: Path) -> None:
    import marketwire

    doc = json.loads((CF / "sec_companyfacts_MRVL_CIK0001835632.json").read_text())
    facts = doc["facts"]["us-gaap"]
    tag = next(t for t, b in facts.items() if "USD" in b["units"] and len(b["units"]["USD"]) > 3)
    bad = facts[tag]["units"]["USD"][1]
    bad["val"] = "12,5x"
    acc = bad["accn"]
    ok_tag = next(t for t in facts if t != tag)
    facts[ok_tag]["units"]["Widgets"] = [dict(facts[ok_tag]["units"][next(iter(facts[ok_tag]["units"]))][0])]
    doc["facts"]["us-gaap"]["lowercaseThing"] = {"units": {"USD": [dict(facts[tag]["units"]["USD"][0])]}}
    p = tmp_path / "mrvl.json"
    p.write_text(json.dumps(doc))
    h = tmp_path / "h"
    mw = marketwire.open(h)
    rep = mw.ingest("sec-companyfacts", [p])
    assert rep.by_rule.get("fact.malformed") == 1
    q = [x for x in mw.quarantine(rule="fact.malformed")]
    assert len(q) == 1 and tag in q[0]["message"] and q[0]["raw_value"] == "12,5x" if "raw_value" in q[0] else True
    raw = q[0]["raw"] if isinstance(q[0]["raw"], dict) else json.loads(q[0]["raw"])
    assert raw["tag"] == tag and raw["unit"] == "USD" and raw["accession"] == acc
    f = mw.fundamentals.facts("CIK:1835632", all_versions=True)
    widgets = f.filter(pl.col("unit") == "Widgets")
    assert widgets.height == 1 and "fact.unknown_unit" in widgets.item(0, "flags")
    odd = f.filter(pl.col("tag") == "lowercaseThing")
    assert odd.height == 1 and "fact.unknown_tag" in odd.item(0, "flags")
    # not company facts: an error naming the file and the position, no traceback
    (tmp_path / "x.json").write_text('{"cik": 1, "facts": [1, 2]')
    r = cli(h, "ingest", "sec-companyfacts", str(tmp_path / "x.json"))
    assert r.returncode != 0 and "x.json" in r.stderr and "line 1" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "y.json").write_text('{"hello": "world"}')
    r = cli(h, "ingest", "sec-companyfacts", str(tmp_path / "y.json"))
    assert r.returncode != 0 and "y.json" in r.stderr and "not SEC company facts" in r.stderr
    r = cli(h, "fundamentals", "statement", "CIK:1835632", "--statement", "nonsense")
    assert r.returncode != 0 and "Traceback" not in r.stderr


def test_rules_catch_injected_faults(mw) -> None:  # type: ignore[no-untyped-def]
    from marketwire.fundamentals import verify

    f, _ = mw.fundamentals.company(320193)
    base = f.filter(pl.col("taxonomy") == "us-gaap").select(
        "cik", "taxonomy", "tag", "unit", "start", "end", "period", "dims", "value", "accession", "filed")
    clean = verify.check(base)
    row = base.with_row_index("_r").filter((pl.col("tag") == "Assets")).row(-1, named=True)
    i = row["_r"]
    scaled = base.with_columns(pl.when(pl.int_range(pl.len()) == i).then(pl.col("value") * 1000)
                               .otherwise(pl.col("value")).alias("value"))
    got = verify.check(scaled).row(i, named=True)["_flags"]
    assert "fact.scale" in got and "balance.identity" in got
    assert clean.row(i, named=True)["_flags"] == []


XBRL = FUND / "edgar_xbrl_aapl"
FSDS = FUND / "sec_fsds"
SUBS = FUND / "submissions"


def test_submissions_filings_pagination_and_master(tmp_path: Path, home: Path) -> None:
    import marketwire

    mw = marketwire.open(home)
    rep = mw.ingest("sec-submissions", [SUBS / "sec_submissions_TSLA_CIK0001318605.json",
                                        SUBS / "sec_submissions_WOLF_CIK0000895419.json",
                                        SUBS / "sec_submissions_SIEMENS_AG_CIK0000940418.json"])
    assert rep.quarantined == 0
    f = mw.fundamentals.filings("TSLA")
    # the main file (1,002 filings) and the older page it names (720), read through pagination
    assert f.height == 1002 + 720
    assert f.get_column("filed").min() == date(2005, 2, 17)
    tenk = mw.fundamentals.filings("TSLA", form="10-K/A")
    assert tenk.height >= 1 and tenk.get_column("amends").all()
    # the master learns WOLF (NYSE) from the submissions; Siemens (no ticker) only by its CIK's filings
    m = mw.resolve("WOLF")[0]
    assert m["identifiers"]["cik"] == "895419" and m["listings"][0]["mic"] == "XNYS"
    assert mw.fundamentals.filings("CIK:940418").height == 31
    bad = tmp_path / "sub.json"
    bad.write_text('{"cik": "1", "filings": {"recent": {"accessionNumber": ["a"], "filingDate": [], "form": []}}}')
    r = cli(home, "ingest", "sec-submissions", str(bad))
    assert r.returncode != 0 and "sub.json" in r.stderr and "filingDate" in r.stderr


def test_instances_and_fsds_agree_with_companyfacts(home: Path) -> None:
    import marketwire

    mw = marketwire.open(home)
    for name, acc in (("aapl-20230930_htm.xml", "0000320193-23-000106"),
                      ("aapl-20220924_htm.xml", "0000320193-22-000108")):
        c = mw.fundamentals.crosscheck("AAPL", instance=str(XBRL / name))["checks"][0]
        assert c["accession"] == acc
        assert c["shared"] == c["companyfacts"] > 400 and c["disagree"] == 0
    rep = mw.ingest("sec-fsds", [FSDS / "2009q3.zip"])
    assert rep.accepted > 126_000 and rep.by_rule == {"fsds.nil_value": rep.quarantined}
    c = mw.fundamentals.crosscheck("AAPL", accession="0001193125-09-153165")["checks"][0]
    assert c["shared"] > 150 and c["disagree"] == 0
    # ingest of an instance: the facts companyfacts already has are unchanged, its dimensional facts are new
    rep = mw.ingest("xbrl-instance", [XBRL / "aapl-20230930_htm.xml"])
    assert rep.unchanged > 400 and rep.accepted > 100
    assert mw.fundamentals.statement("AAPL", "income").filter(
        (pl.col("line_item") == "revenue") & (pl.col("fiscal_year") == 2023)).item(0, "value") == 383_285_000_000
    r = cli(home, "fundamentals", "crosscheck", "AAPL", "--instance", str(XBRL / "aapl-20230701_htm.xml"),
            "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert "xbrl-instance,0000320193-23-000077" in r.stdout and ",0," in r.stdout


def test_bulk_zip_layout_and_ifrs(tmp_path: Path) -> None:
    import zipfile

    import marketwire

    lpa = FUND / "sec_companyfacts_LPA_CIK0001997711_ifrs.json"
    if not lpa.is_file():
        pytest.skip(f"{lpa} not found")
    z = tmp_path / "companyfacts.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(lpa, "CIK0001997711.json")
    mw = marketwire.open(tmp_path / "h")
    rep = mw.ingest("sec-companyfacts", [z])
    assert rep.accepted > 700 and rep.quarantined == 0
    f = mw.fundamentals.facts("CIK:1997711", all_versions=True)
    assert set(f.get_column("taxonomy").unique().to_list()) >= {"ifrs-full"}
    s = mw.fundamentals.statement("CIK:1997711", "income", period="annual")
    # ifrs-full tags map to the same line items
    assert {"revenue", "net_income"} <= set(s.get_column("line_item").to_list())
    assert s.filter(pl.col("line_item") == "revenue").get_column("tag").to_list()[0] in (
        "Revenue", "RevenueFromContractsWithCustomers")


def test_ratios_with_prices(tmp_path: Path, home: Path) -> None:
    import marketwire

    src = shared_data() / "prices" / "huge_stock_market_dataset" / "Stocks" / "aapl.us.txt"
    if not src.is_file():
        pytest.skip(f"{src} not found")
    lines = src.read_text().splitlines()
    part = tmp_path / "aapl.us.txt"
    part.write_text("\n".join([lines[0]] + [x for x in lines[1:] if x.startswith("2017-06")]) + "\n")
    mw = marketwire.open(home)
    mw.ingest("prices-csv", [part], preset="kaggle")
    close = float([x for x in lines if x.startswith("2017-06-30")][0].split(",")[4])
    r = mw.fundamentals.ratios("AAPL", "2017-06-30")
    assert r["price"] == close and r["price_date"] == "2017-06-30"
    assert r["market_cap"] == pytest.approx(close * r["shares_outstanding"])
    assert r["pe_ttm"] == pytest.approx(close / r["eps_ttm"])
    # TTM EPS from the four quarters filed by then (the quarter ended 2017-04-01, filed in May 2017)
    assert r["eps_period_end"] == "2017-04-01"
    inc = mw.fundamentals.statement("AAPL", "income", period="quarter", as_of="2017-06-30")
    q = inc.filter(pl.col("line_item") == "eps_diluted").sort("period_end").tail(4)
    assert r["eps_ttm"] == pytest.approx(q.get_column("value").sum())
    assert 0 < r["dividend_yield"] < 0.05 and r["pb"] > 1 and r["ev_ebitda"] > 1
    # a day before any price: no price-based ratio, and it says why
    early = mw.fundamentals.ratios("AAPL", "2017-05-01")
    assert early["price"] is None and early["market_cap"] is None and "no closing price" in early["note"]
