"""Every lookup takes any identifier the identity service resolves, on the CLI, over REST and in the SDK.

A small master: a Nasdaq snapshot (Apple), FinanceDatabase rows (Sanofi in Paris with its ISIN and FIGI, Apple with
its ISIN, CUSIP and FIGI; a company with two Paris lines of one ISIN) and the SEC's tickers (Apple's CIK).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

import marketwire
from marketwire.cli import main
from marketwire.errors import Ambiguous, OutsideCoverage

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*deprecated")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.e2e

MIC = ('"MIC","OPERATING MIC","OPRT/SGMT","MARKET NAME-INSTITUTION DESCRIPTION","ISO COUNTRY CODE (ISO 3166)"\n'
       '"XPAR","XPAR","OPRT","EURONEXT - EURONEXT PARIS","FR"\n'
       '"XNAS","XNAS","OPRT","NASDAQ - ALL MARKETS","US"\n')
FD = ("symbol,name,currency,exchange,mic,country,isin,cusip,figi,composite_figi,shareclass_figi\n"
      "SAN.PA,Sanofi,EUR,PAR,XPAR,France,FR0000120578,,BBG000BWBBP2,BBG000BWBBF3,BBG001SCSQN7\n"
      "AAPL,Apple Inc.,USD,NMS,XNAS,United States,US0378331005,037833100,BBG000B9XRY4,BBG000B9XRY4,"
      "BBG001S5N8V8\n"
      "AIR.PA,Airbus SE,EUR,PAR,XPAR,France,NL0000235190,,,,\n"
      "AIRX.PA,Airbus SE,EUR,PAR,XPAR,France,NL0000235190,,,,\n")
SEC = '{"0": {"cik_str": 320193, "ticker": "AAPL", "title": "Apple Inc."}}'


def run(home: Path, *args: str):
    r = CliRunner().invoke(main, ["--home", str(home), *args])
    assert "Traceback" not in (r.output + (r.stderr or "")), r.output + (r.stderr or "")
    return r


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("any-id")
    (root / "ISO10383_MIC.csv").write_text(MIC)
    (root / "nasdaqlisted_2015-01-10.csv").write_text("Symbol,Company Name\nAAPL,Apple Inc. \n")
    (root / "equities.csv").write_text(FD)
    (root / "sec_company_tickers.json").write_text(SEC)
    h = root / "h"
    assert run(h, "ingest", "mic", str(root / "ISO10383_MIC.csv")).exit_code == 0
    assert run(h, "ingest", "--no-rebuild", "nasdaqtrader", str(root / "nasdaqlisted_2015-01-10.csv")).exit_code == 0
    assert run(h, "ingest", "--no-rebuild", "financedatabase", str(root / "equities.csv"),
               "--as-of", "2026-08-16").exit_code == 0
    assert run(h, "ingest", "--no-rebuild", "sec-tickers", str(root / "sec_company_tickers.json"),
               "--as-of", "2026-08-16").exit_code == 0
    assert run(h, "rebuild").exit_code == 0
    return h


def _json(r) -> dict:
    assert r.exit_code == 0, r.output + (r.stderr or "")
    return json.loads(r.stdout)


def test_security_and_listing_take_any_identifier(home: Path) -> None:
    san = _json(run(home, "listing", "SAN.PA", "--format", "json"))
    assert (san["ticker"], san["mic"], san["currency"]) == ("SAN", "XPAR", "EUR")
    sec = _json(run(home, "security", "FR0000120578", "--format", "json"))
    assert sec["security_id"] == san["security_id"] and sec["identifiers"]["isin"] == "FR0000120578"
    assert sec["listing_id"] is None and sec["matched_by"] == "isin"
    for ident in ("SAN@XPAR", "SAN.PA", san["listing_id"], san["issuer_id"], "BBG000BWBBP2"):
        assert _json(run(home, "security", ident, "--format", "json"))["security_id"] == san["security_id"], ident
    # a security's identifier answers with its primary listing (the one on its home venue)
    for ident in ("FR0000120578", san["security_id"], "SAN@XPAR", "BBG000BWBBP2"):
        assert _json(run(home, "listing", ident, "--format", "json"))["listing_id"] == san["listing_id"], ident
    aapl = _json(run(home, "listing", "AAPL", "--format", "json"))
    for ident in ("US0378331005", "037833100", "CIK:320193", "AAPL@XNAS", "BBG000B9XRY4"):
        assert _json(run(home, "listing", ident, "--format", "json"))["listing_id"] == aapl["listing_id"], ident
        assert _json(run(home, "security", ident, "--format", "json"))["security_id"] == aapl["security_id"], ident


def test_a_security_with_two_home_listings_is_ambiguous_with_candidates(home: Path) -> None:
    r = run(home, "listing", "NL0000235190")
    assert r.exit_code == 2
    assert "AIR@XPAR" in r.stderr and "AIRX@XPAR" in r.stderr and "no single primary" in r.stderr
    mw = marketwire.open(home)
    with pytest.raises(Ambiguous) as e:
        mw.listing("NL0000235190")
    assert sorted(c["ticker"] for c in e.value.fields["candidates"]) == ["AIR", "AIRX"]
    assert e.value.fields["param"] == "listing_id"
    assert mw.security("NL0000235190")["identifiers"]["isin"] == "NL0000235190"  # one security: no ambiguity
    assert run(home, "listing", "NOSUCH").exit_code == 3
    assert run(home, "security", "FR0000120579").exit_code == 4  # a check digit that fails is refused


def test_rest_lookups_take_any_identifier(home: Path) -> None:
    from marketwire.serve.api import create_app

    with TestClient(create_app(home)) as client:
        r = client.get("/v1/securities/FR0000120578")
        assert r.status_code == 200, r.text
        assert r.json()["data"]["identifiers"]["isin"] == "FR0000120578"
        r = client.get("/v1/listings/SAN.PA")
        assert r.status_code == 200 and r.json()["data"]["ticker"] == "SAN"
        r = client.get("/v1/listings/NL0000235190")
        assert r.status_code == 409 and len(r.json()["error"]["candidates"]) == 2
        r = client.get("/v1/securities/NOSUCH")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_news_listing_filter_takes_a_yahoo_symbol(home: Path, tmp_path: Path) -> None:
    f = tmp_path / "sanofi.txt"
    f.write_text("Sanofi relève ses prévisions\nSanofi a relevé jeudi ses prévisions annuelles après un trimestre "
                 "porté par les ventes de son médicament Dupixent, a annoncé le groupe pharmaceutique.\n",
                 encoding="utf-8")
    r = run(home, "news", "add", str(f), "--source", "Desk", "--published", "2026-08-20")
    assert r.exit_code == 0, r.output
    [article] = [x for x in r.stdout.splitlines() if x.strip()]
    for ident in ("SAN.PA", "FR0000120578", "SAN@XPAR"):
        rows = _json(run(home, "news", "list", "--listing", ident, "--format", "json"))
        assert [a["id"] for a in rows] == [article], ident
    assert run(home, "news", "list", "--listing", "NOSUCH").exit_code == 3


def test_rest_members_meta_names_the_coverage(home: Path, tmp_path: Path) -> None:
    (tmp_path / "constituents_2012-12-27.csv").write_text("Symbol,Name,Sector\nAAPL,Apple Inc.,Tech\n")
    assert run(home, "ingest", "sp500-constituents", str(tmp_path / "constituents_2012-12-27.csv")).exit_code == 0
    from marketwire.serve.api import create_app

    with TestClient(create_app(home)) as client, warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideCoverage)
        body = client.get("/v1/indexes/SP500/members", params={"as_of": "2012-06-01"}).json()
        assert body["data"] == [] and body["count"] == 0
        assert body["meta"]["coverage_from"] == "2012-12-27" and body["meta"]["coverage_index"] == "SP500"
        assert "2012-06-01 is outside it" in body["meta"]["note"]
        body = client.get("/v1/indexes/SP500/members", params={"as_of": "2013-01-02"}).json()
        assert [m["ticker"] for m in body["data"]] == ["AAPL"] and "meta" not in body


def test_news_outside_the_wires_range_says_so(home: Path, tmp_path: Path) -> None:
    f = tmp_path / "sanofi2.txt"
    f.write_text("Sanofi lance un essai\nSanofi a lancé un essai clinique de phase trois pour un vaccin, a indiqué "
                 "le laboratoire mardi dans un communiqué.\n", encoding="utf-8")
    assert run(home, "news", "add", str(f), "--source", "Desk", "--published", "2026-08-21").exit_code == 0
    r = run(home, "news", "list", "--since", "2027-01-01", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []
    assert "note: the news wire holds articles published from 2026-08-2" in r.stderr
    assert "nothing from 2027-01-01T00:00:00+00:00 to ..." in r.stderr
    r = run(home, "news", "list", "--since", "2026-08-21", "--until", "2026-08-21", "--q", "nomatchword")
    assert "note" not in r.stderr  # inside the range: an empty answer of the filters, not of the coverage
    mw = marketwire.open(home)
    with pytest.warns(OutsideCoverage, match="news wire holds articles"):
        assert mw.news.list(until="2001-01-01") == []
