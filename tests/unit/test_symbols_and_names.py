import pytest

from marketwire.sources.classify import infer_type, issuer_name, same_entity_name
from marketwire.sources.financedatabase import us_ticker
from marketwire.sources.symbols import from_cqs, from_nasdaq_integrated, to_yahoo

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("nasdaq,cqs,canonical", [
    ("ABR-A", "ABRpA", "ABR-PA"), ("AA-", "AAp", "AA-P"), ("BIOA+", "BIOA/WS", "BIOA.WS"),
    ("KODK+A", "KODK/WS/A", "KODK.WS.A"), ("AAC=", "AAC.U", "AAC.U"), ("BF.B", "BF/B", "BF.B"),
])
def test_us_symbol_conventions_meet_in_one_canonical_ticker(nasdaq, cqs, canonical):
    assert from_nasdaq_integrated(nasdaq) == canonical
    assert from_cqs(cqs) == canonical


def test_yahoo_spellings():
    assert to_yahoo("BRK.B") == "BRK-B"
    assert to_yahoo("ABR-PA") == "ABR-PA"
    assert to_yahoo("BIOA.WS") == "BIOA-WT"
    assert us_ticker("BRK-B") == "BRK.B" and us_ticker("ABR-PA") == "ABR-PA" and us_ticker("XX-WT") == "XX.WS"


@pytest.mark.parametrize("a,b", [
    ("Adobe Systems Incorporated", "Adobe Inc."), ("Coca", "Coca-Cola Consolidated, Inc."),
    ("International Business Machines Corporation", "IBM Corp"), ("Zoetis Inc. Class A Common Stock", "Zoetis"),
])
def test_renames_keep_the_company(a, b):
    assert same_entity_name(a, b)


@pytest.mark.parametrize("a,b", [
    ("Arlington Asset Investment Corp Class A (new)", "C3.ai, Inc. Class A Common Stock"),
    ("Aceto Corporation", "Adicet Bio, Inc."), ("Barnes Group, Inc. Common Stock", "Barrick Mining Corporation"),
])
def test_recycled_tickers_are_other_companies(a, b):
    assert not same_entity_name(a, b)


def test_types_and_issuer_names_from_directory_text():
    assert infer_type("Arbor Realty Trust Cumulative Redeemable Preferred Series B") == "preferred"
    assert infer_type("Ares Acquisition Corporation III Units, each consisting of one Class A") == "unit"
    assert infer_type("iShares MSCI Global Min Vol Factor ETF", "Y") == "etf"
    assert infer_type("Apple Inc. - Common Stock") == "equity"
    assert issuer_name("Alcoa Inc. $3.75 Preferred Stock") == "Alcoa Inc."
    assert issuer_name("Agilent Technologies, Inc. Common Stock") == "Agilent Technologies, Inc."


@pytest.mark.parametrize("a,b", [
    ("Integrated Electrical Services, Inc.", "IES Holdings, Inc."), ("Central Federal Corporation", "CF Bankshares Inc."),
    ("Allegheny Technologies Incorporated Common Stock", "ATI Inc. Common Stock"),
])
def test_initialisms_are_renames(a, b):
    assert same_entity_name(a, b)


def test_venue_abbreviations_are_the_same_company():
    assert same_entity_name("IMP OIL", "Imperial Oil Limited")
    assert same_entity_name("EL ARTS DL-,01", "Electronic Arts Inc.")
    assert not same_entity_name("Golf & Co Group Ltd", "Acushnet Holdings Corp.")
