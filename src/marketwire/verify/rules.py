"""The rule catalogue: every rule has a code, a severity and a one-line description (docs/rules.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str  # "reject": the record (or the value) goes to quarantine; "flag": stored, with the flag
    dataset: str
    description: str


_R = [
    # rows and files
    Rule("row.duplicate", "reject", "*", "The same row appears twice in one file; the second copy is quarantined."),
    Rule("record.malformed", "reject", "*", "A record that is not of the expected shape (e.g. not a JSON object)."),
    Rule("record.out_of_scope", "reject", "ref_observations",
         "A row that is not a security (currency pairs, crypto assets) offered to the securities master."),
    # listings
    Rule("listing.missing_symbol", "reject", "ref_observations", "A listing row without a symbol."),
    Rule("listing.bad_symbol", "reject", "ref_observations", "A symbol with characters no venue convention uses."),
    Rule("listing.test_issue", "reject", "ref_observations",
         "A test issue of the exchange (Test Issue = Y), not a tradable security."),
    Rule("listing.unknown_exchange", "reject", "ref_observations",
         "An exchange code the directory format does not define."),
    Rule("listing.mic_missing", "reject", "ref_observations", "A listing whose venue has no ISO 10383 MIC."),
    Rule("listing.unknown_mic", "flag", "ref_observations",
         "A MIC that is not in the loaded ISO 10383 list (load `mic` first)."),
    Rule("listing.name_conflict", "flag", "listings",
         "Two sources name different companies for one ticker@MIC on the same date; the directory's is kept."),
    Rule("listing.provisional", "flag", "listings",
         "A listing created from a source that only names a ticker (e.g. an index list), not from a directory."),
    # check digits and formats (python-stdnum)
    Rule("isin.check_digit", "reject", "ref_observations", "ISIN with a wrong check digit (ISO 6166, Luhn)."),
    Rule("isin.format", "reject", "ref_observations", "ISIN that is not 2 letters + 9 alphanumerics + 1 digit."),
    Rule("cusip.check_digit", "reject", "ref_observations", "CUSIP with a wrong check digit."),
    Rule("cusip.format", "reject", "ref_observations", "CUSIP that is not 9 alphanumerics."),
    Rule("figi.check_digit", "reject", "ref_observations", "FIGI with a wrong check digit."),
    Rule("figi.format", "reject", "ref_observations",
         "Malformed FIGI: not 12 characters, not starting BBG/other issuer prefix + G, or vowels in the body."),
    Rule("lei.check_digit", "reject", "ref_observations", "LEI with wrong ISO 17442 check digits (mod 97)."),
    Rule("cik.format", "reject", "ref_observations", "CIK that is not a number of at most 10 digits."),
    # consistency (flags)
    Rule("isin.country_mismatch", "flag", "securities",
         "ISIN country prefix contradicts the listing venue, the issuer country and the currency "
         "(typically an ADR's ISIN copied onto a home-market listing)."),
    Rule("isin.multiple_issuers", "flag", "securities",
         "One ISIN claimed by listings whose names say they are unrelated issuers."),
    Rule("isin.cusip_mismatch", "flag", "securities",
         "A US or CA ISIN whose embedded CUSIP (characters 3-11) differs from the CUSIP given for the security."),
    Rule("cusip.multiple_issuers", "flag", "securities",
         "One CUSIP held by securities whose names say they are unrelated issuers (all but the main holder)."),
    Rule("figi.shared", "flag", "listings",
         "One exchange-level FIGI given to several listings (FIGIs identify exactly one listing)."),
    Rule("figi.role_mismatch", "flag", "listings",
         "A FIGI used in two roles (exchange-level vs composite vs share class) for the same record."),
    Rule("cik.multiple_issuers", "flag", "issuers", "One CIK attached to issuers with unrelated names."),
    # indexes
    Rule("index.missing_symbol", "reject", "index_observations", "A constituent row without a symbol."),
    Rule("index.bad_date_added", "flag", "index_observations", "'Date added' that is not a date."),
    Rule("index.unresolved", "flag", "index_membership",
         "A constituent ticker that matches no listing on the snapshot date; a provisional listing is created."),
    # ISO lists
    Rule("mic.format", "reject", "exchanges", "A MIC that is not four letters or digits."),
    Rule("country.format", "reject", "countries", "An alpha-2 code that is not two letters."),
]

RULES: dict[str, Rule] = {r.code: r for r in _R}


def rule(code: str) -> Rule:
    return RULES[code]
