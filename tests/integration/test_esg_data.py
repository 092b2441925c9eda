"""ESG on the shared files, through the engine, against the real securities master (a copy of the session's
`make run` lake without its price and news tables): known answers, every row stored or quarantined, point in time,
EU ETS aggregation, linking and the review queue."""

from __future__ import annotations

import csv
import re
import shutil
import time
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import shared_data  # type: ignore[import-not-found]
from marketwire.errors import Ambiguous, NotFound
from marketwire.sources.base import Query, RawFile
from marketwire.sources.esg_common import slug
from marketwire.timeparse import utc_now

pytestmark = pytest.mark.integration

#: the tables of a `make run` lake the ESG tests do not need (prices, news): not copied
_SKIP = {"bars_daily", "corporate_actions", "fx_rates", "price_listings", "price_disagreements", "news_articles",
         "feeds", "feed_state", "feed_items", "bars"}


def esg_dir() -> Path:
    p = shared_data() / "esg"
    if not p.is_dir():
        pytest.skip(f"shared ESG data not found at {p} (set MARKETWIRE_DATA)")
    return p


def copy_master(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=lambda d, names: [n for n in names if n in _SKIP])
    return dst


@pytest.fixture(scope="module")
def mw(tmp_path_factory, make_run_lake):
    import marketwire

    esg_dir()
    home = copy_master(Path(make_run_lake), tmp_path_factory.mktemp("esg") / "home")
    return marketwire.open(home)


@pytest.fixture(scope="module")
def carbon_gap(mw):
    path = esg_dir() / "openclimate_raw" / "carbon_gap" / "profit_and_emmissions_database.csv"
    report = mw.ingest("carbon-gap", [path])
    return path, report


@pytest.fixture(scope="module")
def ets_slice(mw, tmp_path_factory):
    """A slice of the German EU ETS file (kept small for speed): its first 150 rows and every installation of the
    three parent companies with the most installations reporting 2019 emissions."""
    src = esg_dir() / "eutl_installations" / "installations-DE.DERIVED-no-contacts.csv"
    with open(src, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    pi, vi = head.index("ParentCompany"), head.index("VerifiedEmissions_2019")
    count: dict[str, int] = defaultdict(int)
    for r in body:
        if r[pi].strip() not in ("", "NA", "-") and re.fullmatch(r"-?\d+", r[vi].strip()):
            count[r[pi].strip()] += 1
    top = set(sorted(count, key=lambda p: (-count[p], p))[:3])
    keep = [r for k, r in enumerate(body) if k < 150 or r[pi].strip() in top]
    path = tmp_path_factory.mktemp("ets") / "installations-DE.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([head, *keep])
    return path, mw.ingest("eu-ets", [path])


def _int(cell: str) -> int | None:
    c = cell.strip()
    return int(c.replace(",", "")) if re.fullmatch(r"\d{1,3}(,\d{3})+|\d+", c) else None


def test_carbon_gap_known_answers(mw, carbon_gap):
    """Three linked companies: scope 1, 2 and 3 stored equal the file's cells (the first block is 2019, the second
    2020: columns 5-7 and 8, 9, 11)."""
    path, report = carbon_gap
    assert report.review + report.linked == 179
    rows = list(csv.reader(open(path, encoding="utf-8-sig")))[2:]
    links = {r["entity_id"]: r for r in mw.dataset("esg_links")}
    checked = 0
    for row in rows:
        link = links.get(f"carbon-gap:company:{slug(row[1])}")
        want = {("scope1", "2019"): _int(row[4]), ("scope2", "2019"): _int(row[5]), ("scope3", "2019"): _int(row[6]),
                ("scope1", "2020"): _int(row[7]), ("scope2", "2020"): _int(row[8]), ("scope3", "2020"): _int(row[10])}
        if link is None or link["status"] != "linked" or any(v is None for v in want.values()):
            continue
        got = {(m["metric"], m["period"]): m["value"] for m in mw.esg.metrics(link["issuer_id"],
                                                                              ["scope1", "scope2", "scope3"])
               if m["source"] == "carbon-gap"}
        assert got == {k: float(v) for k, v in want.items()}, row[1]
        checked += 1
        if checked == 3:
            break
    assert checked == 3


def test_carbon_gap_every_row_stored_and_bad_cells_quarantined_with_their_text(mw, carbon_gap):
    path, report = carbon_gap
    lines = open(path, encoding="utf-8-sig").read().splitlines()
    data_rows = sum(1 for r in csv.reader(lines[2:]) if any(c.strip() for c in r))
    obs = mw.dataset("esg_observations", where={"source": "carbon-gap"})
    assert len(obs) == data_rows == report.rows == 179
    q = mw.quarantine(source="carbon-gap", dataset="esg_metrics")
    assert len(q) == report.quarantined > 0
    file_rows = {i + 1: r for i, r in enumerate(csv.reader(lines))}
    for rec in q:
        assert rec["rule"] in ("esg.placeholder", "esg.not_a_number") and rec["file"].endswith(path.name)
        col = int(re.search(r"\[(\d+)\]$", rec["field"]).group(1))
        assert file_rows[rec["line"]][col - 1] == rec["value"]  # the raw text of that row and column
        assert rec["value"].strip() in ("--", "-", "#VALUE!")
    # nothing coerced: no stored value where the file has a placeholder
    stored = {(r["entity_id"], r["metric"], r["period"])
              for r in mw.dataset("esg_metrics", where={"source": "carbon-gap"})}
    for rec in q:
        year = "2019" if int(re.search(r"\[(\d+)\]$", rec["field"]).group(1)) <= 7 else "2020"
        name = file_rows[rec["line"]][1]
        if rec["field"].startswith("Scope 3"):
            assert (f"carbon-gap:company:{slug(name)}", "scope3", year) not in stored


def test_point_in_time_correction(mw, carbon_gap, tmp_path):
    path, _ = carbon_gap
    rows = list(csv.reader(open(path, encoding="utf-8-sig")))
    links = {r["entity_id"]: r for r in mw.dataset("esg_links") if r["status"] == "linked"}
    k = next(i for i, r in enumerate(rows[2:], start=2) if f"carbon-gap:company:{slug(r[1])}" in links
             and _int(r[4]) is not None)
    issuer = links[f"carbon-gap:company:{slug(rows[k][1])}"]["issuer_id"]
    old = _int(rows[k][4])
    rows[k][4] = str(old + 1234)
    fixed = tmp_path / "profit_and_emmissions_database.csv"
    with open(fixed, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    before = utc_now()
    time.sleep(0.01)
    report = mw.ingest("carbon-gap", [fixed])
    assert report.accepted == 1  # only the corrected value is a new version
    now = [m for m in mw.esg.metrics(issuer, "scope1") if m["period"] == "2019" and m["source"] == "carbon-gap"]
    then = [m for m in mw.esg.metrics(issuer, "scope1", as_of=before) if m["period"] == "2019"
            and m["source"] == "carbon-gap"]
    assert [m["value"] for m in now] == [old + 1234.0]
    assert [m["value"] for m in then] == [float(old)]


def test_eu_ets_parents_sum_their_installations(mw, ets_slice):
    """Three parent companies: the stored 2019 verified emissions equal the sum over their installations in the
    file (computed here from the CSV)."""
    path, report = ets_slice
    by_parent: dict[str, list[int]] = defaultdict(list)
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    for r in rows:
        p = r["ParentCompany"].strip()
        v = r["VerifiedEmissions_2019"].strip()
        if p not in ("", "NA", "-") and re.fullmatch(r"-?\d+", v):
            by_parent[p].append(int(v))
    top = sorted(by_parent, key=lambda p: (-len(by_parent[p]), p))[:3]
    assert len(top) == 3 and all(len(by_parent[p]) >= 2 for p in top)
    for p in top:
        stored = mw.dataset("esg_metrics", where={"entity_id": f"eu-ets:parent:{slug(p)}", "metric": "ets_verified",
                                                  "period": "2019"})
        assert len(stored) == 1, p
        assert stored[0]["value"] == float(sum(by_parent[p])), p
        assert stored[0]["method"].startswith(f"aggregate:sum of {len(by_parent[p])} installation(s)")
    members = mw.dataset("esg_aggregations", where={"level": "parent"})
    assert {m["member_id"] for m in members if m["group_id"] == f"eu-ets:parent:{slug(top[0])}"}
    # every row stored, the statements quarantined with their text
    assert report.rows == len(rows) == len(mw.dataset("esg_observations", where={"source": "eu-ets"}))
    q = mw.quarantine(source="eu-ets", dataset="esg_metrics")
    assert q and all(r["rule"] == "esg.not_reported" and r["value"] in ("Excluded", "Not Reported") for r in q)


def test_review_queue_lists_every_unlinked_company_and_a_confirmation_links_it(mw, carbon_gap):
    queue = mw.esg.review(source="carbon-gap")
    waiting = [r for r in mw.dataset("esg_links") if r["entity_id"].startswith("carbon-gap:")
               and r["status"] == "review"]
    assert len(queue) == len(waiting) > 0
    assert all(r["raw_name"] for r in queue)
    pick = next(r for r in queue if r["best_issuer_id"])
    mw.esg.link(pick["entity_id"], pick["best_issuer_id"])
    assert pick["entity_id"] not in {r["entity_id"] for r in mw.esg.review(source="carbon-gap")}
    ms = mw.esg.metrics(pick["best_issuer_id"])
    assert any(m["entity_id"] == pick["entity_id"] and m["link_method"] == "confirmed" for m in ms)
    # a re-delivery never undoes a confirmation
    mw.ingest("carbon-gap", [carbon_gap[0]])
    assert [r["status"] for r in mw.dataset("esg_links", where={"entity_id": pick["entity_id"]})] == ["confirmed"]


def test_risk_ratings_link_by_ticker(mw):
    path = esg_dir() / "sp500_esg_risk_ratings_sustainalytics_2023.csv"
    report = mw.ingest("esg-risk-ratings", [path])
    assert report.rows == 503 == len(mw.dataset("esg_observations", where={"source": "esg-risk-ratings"}))
    links = [r for r in mw.dataset("esg_links") if r["entity_id"].startswith("esg-risk-ratings:")]
    linked = [r for r in links if r["status"] == "linked"]
    assert len(linked) / len(links) >= 0.95
    # the ticker links resolve to the issuer (a row whose ticker named another company then is linked by its name)
    for r in sorted((r for r in linked if r["method"] == "ticker"), key=lambda r: r["entity_id"])[:60]:
        sym = r["entity_id"].rsplit(":", 1)[1]
        try:
            try:
                issuers = {mw.resolve(sym, as_of="2023-12-31")[0]["issuer_id"]}  # the ratings' year
            except NotFound:  # a listing the master first saw later
                issuers = {mw.resolve(sym)[0]["issuer_id"]}
        except Ambiguous as e:  # the ticker names several instruments: the link is one of them, chosen by name
            issuers = {c["issuer_id"] for c in e.fields["candidates"]}
        assert r["issuer_id"] in issuers, r


def test_any_id_of_a_company_the_master_holds_as_two_issuers_answers(mw):
    """The master holds JPMorgan as two issuers (the NYSE directory's `J P Morgan Chase & Co` with the ticker JPM,
    the FinanceDatabase issuer `JPMorgan Chase & Co.` with the ISIN): the ESG metrics answer by either id."""
    path = esg_dir() / "sp500_esg_risk_ratings_sustainalytics_2023.csv"
    mw.ingest("esg-risk-ratings", [path])
    by_ticker, by_isin = mw.resolve("JPM")[0]["issuer_id"], mw.resolve("US46625H1005")[0]["issuer_id"]
    if by_ticker == by_isin:
        pytest.skip("this master holds JPMorgan as one issuer")
    a = mw.esg.metrics("JPM")
    b = mw.esg.metrics("US46625H1005")
    assert a and [(r["metric"], r["value"], r["entity_id"]) for r in a] == \
        [(r["metric"], r["value"], r["entity_id"]) for r in b]
    assert "esg-risk-ratings:symbol:JPM" in {r["entity_id"] for r in a}
    # another company's query reads none of them
    assert not {r["entity_id"] for r in mw.esg.metrics("AAPL")} & {r["entity_id"] for r in a}


def test_wa_ghg_rows_and_parent_totals(mw, tmp_path):
    src = esg_dir() / "openclimate_raw" / "US_WA_dept_ecology_GHGRP" / "GHG_Reporting_Program_Publication.csv"
    report = mw.ingest("wa-ghg", [src])
    rows = list(csv.DictReader(open(src, encoding="utf-8-sig")))
    dups = len(rows) - len({tuple(r.values()) for r in rows})
    assert report.rows == len(rows)
    assert len(mw.dataset("esg_observations", where={"source": "wa-ghg"})) == len(rows) - dups
    assert len(mw.quarantine(source="wa-ghg", rule="row.duplicate")) == dups
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for r in {tuple(r.items()): r for r in rows}.values():
        if r["Parent Company"].strip() not in ("", "NA") and r["Total Emissions (MTCO2e)"].strip().isdigit():
            totals[(r["Parent Company"].strip(), r["Year"])] += int(r["Total Emissions (MTCO2e)"])
    (parent, year), want = max(totals.items(), key=lambda kv: kv[1])
    got = mw.dataset("esg_metrics", where={"entity_id": f"wa-ghg:parent:{slug(parent)}", "metric": "ghg_total",
                                           "period": year})
    assert [g["value"] for g in got] == [float(want)]


@pytest.mark.parametrize("cls,rel", [("NetZeroTracker", "openclimate_raw/net_zero_tracker"),
                                     ("Sbti", "openclimate_raw/science_based_targets")])
def test_target_trackers_every_row_stored_or_quarantined(cls, rel):
    from marketwire.sources import esg_targets

    src = getattr(esg_targets, cls)()
    q = Query((str(esg_dir() / rel),))
    for loc in src.locations(q):
        raw = RawFile(loc, Path(loc).read_bytes())
        b = src.transform(q, raw)
        whole = [r for r in b.refusals if not r.kept]
        assert b.rows == len(b.observations) + len(whole) > 1000
        assert len({o["record_id"] for o in b.observations}) == len(b.observations)
        for r in b.refusals:
            assert r.line and r.field and r.file == loc


def test_derived_intensity_percentile_and_score_return_their_inputs(mw, carbon_gap):
    links = [r for r in mw.dataset("esg_links") if r["status"] == "linked" and r["entity_id"].startswith("carbon-gap:")]
    done = 0
    for lk in links:
        d = mw.esg.derived(lk["issuer_id"])
        if d.get("intensity_revenue") is None:
            continue
        assert d["scope12"] == d["scope1"] + d["scope2"]
        assert d["intensity_revenue"] == round(d["scope12"] / (d["revenue"] / 1e6), 4)
        assert 0 <= d["sector_percentile"] <= 100 and d["sector_peers"] >= 1
        assert d["score"] == round(0.7 * (100 - d["sector_percentile"]) + 0.3 * d["target_points"], 1)
        assert d["intensity_market_value"] is None and any("market value" in n for n in d["notes"])
        done += 1
        if done == 3:
            break
    assert done == 3


def test_two_sources_disagreeing_are_both_kept_and_recorded(mw):
    """Two sources' scope 1 for one issuer and year, 30% apart: both stay in esg_metrics and the pair is recorded;
    a third within 10% of the first is not a disagreement."""
    from marketwire.datasets.esg import ESG_LINKS, ESG_METRICS

    issuer = mw.resolve("MSFT")[0]["issuer_id"]
    job = mw.engine.job("test")
    with mw.lake.writing([ESG_LINKS.name, ESG_METRICS.name]):
        for src, value in (("src-a", 100.0), ("src-b", 130.0), ("src-c", 105.0)):
            ent = f"{src}:company:x"
            job.commit(ESG_LINKS, [{"entity_id": ent, "status": "confirmed", "issuer_id": issuer,
                                    "method": "confirmed", "confidence": 1.0}], source=src)
            job.commit(ESG_METRICS, [{"entity_id": ent, "metric": "scope1", "period": "2031", "value": value,
                                      "unit": "t CO2e"}], source=src)
    dis = mw.esg._disagreements({issuer})
    pairs = {(d["source_a"], d["source_b"]) for d in dis if d["period"] == "2031"}
    assert pairs == {("src-a", "src-b"), ("src-b", "src-c")}
    vals = sorted(m["value"] for m in mw.esg.metrics("MSFT", "scope1") if m["period"] == "2031")
    assert vals == [100.0, 105.0, 130.0]
