"""Company linking by notability in every market: capitalisation class, listings and venues, curated aliases,
context words, home markets; bylines and credits never link."""

from __future__ import annotations

import pytest

from marketwire.news.entities import CompanyIndex, EntityAnnotator
from marketwire.news.gazetteer.companies import PROMINENT, notability

pytestmark = pytest.mark.unit


def _rows(iid, name, country, cap, listings, isin=None):
    return [{"issuer_id": iid, "issuer_name": name, "issuer_country": country, "security_id": f"S{iid}",
             "type": "equity", "isin": isin, "listing_id": f"L{iid}{i}", "ticker": t, "mic": m, "market_cap": cap}
            for i, (t, m) in enumerate(listings)]


EU = [r for rows in (
    _rows("SIE", "Siemens Aktiengesellschaft", "DE", "Large Cap", [("SIE", "XETR"), ("SIE", "XMIL"), ("SIA", "XBRU")],
          "DE0007236101"),
    _rows("SIEX", "SIEMENS AG  NA O.N.", None, None, [("SIE", "XBER"), ("SIE", "XDUS")]),
    _rows("VOW", "Volkswagen AG", "DE", "Large Cap", [("VOW3", "XETR"), ("VOW", "XETR"), ("0P6N", "XLON")]),
    _rows("BAY", "Bayer Aktiengesellschaft", "DE", "Large Cap", [("BAYN", "XETR"), ("BAY", "XMIL")]),
    _rows("BP", "BP p.l.c.", "GB", "Large Cap", [("BP", "XLON"), ("BPE", "XETR")]),
    _rows("SAN", "Sanofi", "FR", "Large Cap", [("SAN", "XPAR")], "FR0000120578"),
    _rows("AIR", "Airbus SE", "NL", "Large Cap", [("AIR", "XPAR"), ("AIR", "XETR")]),
    _rows("SAP", "SAP SE", "DE", "Mega Cap", [("SAP", "XETR")]),
    _rows("HSBC", "HSBC Holdings Plc", "GB", "Large Cap", [("HSBA", "XLON")]),
    _rows("ULVR", "Unilever PLC", "GB", "Large Cap", [("ULVR", "XLON")]),
    _rows("ALV", "Allianz SE", "DE", "Large Cap", [("ALV", "XETR")]),
    _rows("ORA", "Orange S.A.", "FR", "Large Cap", [("ORA", "XPAR")], "FR0000133308"),
    _rows("IFX", "Infineon Technologies AG", "DE", "Large Cap", [("IFX", "XETR"), ("IFX", "XMIL")]),
    _rows("IFXS", "INFINEON", "HU", None, [("INFIN", "XBUD")]),
    _rows("MRK", "MERCK Kommanditgesellschaft auf Aktien", "DE", "Large Cap", [("MRK", "XETR")]),
    _rows("MRKUS", "Merck & Co., Inc.", "US", "Large Cap", [("MRK", "XNYS"), ("6MK", "XETR")]),
    _rows("SAGE", "Sage Group plc", "GB", "Large Cap", [("SGE", "XLON")]),
    _rows("SMALL", "Siegwerk Nano AG", "DE", "Nano Cap", [("SGW", "XETR")]),
) for r in rows]


@pytest.fixture(scope="module")
def ann() -> EntityAnnotator:
    return EntityAnnotator(CompanyIndex.from_rows(EU))


def issuers(ann, text, lang, title=None):
    return [(e["text"], e["link"]["id"]) for e in ann.annotate(title, text, lang)
            if e["link"] and e["link"]["kind"] == "issuer"]


def test_notability_counts_every_market_not_only_us_indices():
    assert notability(index_member=False, market_cap="Large Cap", has_isin=False, listings=1, venues=1) >= PROMINENT
    assert notability(index_member=False, market_cap="Mid Cap", has_isin=True, listings=5, venues=5) < PROMINENT
    assert notability(index_member=True, market_cap=None, has_isin=False, listings=0, venues=0) == PROMINENT
    # a borderline: one venue short of the bar without a capitalisation class
    assert notability(index_member=False, market_cap=None, has_isin=True, listings=20, venues=20) == 50
    idx = CompanyIndex.from_rows(EU)
    assert idx.issuers["SIE"].score > idx.issuers["SIEX"].score
    assert idx.issuers["SIE"].market_cap == "Large Cap" and idx.issuers["SMALL"].score < PROMINENT


@pytest.mark.parametrize("lang,text,want", [
    # the short wire stories: the names missing before (Siemens, Volkswagen twice, Bayer, BP)
    ("de", "Siemens hebt nach einem starken Quartal die Prognose an. Die Aktie legte zu.", ["SIE"]),
    ("de", "Auch Volkswagen und Bayer gewannen im DAX, Volkswagen legte drei Prozent zu.", ["VOW", "BAY"]),
    ("en", "BP said on Tuesday it would cut 10,000 jobs, while HSBC and Unilever rose.", ["BP", "HSBC", "ULVR"]),
    ("fr", "Sanofi a annoncé un rachat, et Airbus a livré 60 avions en juin.", ["SAN", "AIR"]),
    ("de", "SAP profitierte vom Cloud-Geschäft, der Versicherer Allianz bestätigte seine Ziele.", ["SAP", "ALV"]),
    # a short name without its descriptive word, ahead of a little-known issuer of exactly that name
    ("en", "AI spending lifted Infineon shares by 4%.", ["IFX"]),
    # a German article means the German Merck; an English one the larger American one
    ("de", "Der Pharmakonzern Merck hob die Prognose an.", ["MRK"]),
    ("en", "Merck shares rose after the drug trial.", ["MRKUS"]),
])
def test_well_known_european_names_link(ann, lang, text, want):
    assert [iid for _, iid in issuers(ann, text, lang)] == want


@pytest.mark.parametrize("lang,text", [
    ("fr", "Les robes orange sont à la mode. Le théâtre antique d'Orange a accueilli 40 000 spectateurs."),
    ("en", "Sage advice from his coach helped him win the race."),              # opens a sentence, no business word
    ("de", "Die Allianz der Willigen traf sich in Paris."),                     # the common noun, no business word
    ("de", "Ein Bayer und ein Sachse gewannen den Wettbewerb."),
])
def test_false_friends_stay_unlinked(ann, lang, text):
    assert issuers(ann, text, lang) == []


def test_bylines_and_credits_never_link(ann):
    body = ("Orange avec Media Services, publié le jeudi 02 juillet 2020 à 21h59\n\n"
            "L'opérateur Orange a annoncé une hausse de son chiffre d'affaires.")
    ents = ann.annotate("Résultats en hausse", body, "fr")
    linked = [e for e in ents if e["link"] and e["link"]["kind"] == "issuer"]
    assert [e["link"]["id"] for e in linked] == ["ORA"]
    text = "Résultats en hausse\n\n" + body
    # only the mention in the story, not the one in the byline
    assert linked[0]["spans"] == [[text.index("Orange a annoncé"), text.index("Orange a annoncé") + 6]]
    assert issuers(ann, "Orange avec Media Services", "fr", title="Un titre") == []


def test_a_place_in_a_dateline_stays_a_place_and_the_agency_is_no_entity(ann):
    ents = ann.annotate(None, "PARIS (Reuters) - Sanofi a annoncé un rachat.", "fr")
    texts = {e["text"]: e for e in ents}
    assert "Reuters" not in texts and texts["Sanofi"]["link"]["id"] == "SAN"
    assert texts["PARIS"]["type"] == "LOC"


def test_ai_is_not_a_place():
    ann = EntityAnnotator(None)
    for lang, text in (("en", "AI boom lifts chipmakers. Investors bet that AI will lift demand."),
                       ("fr", "Les investissements dans l'AI progressent fortement cette année."),
                       ("de", "Die AI-Branche wächst in Europa schneller als erwartet.")):
        assert [e["text"] for e in ann.annotate(None, text, lang) if e["type"] == "LOC" and e["text"] == "AI"] == []
