"""Histories from dated snapshots, on hand-made directories written by the tests."""

from datetime import date

import pytest

import marketwire
from marketwire.errors import Ambiguous, InvalidIdentifier, NotFound

pytestmark = pytest.mark.unit

D1 = ("Symbol,Company Name\nAI,Arlington Asset Investment Corp\nADBE,Adobe Systems Incorporated\n"
      "OLDX,Old Example Corp\nZZZ,Zeta Widgets Holdings Inc\n")
D2 = ("Symbol,Company Name\nAI,C3.ai Inc.\nADBE,Adobe Inc.\nNEWX,Brand New Example Corp\n"
      "ZZY,Zeta Widgets Holdings Inc\n")


@pytest.fixture()
def mw(tmp_path):
    a = tmp_path / "nasdaqlisted_2015-01-10.csv"
    b = tmp_path / "nasdaqlisted_2026-08-01.csv"
    a.write_text(D1)
    b.write_text(D2)
    m = marketwire.open(tmp_path / "home")
    r1 = m.ingest("nasdaqtrader", [a])
    r2 = m.ingest("nasdaqtrader", [b])
    assert (r1.accepted, r2.accepted) == (4, 4)
    return m, a, b


def test_recycled_ticker_splits_company_and_rename_keeps_ids(mw):
    m, _, _ = mw
    old, new = m.resolve("AI", "2015-01-10")[0], m.resolve("AI", "2026-08-01")[0]
    assert old["name"].startswith("Arlington") and new["name"].startswith("C3.ai")
    assert old["security_id"] != new["security_id"] and old["listing_id"] != new["listing_id"]
    a1, a2 = m.resolve("ADBE", "2015-01-10")[0], m.resolve("ADBE", "2026-08-01")[0]
    assert (a1["listing_id"], a1["security_id"]) == (a2["listing_id"], a2["security_id"])
    assert (a1["name"], a2["name"]) == ("Adobe Systems Incorporated", "Adobe Inc.")


def test_delisting_ticker_change_and_new_listing(mw):
    m, _, _ = mw
    gone = m.resolve("OLDX", "2015-01-10")[0]
    assert gone["status"] == "active"
    with pytest.raises(NotFound):
        m.resolve("OLDX", "2026-08-01")
    lst = m.listing(gone["listing_id"])
    assert lst["valid_to"] == date(2026, 8, 1)
    # same security name, new ticker on the same venue: a ticker change, same listing
    z1, z2 = m.resolve("ZZZ", "2015-01-10")[0], m.resolve("ZZY", "2026-08-01")[0]
    assert z1["listing_id"] == z2["listing_id"]
    assert m.resolve("NEWX", "2026-08-01")[0]["status"] == "active"
    with pytest.raises(NotFound):
        m.resolve("NEWX", "2015-01-10")


def test_reingest_adds_nothing_and_ids_are_stable(mw):
    m, a, b = mw
    before = m.resolve("AI", "2015-01-10")[0]["listing_id"]
    r = m.ingest("nasdaqtrader", [a, b])
    assert (r.accepted, r.quarantined, r.unchanged) == (0, 0, 8)
    assert m.resolve("AI", "2015-01-10")[0]["listing_id"] == before


def test_errors(mw):
    m, _, _ = mw
    with pytest.raises(InvalidIdentifier) as e:
        m.resolve("US0378331006")
    assert e.value.fields["rule"] == "isin.check_digit"
    with pytest.raises(NotFound):
        m.resolve("NOPE")


def test_ambiguous_ticker_lists_candidates(tmp_path):
    p = tmp_path / "other_2020-01-02.csv"
    p.write_text("ACT Symbol,Company Name,Security Name,Exchange,CQS Symbol,ETF,Round Lot Size,Test Issue,NASDAQ Symbol\n"
                 "XYZ,Xyz Corp,Xyz Corp Common Stock,N,XYZ,N,100,N,XYZ\n"
                 "XYZ,Other Xyz Fund,Other Xyz Fund,P,XYZ,Y,100,N,XYZ\n")
    m = marketwire.open(tmp_path / "h")
    m.ingest("nasdaqtrader", [p])
    with pytest.raises(Ambiguous) as e:
        m.resolve("XYZ", "2020-01-02")
    assert sorted(c["mic"] for c in e.value.fields["candidates"]) == ["ARCX", "XNYS"]
    assert m.resolve("XYZ@ARCX", "2020-01-02")[0]["mic"] == "ARCX"


def _apple_files(tmp_path):
    """AAPL in a symbol directory (no ISIN), Apple's XETRA line with its ISIN, and the two venues' countries."""
    nd = tmp_path / "nasdaqlisted_2026-08-01.csv"
    nd.write_text("Symbol,Company Name\nAAPL,Apple Inc.\n")
    fd = tmp_path / "equities.csv"
    fd.write_text("symbol,name,currency,exchange,mic,country,isin,cusip,figi,composite_figi,shareclass_figi\n"
                  "APC.DE,Apple Inc.,EUR,GER,XETR,United States,US0378331005,037833100,,,\n")
    mic = tmp_path / "mic.csv"
    mic.write_text('"MIC","OPERATING MIC","ISO COUNTRY CODE (ISO 3166)"\n"XNAS","XNAS","US"\n"XETR","XETR","DE"\n')
    return nd, fd, mic


def test_an_id_merged_by_later_evidence_still_resolves(tmp_path):
    """AAPL from a symbol directory (no ISIN) is first a security of its own; when another source gives the
    issuer's common stock with its ISIN, the two merge and the earlier security id answers with the survivor."""
    nd, fd, mic = _apple_files(tmp_path)
    m = marketwire.open(tmp_path / "h")
    m.ingest("mic", [mic])
    m.ingest("nasdaqtrader", [nd])
    old = m.resolve("AAPL", "2026-08-02")[0]["security_id"]
    m.ingest("financedatabase", [fd], as_of="2026-08-16")
    new = m.resolve("US0378331005", "2026-09-01")[0]
    assert m.resolve("AAPL@XNAS", "2026-09-01")[0]["security_id"] == new["security_id"]
    assert {(x["ticker"], x["mic"]) for x in new["listings"]} == {("AAPL", "XNAS"), ("APC", "XETR")}
    if old != new["security_id"]:
        again = m.resolve(old, "2026-09-01")[0]
        assert again["security_id"] == new["security_id"] and again["merged_from"] == old


def test_two_existing_ids_merged_the_loser_answers_with_the_survivor(tmp_path):
    nd, fd, mic = _apple_files(tmp_path)
    wrong = tmp_path / "mic-wrong.csv"  # an edition of the MIC list that places XNAS in Canada
    wrong.write_text('"MIC","OPERATING MIC","ISO COUNTRY CODE (ISO 3166)"\n"XNAS","XNAS","CA"\n')
    m = marketwire.open(tmp_path / "h")
    m.ingest("mic", [wrong])  # an ingested list wins over the shipped one
    m.ingest("financedatabase", [fd], as_of="2026-08-16")
    m.ingest("nasdaqtrader", [nd])  # AAPL@XNAS is not placed in the US: it stays apart from the US ISIN
    a = m.resolve("AAPL@XNAS", "2026-09-01")[0]["security_id"]
    b = m.resolve("US0378331005", "2026-09-01")[0]["security_id"]
    assert a != b
    m.ingest("mic", [mic])  # the corrected list: XNAS is in the US, the two are one security
    merged = m.resolve("AAPL@XNAS", "2026-09-01")[0]
    assert merged["security_id"] == m.resolve("US0378331005", "2026-09-01")[0]["security_id"] in (a, b)
    loser = a if merged["security_id"] == b else b
    again = m.resolve(loser, "2026-09-01")[0]
    assert again["security_id"] == merged["security_id"] and again["merged_from"] == loser
    assert m.security(loser)["security_id"] == merged["security_id"]


def test_a_corrected_file_replaces_its_earlier_reading(tmp_path):
    p = tmp_path / "nasdaqlisted_2020-01-02.csv"
    p.write_text("Symbol,Company Name\nAAPL,Apple Inc.\nMSFTX,Microsoft Corporation\n")
    m = marketwire.open(tmp_path / "h")
    m.ingest("nasdaqtrader", [p])
    p.write_text("Symbol,Company Name\nAAPL,Apple Inc.\nMSFT,Microsoft Corporation\n")  # the typo fixed
    r = m.ingest("nasdaqtrader", [p])
    assert (r.accepted, r.retracted, r.unchanged) == (1, 1, 1)
    assert m.resolve("MSFT", "2020-01-02")[0]["name"] == "Microsoft Corporation"
    with pytest.raises(NotFound):
        m.resolve("MSFTX", "2020-01-02")


def test_a_changed_identifier_ends_a_listing_whose_names_share_only_a_first_word():
    """A strong identifier that changes contradicts a weak name match: First Capital and First Solar share a first
    word (enough for a rename without identifiers), so with a new ISIN and CUSIP the ticker was recycled. A rename
    that keeps the name's start, or its first two words, keeps the listing through a changed identifier."""
    from datetime import date

    from marketwire.identity.lineage import build_lineages

    def rec(d, name, isin, cusip):
        return {"snapshot_date": d, "feed": "nasdaqtrader:nasdaqlisted", "ticker": "FRST", "mic": "XNAS",
                "name": name, "complete": True, "isin": isin, "cusip": cusip}

    d1, d2 = date(2020, 1, 2), date(2024, 1, 2)
    recycled = build_lineages([rec(d1, "First Capital Inc", "US31942S1042", "31942S104"),
                               rec(d2, "First Solar Inc", "US3364331070", "336433107")])
    assert len(recycled) == 2
    old, new = sorted(recycled, key=lambda x: x.valid_from)
    assert old.status == "delisted" and old.valid_to == date(2022, 1, 2)
    assert [v for v, _ in old.ids["isin"]] == ["US31942S1042"] and new.name == "First Solar Inc"
    # in the other order (the new ISIN sorting before the old one) just the same
    assert len(build_lineages([rec(d1, "First Solar Inc", "US3364331070", "336433107"),
                               rec(d2, "First Capital Inc", "US31942S1042", "31942S104")])) == 2
    # the same first-word match without identifiers, or with the same identifiers, is a rename, as before
    assert len(build_lineages([rec(d1, "First Capital Inc", None, None), rec(d2, "First Solar Inc", None, None)])) == 1
    same = ["".join(("US3194", "2S1042")) for _ in range(2)]  # equal values, two objects (as read from two files)
    assert len(build_lineages([rec(d1, "First Capital Inc", same[0], None),
                               rec(d2, "First Solar Inc", same[1], None)])) == 1
    # a missing name contradicts nothing; a one-word name that is the other's first word is a shortened name
    assert len(build_lineages([rec(d1, "First Capital Inc", "US31942S1042", None),
                               rec(d2, None, "US3364331070", None)])) == 1
    assert len(build_lineages([rec(d1, "Solar Inc", "US0000000001", None),
                               rec(d2, "Solar Gate Inc", "US0000000002", None)])) == 1
    # the identifier compared is the latest: a listing that went from X1 to X2 under a close rename continues with
    # X2 under a weaker name match
    kept = build_lineages([rec(d1, "First Capital Inc", "US0000000001", None),
                           rec(date(2022, 1, 3), "First Capital Bancorp Inc", "US0000000002", None),
                           rec(d2, "First Solar Inc", "US0000000002", None)])
    assert len(kept) == 1 and kept[0].name == "First Solar Inc"
    # names of three words and more agree on their first two, not more and not fewer
    assert len(build_lineages([rec(d1, "Pacific Gas Electric Co", "US0000000001", None),
                               rec(d2, "Pacific Gas Holdings Corp", "US0000000002", None)])) == 1
    assert len(build_lineages([rec(d1, "Pacific Gas Electric Co", "US0000000001", None),
                               rec(d2, "Pacific Oil Electric Co", "US0000000002", None)])) == 2
    for old_name, new_name in (("Adobe Systems Incorporated", "Adobe Inc."),
                               ("Coca-Cola Bottling Co Consolidated", "Coca-Cola Consolidated"),
                               ("First Capital Inc", "First Capital Bancorp Inc")):
        renamed = build_lineages([rec(d1, old_name, "US0000000001", "000000001"),
                                  rec(d2, new_name, "US0000000002", "000000002")])
        assert len(renamed) == 1, (old_name, new_name)
        assert [v for v, _ in renamed[0].ids["isin"]] == ["US0000000001", "US0000000002"]
