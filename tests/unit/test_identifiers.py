import pytest

from marketwire.errors import InvalidInput
from marketwire.identity.parse import parse, problem
from marketwire.verify.identifiers import check, verify_identifiers

pytestmark = pytest.mark.unit


def test_check_digits():
    assert check("isin", "FR0000120578") is None
    assert check("isin", "FR0000120579") == "isin.check_digit"
    assert check("isin", "FR00001205") == "isin.format"
    assert check("cusip", "037833100") is None
    assert check("cusip", "037833101") == "cusip.check_digit"
    assert check("figi", "BBG000B9XRY4") is None
    assert check("figi", "BBG000B9XRY5") == "figi.check_digit"
    assert check("cik", "320193") is None and check("cik", "32O193") == "cik.format"


def test_bad_identifier_is_refused_with_rule_and_raw_value_and_record_is_flagged():
    rec = {"ticker": "SAN", "isin": "FR0000120579", "figi": "BBG000BWBBP2", "file": "f.csv", "line": 7, "flags": []}
    refusals = verify_identifiers(rec, "financedatabase")
    assert [(r.rule, r.field, r.value, r.line) for r in refusals] == [("isin.check_digit", "isin", "FR0000120579", 7)]
    assert rec["isin"] is None and rec["figi"] == "BBG000BWBBP2"
    assert rec["flags"] == ["isin.check_digit"]


def test_parse_recognises_schemes():
    assert parse("US0378331005").schemes == ("isin",)
    assert parse("AAPL@XNAS").schemes == ("ticker_mic",)
    assert parse("CIK:0000320193").value == "320193"
    assert parse("SAN.PA").schemes == ("ticker", "symbol") and not parse("SAN.PA").bare_ticker
    assert parse("AAPL").bare_ticker
    assert problem(parse("US0378331006")) == "isin.check_digit"
    with pytest.raises(InvalidInput):
        parse("  ")
