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
    Rule("row.blank", "reject", "*", "A blank line between the rows of a file (blank lines at its end are not rows)."),
    Rule("file.too_many_refusals", "reject", "*",
         "A file with more refused rows than the cap ($MARKETWIRE_MAX_REFUSALS_PER_FILE, default 10,000): refused "
         "whole, with one summary record (rows, refused, the first refusals) instead of a quarantine row per line."),
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
         "A listing created from a source that only names a ticker (an index list, a price file whose symbol the "
         "master does not know), not from a directory."),
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
    # daily bars: rows refused
    Rule("bar.unparseable", "reject", "bars_daily", "A date or price that is not a date or a number (the field is named)."),
    Rule("bar.two_digit_year", "reject", "bars_daily",
         "A date written with a two-digit year (17-01-03): 1917 or 2017 cannot be told; never guessed."),
    Rule("bar.date_out_of_range", "reject", "bars_daily", "A date before 1800-01-01 or after tomorrow (UTC)."),
    Rule("bar.non_finite", "reject", "bars_daily", "A price or volume that is infinite (inf, -inf)."),
    Rule("bar.out_of_range", "reject", "bars_daily",
         "A price (open, high, low, close, adjusted close) above 1e9 or a volume above 1e15 (e.g. 1e308)."),
    Rule("bar.sub_tick", "reject", "bars_daily",
         "A positive price below 1e-6, the smallest price the lake stores (it would be stored as zero)."),
    Rule("bar.missing_price", "reject", "bars_daily", "A bar without a close (empty, or NaN and the like)."),
    Rule("bar.non_positive_price", "reject", "bars_daily", "An open, high, low or close at or below zero."),
    Rule("bar.negative_volume", "reject", "bars_daily", "A volume below zero."),
    Rule("bar.volume_not_integer", "reject", "bars_daily", "A volume that is not a whole number of shares."),
    Rule("bar.ohlc_inconsistent", "reject", "bars_daily",
         "High below low, or the close outside [low, high] (beyond 1e-6 relative)."),
    Rule("bar.weekend", "reject", "bars_daily",
         "A date on a weekday the listing's exchange never trades (Saturday or Sunday for most)."),
    Rule("bar.duplicate_date", "reject", "bars_daily",
         "A second bar for the same listing and date in one delivery; the first is kept, later ones quarantined."),
    # daily bars: stored with a flag
    Rule("bar.non_session", "flag", "bars_daily",
         "A trading weekday that is not a session of the listing's exchange calendar (a holiday or closure)."),
    Rule("bar.open_outside_range", "flag", "bars_daily",
         "An open outside [low, high]: common for opening auctions some vendors report apart from the day's range."),
    Rule("bar.spike", "flag", "bars_daily",
         "A one-day move far beyond the series' own volatility (6 robust sigmas, at least 8%) that reverts the "
         "next day."),
    Rule("bar.unit_jump", "flag", "bars_daily",
         "Prices 100 or 1000 times (or a hundredth or thousandth of) their neighbours, or within the bar: a unit "
         "error (GBX vs GBP, a lost thousands separator)."),
    Rule("bar.unrecorded_split", "flag", "bars_daily",
         "A lasting jump by a split-like ratio (2:1, 3:2, 1:10...; close to close or in the overnight gap) beyond 8 "
         "robust sigmas, with no split in the ledger on that date (or in a series the vendor says is already "
         "split-adjusted)."),
    Rule("bar.stale", "flag", "bars_daily",
         "Two or more sessions in a row repeating the previous close with zero volume (a stale feed)."),
    Rule("bar.adj_mismatch", "flag", "bars_daily",
         "The vendor's adjusted close steps where the ledger has no action (a dividend or split the file omits)."),
    # corporate actions
    Rule("action.non_positive", "reject", "corporate_actions", "A dividend, capital gain or split ratio below zero."),
    Rule("action.out_of_range", "reject", "corporate_actions",
         "A dividend, capital gain or split ratio that is infinite or above 1e9."),
    Rule("split.mismatch", "flag", "corporate_actions",
         "A recorded split without the matching price jump in a raw series, or with a jump in a series the vendor "
         "says is already split-adjusted."),
    Rule("dividend.implausible", "flag", "corporate_actions",
         "A dividend above 35% of the previous close, or 20 times the listing's usual dividend (a unit or decimal "
         "error)."),
    Rule("dividend.no_price_drop", "flag", "corporate_actions",
         "A dividend worth more than 3% of the price without a price drop of about that size on the ex date "
         "(a wrong amount, unit or date)."),
    Rule("dividend.duplicate", "flag", "corporate_actions",
         "A second dividend of about the same amount (within 25%) within a week: one payment recorded twice."),
    Rule("dividend.vendor_mismatch", "flag", "corporate_actions",
         "The vendor's adjusted close steps by a different factor than this dividend implies (missing adjustment, "
         "capital gains counted twice, a wrong amount)."),
    Rule("capital_gain.in_dividend", "flag", "corporate_actions",
         "A capital gain the source also counts inside the dividend of the same date (yfinance); total return "
         "counts it once."),
    # FX and reconciliation
    Rule("fx.bad_rate", "reject", "fx_rates", "A rate that is not a positive number."),
    Rule("fx.bad_date", "reject", "fx_rates", "A row whose date is not a date."),
    Rule("price.source_disagreement", "flag", "price_disagreements",
         "Two sources disagree on a listing's close for a date by more than 0.5% (levels in the same basis, "
         "daily returns across bases); recorded in price_disagreements."),
    # news
    Rule("news.no_text", "reject", "news_articles",
         "A page or text file with no article text: empty, or nothing left after extraction (a login form, an "
         "index page, a title line alone), and no text of its own in the feed item."),
    Rule("news.unparseable", "reject", "news_articles",
         "A page that cannot be read as HTML or text (binary or undecodable bytes, markup the parser rejects, an "
         "extractor failure)."),
    Rule("news.too_large", "reject", "news_articles",
         "A page over the size cap (20 MB for extraction; the fetcher's own cap for a download), not parsed; or an "
         "article text (a text file's, or a page's extracted body) over 500,000 characters, not stored."),
    Rule("news.ssrf_refused", "reject", "news_articles",
         "A feed item's link the SSRF guard refused (a private, loopback or otherwise non-public address not on "
         "the --allow list); nothing was fetched and the item has no text of its own."),
    Rule("news.fetch_failed", "reject", "news_articles",
         "A feed item's page that could not be fetched (HTTP error, timeout, connection error, robots.txt) and "
         "that has no text of its own in the feed."),
    Rule("news.bad_published", "reject", "news_articles",
         "A publication time stated by a page or an item that is not a date or an instant; the article is stored "
         "without it and the value is quarantined."),
    # fundamentals and estimates
    Rule("fact.source_disagreement", "reject", "sec_facts",
         "A fact another source (company facts, an instance document) already stored for the same filing, tag, unit, "
         "period and dimensions with another value: the stored value stays, this reading is quarantined with both."),
    Rule("fsds.nil_value", "reject", "sec_fsds_facts",
         "A Financial Statement Data Sets number without a value (a nil fact in the filing): kept in the quarantine."),
    Rule("fsds.malformed", "reject", "sec_fsds_facts",
         "A Financial Statement Data Sets number whose date (ddate), length (qtrs) or value cannot be read."),
    Rule("filing.malformed", "reject", "sec_filings", "A filing without an accession number or a filing date."),
    Rule("estimate.malformed", "reject", "consensus",
         "An estimate record without a symbol, a fiscal period end that is not a date, or no numeric estimate."),
    Rule("fact.malformed", "reject", "sec_facts",
         "A fact that cannot be read: no value, a value that is not a finite number, a start, end or filing date "
         "that is not a date, an accession that is not ##########-##-######; quarantined with taxonomy, tag, unit "
         "and accession."),
    Rule("fact.impossible_period", "reject", "sec_facts",
         "A fact whose period starts after it ends, ends before 1900, or ends more than five years after it was "
         "filed."),
    Rule("fact.conflict_copy", "reject", "sec_facts",
         "A second value for one tag, unit, period and dimensions within one filing; the first is stored (flagged "
         "fact.conflict_in_filing), this copy is quarantined."),
    Rule("fact.conflict_in_filing", "flag", "sec_facts",
         "One filing reports different values for the same tag, unit, period and dimensions."),
    Rule("fact.unknown_unit", "flag", "sec_facts",
         "A unit that is neither an ISO 4217 currency, shares, pure nor a known measure (or a ratio of two); "
         "stored as reported."),
    Rule("fact.unknown_tag", "flag", "sec_facts",
         "A tag outside the standard taxonomies of the SEC's company facts (or not an XBRL element name); stored "
         "as reported."),
    Rule("fact.unit_mismatch", "flag", "sec_facts",
         "A unit that does not fit the tag: a per-share item not in currency/shares, a share count not in shares, a "
         "monetary item not in a currency (by the mapping table)."),
    Rule("fact.sign", "flag", "sec_facts",
         "A negative value of an item that cannot be negative (revenue, assets, shares ...), or the negation of "
         "what another filing reports for the same period."),
    Rule("fact.scale", "flag", "sec_facts",
         "A value 1000 times (or a thousandth of) what another filing reports for the same tag and period, or of "
         "both neighbouring periods of the same tag: a scale error (thousands vs units)."),
    Rule("balance.identity", "flag", "sec_facts",
         "Total assets differ from liabilities and equity (or liabilities + equity + noncontrolling interests) "
         "by more than 0.5% in one filing at one date."),
    Rule("quarters.sum", "flag", "sec_facts",
         "Reported sub-periods do not add up: a cumulative flow (6 months, 9 months, the fiscal year) differs from "
         "the shorter cumulative plus the quarter that completes it by more than 0.5% (and 1% of the unit's "
         "rounding), in the same filing."),
    # realtime stream (marketwire.stream.verify): flags on events of the log, and feed input that is no event
    Rule("stream.quote_crossed", "flag", "quotes", "A quote whose bid is above its ask on the same venue (the venue's "
         "last known other side; Lean's NBBO rows compare as one consolidated book)."),
    Rule("stream.quote_locked", "flag", "quotes", "A quote whose bid equals its ask on the same venue."),
    Rule("stream.seq_out_of_order", "flag", "trades",
         "An event whose exchange time or sequence number goes backwards for its listing and venue."),
    Rule("stream.seq_gap", "flag", "trades",
         "An event whose sequence number jumps forward on a feed with contiguous sequences: messages were lost."),
    Rule("stream.price_band", "flag", "trades",
         "A trade outside the band around the median of the listing's previous 32 trades, scaled to its recent "
         "volatility: max(1 %, 8 x the weighted mean absolute log deviation)."),
    Rule("stream.price_nonpositive", "flag", "trades", "A trade or quote side with a zero or negative price."),
    Rule("stream.size_nonpositive", "flag", "trades", "A trade or quote side with a zero or negative size."),
    Rule("stream.trade_duplicate", "flag", "trades", "A trade whose id was seen before on the same listing and venue."),
    Rule("stream.vendor_suspicious", "flag", "trades", "An event the vendor marked suspicious (kept, flagged)."),
    Rule("stream.book_resync", "flag", "trades", "A book event rebuilt from a snapshot after a gap in the update ids."),
    Rule("stream.unparseable", "reject", "trades",
         "A feed message or row that cannot be parsed into an event: quarantined with its raw bytes, the feed and "
         "its position; the stream goes on."),
    # ESG and climate (marketwire.esg.verify)
    Rule("esg.placeholder", "reject", "esg_metrics",
         "A cell holding a placeholder instead of a number (--, -, #VALUE!, #N/A ...): the row is stored, the value "
         "quarantined with file, row, column and raw text; never read as zero."),
    Rule("esg.not_a_number", "reject", "esg_metrics", "A cell that is not a number (words, stray characters); never coerced."),
    Rule("esg.ambiguous_number", "reject", "esg_metrics",
         "A number with one comma before three digits (1,600) in a file whose decimal convention is not known: "
         "thousands or decimals cannot be told; never guessed."),
    Rule("esg.not_reported", "reject", "esg_metrics",
         "A verified-emissions cell that states a status (Excluded, Not Reported) instead of a number: quarantined "
         "with the raw text; no value is stored for the year."),
    Rule("esg.bad_year", "reject", "esg_metrics", "A target or reporting year that is not a year between 1900 and 2200."),
    Rule("esg.missing_name", "reject", "esg_metrics", "A row without the name of the entity it describes."),
    Rule("esg.conflicting_duplicate", "reject", "esg_metrics",
         "A second value for the same entity, metric and period in one delivery that differs from the first: the "
         "first is stored, this one quarantined (which is right is never guessed)."),
    Rule("esg.unknown_metric", "reject", "esg_metrics", "A metric code that is not in the catalogue (esg/metrics.csv)."),
    Rule("esg.negative_emissions", "reject", "esg_metrics",
         "An emissions value below zero (emissions, allocations and surrenders are never negative)."),
    Rule("esg.unknown_unit", "flag", "esg_metrics", "A value in a unit the unit library does not know: stored as written, "
                                        "never converted."),
    Rule("esg.unit_mismatch", "flag", "esg_metrics", "A unit of another dimension than the metric's (e.g. USD for scope 1)."),
    Rule("esg.implausible_magnitude", "flag", "esg_metrics",
         "Emissions of one company above 5 Gt CO2e a year (the largest emitters report about 2 Gt including "
         "scope 3): a unit error (kg for t, t for kt) is likely."),
    Rule("esg.zero_emissions", "flag", "esg_metrics", "Scope 1, scope 1+2 or verified emissions reported as exactly zero."),
    Rule("esg.scope_total_mismatch", "flag", "esg_metrics",
         "Scope 1 + scope 2 differs from the stated scope 1+2 total (or 1+2+3 from the stated 1-3 total) by more "
         "than 1%."),
    Rule("esg.yoy_jump", "flag", "esg_metrics",
         "A value 10 times (or a tenth of) the same entity's value for the previous period in the same source."),
    Rule("esg.source_disagreement", "flag", "esg_disagreements",
         "Two sources state the same metric of the same issuer for the same period and differ by more than 10%; "
         "both are kept and the disagreement is recorded in esg_disagreements."),
]

#: the rules marketwire itself declares (docs/rules.md); plugins add theirs to RULES
BUILTIN_RULES: tuple[Rule, ...] = tuple(_R)
RULES: dict[str, Rule] = {r.code: r for r in _R}
SEVERITIES = ("reject", "flag")


def register(r: Rule) -> None:
    """Add a rule to the catalogue (a plugin's). A code already declared differently is an error."""
    if r.severity not in SEVERITIES:
        raise ValueError(f"rule {r.code}: severity {r.severity!r} is not reject or flag")
    if r.code in RULES and RULES[r.code] != r:
        raise ValueError(f"rule {r.code} is already declared")
    RULES[r.code] = r


def severity(code: str) -> str:
    """``reject`` or ``flag``; a code nobody declared counts as a refusal."""
    return RULES[code].severity if code in RULES else "reject"


def rule(code: str) -> Rule:
    return RULES[code]
