"""Reference tables shipped with the package, and the master rules that need them in a lake that holds none."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from marketwire import refdata
from marketwire.datasets import reference as R
from marketwire.identity.build import Context, build_master
from marketwire.identity.ids import Registry
from marketwire.identity.reference import context, known_mics
from marketwire.sources import get_source
from marketwire.store import Lake

unit = pytest.mark.unit  # every test but the last, which reads the shared data

DATASETS = {d.name: d for d in R.REFERENCE_DATASETS}
FD_AS_OF = date(2026, 8, 16)  # the FinanceDatabase commit the shared files come from


def _load(lake: Lake, source: str, path: Path, as_of: date | None = None) -> int:
    """A source's records appended to the lake with provenance, as ingest writes them (no verification)."""
    src = get_source(source)
    query = src.query([str(path)], as_of)
    now = datetime.now(timezone.utc)
    n = 0
    for raw in src.extract(query):
        batch = src.transform(query, raw)
        for r in batch.records:
            r.update(knowledge_time=now, ingested_at=now, source=source, ingest_id="test")
        ds = DATASETS[batch.dataset]
        lake.append(ds, pa.Table.from_pylist(batch.records, schema=ds.schema))
        n += len(batch.records)
    return n


def _master(lake: Lake, ctx: Context) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    obs = lake.read(R.REF_OBSERVATIONS).to_pylist()
    m = build_master(obs, Registry([]), ctx)
    return {x["listing_id"]: x for x in m.listings}, m.flags


def _mismatches(listings: dict[str, dict[str, Any]], flags: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(ticker, mic) -> ISIN of every listing flagged ``isin.country_mismatch``."""
    return {(listings[f["entity_id"]]["ticker"], listings[f["entity_id"]]["mic"]): f["value"]
            for f in flags if f["rule"] == "isin.country_mismatch"}


# -- the shipped tables ------------------------------------------------------------------------------------
@unit
def test_shipped_mic_list_places_venues_in_their_country():
    mics = refdata.mics()
    assert len(mics) == 2767  # the 2025-05-26 edition, active and expired codes
    assert refdata.mic_countries()["XETR"] == "DE" and refdata.mic_countries()["XNAS"] == "US"
    assert mics["XPAR"].country == "FR" and mics["XPAR"].operating_mic == "XPAR"
    assert mics["XASE"].operating_mic == "XNYS" and mics["XASE"].name == "NYSE AMERICAN LLC"
    assert {m.status for m in mics.values()} == {"ACTIVE", "EXPIRED", "UPDATED"}
    assert "ZZZZ" not in mics


@unit
def test_shipped_countries_resolve_iso_names_aliases_and_iso4217_spellings():
    assert refdata.countries()["FR"].name == "France" and refdata.countries()["DE"].alpha3 == "DEU"
    assert refdata.country_code("France") == "FR" and refdata.country_codes()["FRANCE"] == "FR"
    assert refdata.country_code("DEU") == "DE" and refdata.country_code("Germany") == "DE"
    assert refdata.country_code("United States") == "US" and refdata.country_code("USA") == "US"
    assert refdata.country_code("South Korea") == "KR" and refdata.country_code("Korea, Republic of") == "KR"
    # the ISO 4217 list's own spellings, so that currencies map to countries
    assert refdata.country_code("UNITED STATES OF AMERICA (THE)") == "US"
    assert refdata.country_code("KOREA (THE REPUBLIC OF)") == "KR"
    assert refdata.country_code("KOREA (THE DEMOCRATIC PEOPLE’S REPUBLIC OF)") == "KP"
    assert refdata.country_code("TÜRKİYE") == "TR" and refdata.country_code("HOLY SEE (THE)") == "VA"
    assert refdata.country_code("Atlantis") is None and refdata.country_code("") is None


@unit
def test_shipped_currencies_know_the_countries_that_use_them():
    cc = refdata.currency_countries()
    assert {"FR", "DE", "IT", "EU"} <= cc["EUR"] and "US" not in cc["EUR"] and "GB" not in cc["EUR"]
    assert {"US", "PR", "EC"} <= cc["USD"] and "DE" not in cc["USD"]
    assert cc["CHF"] == {"CH", "LI"} and cc["XAU"] == frozenset()  # gold is no country's
    eur = refdata.currencies()["EUR"]
    assert (eur.numeric, eur.minor_units, eur.name) == ("978", 2, "Euro") and "FRANCE" in eur.countries
    assert refdata.currencies()["JPY"].minor_units == 0


@unit
def test_us_venues_are_defined_once_with_each_callers_meaning():
    from marketwire.identity import build, lineage
    from marketwire.news.gazetteer import companies
    from marketwire.sources import financedatabase

    assert refdata.US_MICS == {"XNYS", "XNAS", "XASE", "ARCX", "BATS", "IEXG", "OTCM"}
    assert refdata.DEFAULT_MICS == ("XNYS", "XNAS", "XASE", "ARCX", "BATS", "IEXG")  # a bare ticker: no OTC
    assert refdata.US_MIC_PREFERENCE[0] == "XNYS" and refdata.US_MIC_PREFERENCE[-1] == "OTCM"
    assert refdata.US_MIC_RANK["XNAS"] == 1 and refdata.US_MIC_RANK.get("XETR", 99) == 99
    assert all(refdata.mic_countries()[m] == "US" for m in refdata.US_MICS)
    assert lineage.US_MICS is refdata.US_MICS and build.US_MICS is refdata.US_MICS
    assert financedatabase.US_MICS is refdata.US_MICS and companies.DEFAULT_MICS is refdata.DEFAULT_MICS


@unit
def test_refdata_imports_no_other_marketwire_package_and_loads_nothing_on_import():
    code = ("import sys, marketwire.refdata as r; "
            "print(sorted(m for m in sys.modules if m.startswith('marketwire'))); "
            "print(sorted(m for m in ('pycountry', 'iso4217') if m in sys.modules)); "
            "print(r.mic_countries()['XETR'], r.country_code('France'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    mods, heavy, answer = out.splitlines()
    assert {m for m in eval(mods) if not m.startswith("marketwire.refdata")} == {"marketwire", "marketwire.errors"}
    assert eval(heavy) == [] and answer == "DE FR"


# -- the context: shipped tables overlaid with the lake's -----------------------------------------------------
@unit
def test_context_of_a_lake_without_reference_tables_has_the_shipped_ones(tmp_path):
    lake = Lake(tmp_path / "lake")
    ctx = context(lake)
    assert ctx.mic_country["XETR"] == "DE" and ctx.mic_country["OTCM"] == "US"
    assert ctx.country("Germany") == "DE" and ctx.country("United Kingdom") == "GB"
    assert {"FR", "DE"} <= ctx.currency_countries["EUR"] and "US" in ctx.currency_countries["USD"]
    mics = known_mics(lake)
    assert {"XNAS", "XETR", "OTCM"} <= mics and len(mics) == 2767 and "ZZZZ" not in mics
    ctx.mic_country["XETR"] = "XX"  # a caller's context is its own: the shipped tables stay as they are
    assert context(lake).mic_country["XETR"] == "DE"


@unit
def test_ingested_reference_tables_win_over_the_shipped_ones(tmp_path):
    lake = Lake(tmp_path / "lake")
    mic = tmp_path / "mic.csv"
    mic.write_text('"MIC","OPERATING MIC","ISO COUNTRY CODE (ISO 3166)"\n"XETR","XETR","AT"\n"ZZZZ","ZZZZ","FR"\n')
    cur = tmp_path / "list-one.xml"
    cur.write_text("<ISO_4217><CcyTbl><CcyNtry><CtryNm>FRANCE</CtryNm><Ccy>EUR</Ccy></CcyNtry>"
                   "<CcyNtry><CtryNm>UNITED STATES OF AMERICA (THE)</CtryNm><Ccy>USD</Ccy></CcyNtry>"
                   "</CcyTbl></ISO_4217>")
    ctry = tmp_path / "iso_3166-1.json"
    ctry.write_text(json.dumps({"3166-1": [{"alpha_2": "XK", "alpha_3": "XKX", "name": "Kosovo"}]}))
    assert (_load(lake, "mic", mic), _load(lake, "iso4217", cur), _load(lake, "iso3166", ctry)) == (2, 2, 1)
    ctx = context(lake)
    assert ctx.mic_country["XETR"] == "AT" and ctx.mic_country["ZZZZ"] == "FR"  # the lake's rows win
    assert ctx.mic_country["XNAS"] == "US"  # codes the lake lacks stay known
    assert ctx.currency_countries["EUR"] == {"FR"} and ctx.currency_countries["USD"] == {"US"}
    assert ctx.currency_countries["CHF"] == {"CH", "LI"}  # currencies the lake lacks keep the shipped countries
    assert ctx.country("Kosovo") == "XK" and ctx.country("XKX") == "XK" and ctx.country("France") == "FR"
    assert {"ZZZZ", "XETR", "XNAS"} <= known_mics(lake)


# -- the rule that needs them: an ADR's ISIN on XETRA ---------------------------------------------------------
FD_HEADER = "symbol,name,currency,exchange,mic,country,isin,cusip,figi,composite_figi,shareclass_figi\n"


@unit
def test_adr_isin_on_xetra_is_flagged_in_a_lake_of_financedatabase_files_only(tmp_path):
    fd = tmp_path / "equities.csv"
    fd.write_text(FD_HEADER
                  + "ADS.DE,adidas AG,EUR,GER,XETR,Germany,US00687A1079,,,,\n"     # the ADR's ISIN on XETRA
                  + "SAP.DE,SAP SE,EUR,GER,XETR,Germany,DE0007164600,,,,\n"        # control: a German ISIN
                  + "ADDYY,adidas AG,USD,PNK,,Germany,US00687A1079,,,,\n")         # the ADR where it trades
    lake = Lake(tmp_path / "lake")
    assert _load(lake, "financedatabase", fd, FD_AS_OF) == 3
    assert not any(lake.exists(ds) for ds in (R.EXCHANGES, R.COUNTRIES, R.CURRENCIES))
    listings, flags = _master(lake, context(lake))
    assert _mismatches(listings, flags) == {("ADS", "XETR"): "US00687A1079"}
    msg = next(f["message"] for f in flags if f["rule"] == "isin.country_mismatch")
    assert msg == "ISIN prefix US contradicts venue XETR (DE), issuer country DE and currency EUR"
    # without reference tables the rule has nothing to contradict: what the shipped tables make possible
    assert _mismatches(*_master(lake, Context())) == {}


@pytest.mark.integration
def test_adr_isins_on_xetra_are_flagged_in_the_real_financedatabase_file(securities_master, tmp_path):
    ger = securities_master / "financedatabase" / "equities" / "GER.csv"  # FinanceDatabase's XETRA file
    if not ger.is_file():
        pytest.skip(f"{ger} is absent from the shared data")
    lake = Lake(tmp_path / "lake")
    assert _load(lake, "financedatabase", ger, FD_AS_OF) > 1000
    listings, flags = _master(lake, context(lake))
    flagged = _mismatches(listings, flags)
    assert flagged[("ADS", "XETR")] == "US00687A1079"      # adidas: its ADR's ISIN on the XETRA line
    assert flagged[("ALV", "XETR")] == "US0188201000"      # Allianz, likewise
    assert ("SAP", "XETR") not in flagged and ("SIE", "XETR") not in flagged
    assert any((x["ticker"], x["mic"]) == ("SAP", "XETR") for x in listings.values())
    assert not [isin for isin in flagged.values() if isin.startswith("DE")]  # a German ISIN on XETRA is fine
    assert len(flagged) >= 20
