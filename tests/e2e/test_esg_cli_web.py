"""The ESG vertical driven as a user would: `marketwire ingest carbon-gap`, `esg metrics|review|link|coverage`, bad
files, and the company ESG page in headless Chromium, over a copy of the real securities master."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import lxml.html
import pytest

from conftest import shared_data  # type: ignore[import-not-found]
from support.servers import ServedHome

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
_SKIP = {"bars_daily", "corporate_actions", "fx_rates", "price_listings", "price_disagreements", "news_articles",
         "feeds", "feed_state", "feed_items"}


def _cli(home: Path, *args: str, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run([sys.executable, "-c", "from marketwire.cli import run; run()", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def home(tmp_path_factory, make_run_lake) -> Path:
    cg = shared_data() / "esg" / "openclimate_raw" / "carbon_gap" / "profit_and_emmissions_database.csv"
    if not cg.is_file():
        pytest.skip(f"shared ESG data not found at {cg.parent} (set MARKETWIRE_DATA)")
    h = tmp_path_factory.mktemp("esg-e2e") / "home"
    shutil.copytree(make_run_lake, h, ignore=lambda d, names: [n for n in names if n in _SKIP])
    r = _cli(h, "ingest", "carbon-gap", str(cg))
    assert r.returncode == 0, r.stderr
    return h


def test_ingest_prints_counts_with_the_review_queue(home):
    cg = shared_data() / "esg" / "openclimate_raw" / "carbon_gap" / "profit_and_emmissions_database.csv"
    r = _cli(home, "ingest", "carbon-gap", str(cg), "--format", "json")
    assert r.returncode == 0, r.stderr
    import json

    d = json.loads(r.stdout)
    assert d["accepted"] == 0 and d["unchanged"] > 1000  # a re-delivery adds nothing
    assert d["rows"] == 179 and d["linked"] + d["review"] <= 179


def test_metrics_csv_for_any_identifier(home):
    r = _cli(home, "esg", "metrics", "US0378331005", "--metric", "scope1", "--metric", "scope3", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert r.stdout.splitlines()[0].startswith("metric,value,unit,period,source,method,confidence")
    assert {x["metric"] for x in rows} == {"scope1", "scope3"}
    assert all(x["unit"] == "t CO2e" and x["source"] == "carbon-gap" and float(x["confidence"]) >= 0.9 for x in rows)
    # before the delivery nothing was known: the header alone
    old = _cli(home, "esg", "metrics", "AAPL", "--as-of", "2000-01-01", "--format", "csv")
    assert old.returncode == 0 and old.stdout.splitlines() == [r.stdout.splitlines()[0]]


def test_review_and_link(home):
    r = _cli(home, "esg", "review", "--source", "carbon-gap", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert rows and all(x["raw_name"] for x in rows)
    pick = next(x for x in rows if x["best_issuer_id"])
    r = _cli(home, "esg", "link", pick["entity_id"], pick["best_issuer_id"])
    assert r.returncode == 0 and "confirmed" in r.stdout, r.stderr
    import marketwire

    assert pick["entity_id"] not in {x["entity_id"] for x in marketwire.open(home).esg.review("carbon-gap")}
    bad = _cli(home, "esg", "link", "carbon-gap:company:no-such-company", "AAPL")
    assert bad.returncode == 3 and bad.stderr.startswith("error [not_found]") and "Traceback" not in bad.stderr


def test_bad_files_are_refused_clearly(home, tmp_path):
    bad = tmp_path / "emissions.csv"
    bad.write_text('"Title",,2 019,2020 data\nCompany Name,Country/Territory,Scope 1 GHG emissions tons CO₂e\n'
                   "Acme Widgets,Germany,#VALUE!\nBeta Corp,France,12 t\nGamma SA,France,1200\n", encoding="utf-8")
    r = _cli(home, "ingest", "carbon-gap", str(bad), "--format", "json")
    assert r.returncode == 0, r.stderr
    q = _cli(home, "quarantine", "--source", "carbon-gap", "--format", "csv")
    rows = [x for x in csv.DictReader(io.StringIO(q.stdout)) if x["file"].endswith("emissions.csv")]
    got = {(x["line"], x["value"], x["rule"]) for x in rows}
    assert got == {("3", "#VALUE!", "esg.placeholder"), ("4", "12 t", "esg.not_a_number")}
    assert all("Scope 1" in x["field"] for x in rows)
    # nothing coerced to zero: the refused cells have no value stored
    broken = tmp_path / "broken.csv"
    broken.write_text("Name,Emissions\nAcme,12\n", encoding="utf-8")
    r = _cli(home, "ingest", "carbon-gap", str(broken))
    assert r.returncode != 0 and r.stderr.startswith("error [") and "Company Name" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def site(home, tmp_path_factory) -> Iterator[str]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium) for the real-browser page test")
    with ServedHome(home) as base:
        yield base


def test_company_esg_page_in_headless_chromium(site, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
             "--disable-extensions", "--no-proxy-server", f"--user-data-dir={tmp_path / 'profile'}"]
    env = {**{k: v for k, v in os.environ.items() if "proxy" not in k.lower()}, "HOME": str(tmp_path)}
    run = subprocess.run([CHROMIUM, *flags, "--dump-dom", f"{site}/companies/AAPL/esg"], capture_output=True,
                         text=True, timeout=60, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    doc = lxml.html.fromstring(run.stdout)
    assert "Apple" in doc.xpath("string(//*[@data-testid='esg-company'])")
    series = {g.get("data-metric") for g in doc.xpath("//*[@data-testid='esg-series']")}
    assert {"scope1", "scope3"} <= series
    # one point per year and scope: Carbon Gap gives 2019 and 2020
    line = doc.xpath("//*[@data-testid='esg-series'][@data-metric='scope3']//*[local-name()='polyline']")[0]
    assert len(line.get("points").split()) == 2
    rows = doc.xpath("//*[@data-testid='esg-row']")
    assert len(rows) >= 6
    api = httpx.get(f"{site}/v1/esg/metrics/AAPL", trust_env=False, timeout=10).json()
    assert len(rows) == api["count"]
    missing = subprocess.run([CHROMIUM, *flags, "--dump-dom", f"{site}/companies/NO_SUCH_CO_123/esg"],
                             capture_output=True, text=True, timeout=60, env=env)
    assert "error" in missing.stdout
