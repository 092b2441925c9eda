"""Property tests for every parser: whatever the bytes, a parser answers with records and named refusals, or with
one of marketwire's own errors naming the file; never an internal error, never a crash.

Inputs are drawn from three families per format: arbitrary bytes, text made of the format's own alphabet
(separators, quotes, digits, signs, exponents, NaN/inf spellings, blank lines), and well-formed rows with wild
cell values. Each refusal must carry a rule of the catalogue and the file it came from."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketwire.errors import MarketwireError
from marketwire.sources import get_source
from marketwire.sources.base import Batch, FrameBatch, Query, RawFile
from marketwire.verify.rules import RULES

pytestmark = pytest.mark.unit

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

CELLS = st.one_of(
    st.sampled_from(["", " ", "NaN", "nan", "inf", "-inf", "1e308", "-1e308", "1e-15", "0", "-0", "-1", "N/A", "null",
                     "0001-01-01", "9999-12-31", "17-01-03", "2017-02-30", "2017-01-03", "20170103", "2017-01-03 10:00",
                     '"', '""', "'", "\\", "\x00", "\u00e9", "1,5", "  7  ", "1_000", "0x10", "١٢٣"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.text(max_size=12),
)


def rows_text(header: list[str], sep: str = ",") -> st.SearchStrategy[bytes]:
    """A header line and rows of wild cells, sometimes short or long by a field, with blank lines between."""
    row = st.lists(CELLS, min_size=max(1, len(header) - 1), max_size=len(header) + 1).map(sep.join)
    body = st.lists(st.one_of(row, st.just(""), st.just("   ")), max_size=12)
    return body.map(lambda rs: (sep.join(header) + "\n" + "\n".join(rs) + "\n").encode("utf-8", "surrogatepass"))


def alphabet_text(chars: str) -> st.SearchStrategy[bytes]:
    return st.text(alphabet=chars, max_size=400).map(lambda s: s.encode("utf-8"))


ANY_BYTES = st.binary(max_size=600)


def run_source(name: str, raw: RawFile, **options: Any) -> None:
    """Transform ``raw`` with source ``name``; the only errors allowed are marketwire's own, naming the file."""
    src = get_source(name)
    query = src.query([raw.name] if name == "prices-csv" else [], date(2020, 1, 2), **options)
    try:
        out = src.transform(query, raw)
    except MarketwireError as e:
        assert e.code != "error", e  # a specific code, not the bare base class
        named = str(e.fields.get("file") or "") + e.message
        assert raw.name in named or "`" in e.message, e.message  # names the file, or the parameter at fault
        return
    assert isinstance(out, (Batch, FrameBatch))
    if isinstance(out, FrameBatch):
        frame = out.frame.collect() if isinstance(out.frame, pl.LazyFrame) else out.frame
        assert isinstance(frame, pl.DataFrame)
    for r in out.refusals:
        assert r.rule in RULES, r.rule
        assert r.file == raw.name and r.message


# -- price files -------------------------------------------------------------------------------------------------

KAGGLE = ["Date", "Open", "High", "Low", "Close", "Volume", "OpenInt"]
ZIPLINE = ["date", "open", "high", "low", "close", "volume", "dividend", "split"]


@FUZZ
@given(data=rows_text(KAGGLE))
def test_price_csv_rows(data: bytes) -> None:
    run_source("prices-csv", RawFile("fz.us.txt", data), preset="kaggle")


@FUZZ
@given(data=rows_text(ZIPLINE))
def test_zipline_csv_rows(data: bytes) -> None:
    run_source("prices-csv", RawFile("fz.csv", data), preset="zipline-csvdir", symbol="FZ")


@FUZZ
@given(data=st.one_of(ANY_BYTES, alphabet_text("Date,OpenHighLowCloseVolume0123456789.-+eEnaif\n\r\" \t")))
def test_price_csv_bytes(data: bytes) -> None:
    run_source("prices-csv", RawFile("fz.us.txt", data))


@FUZZ
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=8),
       days=st.lists(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)), min_size=1, max_size=8))
def test_price_parquet_typed_columns(values: list[float], days: list[date]) -> None:
    n = min(len(values), len(days))
    buf = io.BytesIO()
    pl.DataFrame({"date": days[:n], "open": values[:n], "high": values[:n], "low": values[:n], "close": values[:n],
                  "volume": values[:n], "dividend": values[:n], "split": values[:n]}).write_parquet(buf)
    run_source("prices-csv", RawFile("fz.parquet", buf.getvalue()), preset="zipline-csvdir", symbol="FZ")


@FUZZ
@given(data=st.one_of(ANY_BYTES, rows_text(["Date", "USD", "JPY", "GBP"])))
def test_ecb_fx(data: bytes) -> None:
    run_source("ecb-fx", RawFile("eurofxref-hist.csv", data))


# -- directories -----------------------------------------------------------------------------------------------

@FUZZ
@given(data=st.one_of(ANY_BYTES,
                      rows_text(["Symbol", "Security Name", "Market Category", "Test Issue", "Financial Status",
                                 "Round Lot Size", "ETF", "NextShares"], sep="|"),
                      rows_text(["ACT Symbol", "Security Name", "Exchange", "CQS Symbol", "ETF", "Round Lot Size",
                                 "Test Issue", "NASDAQ Symbol"], sep="|"),
                      rows_text(["Symbol", "Company Name"])))
def test_nasdaqtrader(data: bytes) -> None:
    run_source("nasdaqtrader", RawFile("nasdaqlisted.txt", data))


JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=20)


@FUZZ
@given(doc=st.one_of(
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["0", "1", "2"]),
                    st.fixed_dictionaries({"cik_str": st.one_of(st.integers(), st.text(max_size=12), st.none()),
                                           "ticker": st.one_of(st.text(max_size=8), st.integers(), st.none()),
                                           "title": st.one_of(st.text(max_size=20), st.none())}))
    .map(lambda v: json.dumps(v).encode()),
    ANY_BYTES))
def test_sec_tickers(doc: bytes) -> None:
    run_source("sec-tickers", RawFile("company_tickers.json", doc))


@FUZZ
@given(data=st.one_of(ANY_BYTES, rows_text(["symbol", "name", "currency", "sector", "industry", "exchange",
                                           "market", "country", "isin", "cusip", "figi", "composite_figi",
                                           "shareclass_figi", "market_cap"])))
def test_financedatabase(data: bytes) -> None:
    run_source("financedatabase", RawFile("equities.csv", data))


@FUZZ
@given(data=st.one_of(ANY_BYTES, rows_text(["Symbol", "Security", "GICS Sector", "GICS Sub-Industry",
                                           "Headquarters Location", "Date added", "CIK", "Founded"])))
def test_sp500(data: bytes) -> None:
    run_source("sp500-constituents", RawFile("sp500_2015-01-10.csv", data))


# -- news: feeds and pages ------------------------------------------------------------------------------------

FEED_TAGS = st.lists(st.sampled_from(["<rss version='2.0'>", "<channel>", "<item>", "<title>", "</title>", "<link>",
                                      "</link>", "<pubDate>", "</pubDate>", "<description>", "</description>",
                                      "</item>", "</channel>", "</rss>", "<feed xmlns='http://www.w3.org/2005/Atom'>",
                                      "<entry>", "</entry>", "<![CDATA[", "]]>", "&amp;", "&bogus;", "\x00",
                                      "Mon, 99 Foo 2024 25:61:00 +9999", "http://127.0.0.1/", "javascript:x"]),
                     max_size=40).map(lambda parts: "".join(parts).encode())


@FUZZ
@given(data=st.one_of(ANY_BYTES, FEED_TAGS))
def test_feed_parser(data: bytes) -> None:
    from marketwire.news.parse import parse_feed

    parsed = parse_feed(data, "https://example.org/feed.xml")
    assert parsed.status in ("ok", "bozo", "unparseable") or isinstance(parsed.status, str)
    for e in parsed.entries:
        assert e.raw_json()  # every entry serialises for the quarantine


HTML_BITS = st.lists(st.sampled_from(["<html>", "<head>", "<title>T</title>", "<meta charset='koi8-r'>", "<body>",
                                      "<p>", "</p>", "<h1>Headline</h1>", "<ul><li>x</li></ul>", "<script>x</script>",
                                      "<article>", "</article>", "word ", "\x00", "\ufffd", "<!--", "-->",
                                      "<meta property='article:published_time' content='2024-99-99'>",
                                      '<script type="application/ld+json">{"datePublished": [1]}</script>',
                                      "</body>", "</html>"]), max_size=60).map(lambda p: "".join(p).encode())


@FUZZ
@given(data=st.one_of(ANY_BYTES, HTML_BITS))
def test_page_extraction(data: bytes) -> None:
    from marketwire.news.extract import extract

    ex = extract(data, "https://example.org/a")
    assert ex.status in ("ok", "no_text", "not_html", "too_large", "failed")
    assert ex.ok == bool(ex.body) or ex.status != "ok"


# -- the whole price ingest (parse, resolve, verify, ticks, write, quarantine) -------------------------------------

@settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(data=rows_text(KAGGLE))
def test_price_ingest_end_to_end(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    import marketwire

    root = tmp_path_factory.mktemp("fuzz")
    path = root / "fz.us.txt"
    path.write_bytes(data)
    mw = marketwire.open(root / "home")
    try:
        rep = mw.ingest("prices-csv", [str(path)], preset="kaggle")
    except MarketwireError as e:
        assert e.code != "error" and ("fz.us.txt" in e.message or "`" in e.message), e.message
        assert not mw.lake.exists("bars_daily") and not mw.lake.exists("price_listings")
        return
    quarantined = mw.quarantine()
    assert all(q["rule"] in RULES and q["message"] for q in quarantined)
    stored = mw.dataset("bars_daily") if mw.lake.exists("bars_daily") else []
    assert rep.accepted == len(stored)
    for bar in stored:  # nothing stored is out of range or rounded to nothing
        assert bar["close"] > 0
    if not stored:  # a file of which nothing was kept leaves no listing behind
        assert not mw.lake.exists("price_listings")
