"""ESG units, number parsing, name normalisation and the metric checks (no lake, no shared data)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from marketwire.esg import units
from marketwire.esg import verify as V
from marketwire.esg.linking import form_conflict, legal_forms, normalise
from marketwire.sources.esg_common import NotANumber, parse_number, year_of

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("src,dst,factor", [("kt CO2e", "t CO2e", 1000), ("Mt CO2e", "t CO2e", 10**6),
                                            ("Mt CO2e", "kt CO2e", 1000), ("t CO2e", "Mt CO2e", Fraction(1, 10**6)),
                                            ("Gt CO2e", "Mt CO2e", 1000), ("kg CO2e", "t CO2e", Fraction(1, 1000))])
def test_conversion_factors_are_exact(src, dst, factor):
    assert units.factor(src, dst) == factor


def test_conversions_round_trip_exactly():
    for v in ("0.1", "1.234", "123456789.123", "7e-3", "52000000"):
        t = units.convert(v, "kt CO2e", "t CO2e")
        assert t == float(Fraction(v) * 1000)
        assert units.convert(repr(t), "t CO2e", "kt CO2e") == float(Fraction(v))
    assert units.convert("1.1", "Mt CO2e") == 1_100_000.0  # 1.1 * 1e6 in binary floats is 1100000.0000000002


def test_spellings_of_tonnes():
    for u in ("tCO2e", "t CO2e", "tons CO₂e", "tonnes CO2e", "t_co2e"):
        assert units.canonical(u) == "tonne_co2e"
    assert units.written("ktCO2e") == "kt CO2e"


def test_unknown_unit_is_flagged_not_converted():
    rec = {"entity_id": "x", "metric": "scope1", "period": "2020", "value": 12.5, "unit": "lbs CO2"}
    flags, refused = V.check_record(rec)
    assert refused is None and flags == ["esg.unknown_unit"]
    assert rec["value"] == 12.5 and rec["unit"] == "lbs CO2"
    with pytest.raises(units.UnknownUnit):
        units.convert(1, "lbs CO2", "t CO2e")


def test_known_unit_is_converted_to_the_catalogue_unit():
    rec = {"entity_id": "x", "metric": "scope2_market", "period": "2020", "value": 2.5, "unit": "Mt CO2e"}
    flags, refused = V.check_record(rec)
    assert (flags, refused) == ([], None)
    assert rec["value"] == 2_500_000.0 and rec["unit"] == "t CO2e" and "converted from Mt CO2e" in rec["method"]


def test_emission_checks():
    neg = {"entity_id": "x", "metric": "scope1", "period": "2020", "value": -5.0, "unit": "t CO2e"}
    assert V.check_record(neg)[1] == "esg.negative_emissions"
    zero = {"entity_id": "x", "metric": "ets_verified", "period": "2020", "value": 0.0, "unit": "t CO2e"}
    assert V.check_record(zero) == (["esg.zero_emissions"], None)
    huge = {"entity_id": "x", "metric": "scope3", "period": "2020", "value": 9e12, "unit": "t CO2e"}
    assert "esg.implausible_magnitude" in V.check_record(huge)[0]
    usd = {"entity_id": "x", "metric": "scope1", "period": "2020", "value": 9.0, "unit": "USD"}
    assert V.check_record(usd)[0] == ["esg.unit_mismatch"]
    assert V.check_record({"entity_id": "x", "metric": "scope9", "period": "2020", "value": 1.0})[1] == \
        "esg.unknown_metric"


def test_scope_totals_and_jumps():
    recs = [{"entity_id": "e", "metric": "scope1", "period": "2020", "value": 100.0},
            {"entity_id": "e", "metric": "scope2", "period": "2020", "value": 50.0},
            {"entity_id": "e", "metric": "scope12", "period": "2020", "value": 200.0},
            {"entity_id": "f", "metric": "scope1", "period": "2020", "value": 10.0},
            {"entity_id": "f", "metric": "scope2", "period": "2020", "value": 5.0},
            {"entity_id": "f", "metric": "scope12", "period": "2020", "value": 15.05}]
    V.check_totals(recs)
    assert recs[2].get("flags") == "esg.scope_total_mismatch"
    assert recs[5].get("flags") is None  # within 1%
    series = [{"entity_id": "g", "metric": "scope1", "period": "2019", "value": 1000.0},
              {"entity_id": "g", "metric": "scope1", "period": "2020", "value": 10_000.0},
              {"entity_id": "h", "metric": "scope1", "period": "2019", "value": 1000.0},
              {"entity_id": "h", "metric": "scope1", "period": "2020", "value": 9_000.0}]
    V.check_jumps(series)
    assert series[1].get("flags") == "esg.yoy_jump" and series[3].get("flags") is None
    stored = [{"entity_id": "k", "metric": "scope3", "period": "2019", "value": 50.0}]
    new = [{"entity_id": "k", "metric": "scope3", "period": "2020", "value": 4.0}]
    V.check_jumps(new, stored)
    assert new[0]["flags"] == "esg.yoy_jump"


@pytest.mark.parametrize("text,expected", [
    ("81655", 81655.0), (" $40370000000,00 ", 40370000000.0), ("$136200000000,00", 136200000000.0),
    ("0,3346%", 0.3346), ("1,600,000,000", 1.6e9), ("1.234,5", 1234.5), ("1,234.5", 1234.5), ("-12", -12.0),
    ("NA", None), ("", None), (None, None), (2050.0, 2050.0)])
def test_numbers(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize("text,rule", [("--", "esg.placeholder"), ("-", "esg.placeholder"),
                                       ("#VALUE!", "esg.placeholder"), ("#N/A", "esg.placeholder"),
                                       ("n.a.", "esg.placeholder"), ("twelve", "esg.not_a_number"),
                                       ("12 t", "esg.not_a_number"), ("1,600", "esg.ambiguous_number")])
def test_not_numbers_are_refused_never_zero(text, rule):
    with pytest.raises(NotANumber) as e:
        parse_number(text)
    assert e.value.rule == rule


def test_decimal_convention_settles_the_ambiguous_comma():
    assert parse_number("1,600", decimal_comma=True) == 1.6
    assert parse_number("1,600", decimal_comma=False) == 1600.0


def test_years():
    assert [year_of(v) for v in ("FY2030", 2050.0, "2040", None, "")] == [2030, 2050, 2040, None, None]
    with pytest.raises(NotANumber):
        year_of("soon")


@pytest.mark.parametrize("a,b", [("Siemens AG", "SIEMENS Aktiengesellschaft"), ("Eni S.p.A.", "ENI SPA"),
                                 ("Nokia Oyj", "Nokia Corporation"), ("ING Groep N.V.", "ING Groep NV"),
                                 ("AB Volvo (publ)", "Volvo AB"), ("Nestlé S.A.", "Nestle SA"),
                                 ("Procter & Gamble Co", "The Procter and Gamble Company"),
                                 ("TotalEnergies SE", "TOTALENERGIES SE"),
                                 ("KGHM Polska Miedź SA", "KGHM POLSKA MIEDZ")])
def test_names_normalise_across_languages_and_legal_forms(a, b):
    assert normalise(a) == normalise(b)


def test_different_companies_stay_apart():
    assert normalise("Bank of America") != normalise("America Movil")
    assert normalise("Air Liquide") != normalise("Air France")


def test_legal_forms_tell_subsidiaries():
    assert legal_forms("Foo Polska Sp. z o.o.") == {"spzoo"}
    assert form_conflict("Signify Holding B.V.", "Signify N.V.", "NL") is not None
    assert form_conflict("BAE Systems, Inc.", "BAE Systems plc", "GB") is not None
    assert form_conflict("Siemens Aktiengesellschaft", "Siemens AG", "DE") is None
    assert form_conflict("Orange SA", "Orange S.A.", "FR") is None


def test_identifiers_need_agreeing_names():
    from marketwire.esg.linking import names_agree

    assert names_agree("Keysight Technologies", "KEYSIGHT TECHS  DL-,01")
    assert names_agree("IBM", "International Business Machines Corporation")
    assert not names_agree("Eni SpA", "ENGIE SA")  # a tracker row carrying another company's ISIN
    assert not names_agree("MediaTek", "Medical Properties Trust, Inc.")
    assert form_conflict("EQT AB", "EQT Corporation", "US") is not None
    assert form_conflict("Yamato Holdings Co", "Yamato Corporation", "JP") is not None
    assert form_conflict("Sony", "Sony Group Corporation", "JP") is None
