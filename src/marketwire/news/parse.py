"""Feed parsing: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and CDF through feedparser, reduced to what the wire stores.

Feeds in the wild are often broken: unclosed tags, undeclared namespaces, a charset header that contradicts the
XML declaration, Latin-1 bytes with no declaration at all. feedparser's answer is the *bozo* flag: it falls back
to a lenient parser and keeps whatever it can. :func:`parse_feed` never raises for a bad document; it reports

* ``ok``: a clean parse (a non-XML ``Content-Type`` alone does not count against a feed that parsed, since many
  servers label feeds ``text/html`` or ``text/plain``; a missing one is read as ``application/xml``);
* ``bozo_ok``: the document was broken but entries were recovered; ``bozo_reason`` says what was wrong;
* ``unparseable``: nothing usable came out (an HTML error page, an empty body, binary noise).

Encodings. The HTTP ``Content-Type`` charset and ``Content-Location`` (the base for relative links) are handed to
feedparser, which applies the RFC 3023 rules and falls back to other encodings on a mismatch. When it still
recovers nothing and blames the encoding, the bytes are decoded once more with ``charset_normalizer`` and parsed as
UTF-8.

Dates. feedparser normalises the formats it knows to UTC; it does not read month and weekday names of other
languages (UOL's ``Seg, 24 Set 2018 19:42:40 -0300``). Those are translated to English for a second try. The raw
string is always kept, so a date that neither reading understood is still there.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import feedparser
from feedparser.datetimes import _parse_date

Status = Literal["ok", "bozo_ok", "unparseable"]

#: bozo exceptions that say nothing about the document itself
_BENIGN_BOZO = ("NonXMLContentType",)
#: bozo exceptions after which a second decoding is worth trying
_ENCODING_BOZO = ("CharacterEncodingUnknown", "CharacterEncodingOverride", "UnicodeDecodeError")


@dataclass(frozen=True)
class ParsedEntry:
    """One item of a feed. Dates are timezone-aware UTC or ``None``; the ``*_raw`` strings are as published."""

    id: str | None
    link: str | None
    title: str | None
    summary: str | None
    content_html: str | None
    published: datetime | None
    published_raw: str | None
    updated: datetime | None
    updated_raw: str | None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The entry as feedparser gave it, JSON-ready (``*_parsed`` time tuples dropped)."""

    def raw_json(self) -> str:
        return json.dumps(self.raw, ensure_ascii=False, default=str, sort_keys=True)


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed document; ``status`` and ``bozo_reason`` say how clean the parse was."""

    url: str
    status: Status
    title: str | None = None
    language: str | None = None
    """The language the feed declares (``<language>``, ``xml:lang``), not a guess from the text."""
    link: str | None = None
    entries: tuple[ParsedEntry, ...] = ()
    bozo_reason: str | None = None
    encoding: str | None = None
    version: str | None = None
    """feedparser's format name (``rss20``, ``atom10`` ...); empty when the document was not recognised."""

    @property
    def ok(self) -> bool:
        return self.status != "unparseable"


def parse_feed(data: bytes, url: str, headers: dict[str, str] | None = None) -> ParsedFeed:
    """Parse ``data`` fetched from ``url``; ``headers`` are the response headers (``Content-Type`` for the charset,
    ``Content-Location`` for relative links; ``url`` stands in for the latter when absent). Never raises."""
    try:
        result = parse_raw(data, url, headers)
    except Exception as exc:  # feedparser is lenient, but a crash on one feed must not stop a poll
        return ParsedFeed(url=url, status="unparseable", bozo_reason=f"{type(exc).__name__}: {exc}")
    return _reduce(result, url)


def parse_raw(data: bytes, url: str, headers: dict[str, str] | None = None) -> Any:
    """feedparser's result dict for ``data``, with the charset fallback applied; for callers that need all of it."""
    response_headers = {k.lower(): v for k, v in (headers or {}).items() if v}
    response_headers.setdefault("content-location", url)
    # no type at all: read it as XML (BOM, declaration, else UTF-8) rather than feedparser's Latin-1 guess
    response_headers.setdefault("content-type", "application/xml")
    # a stream, never bytes or str: feedparser treats a str as a URL or file name and bytes as a file name
    result = feedparser.parse(io.BytesIO(data), response_headers=response_headers)
    if result.get("bozo") and not result.get("entries") and _kind(result) in _ENCODING_BOZO:
        retry = _redecoded(data)
        if retry is not None:
            again = feedparser.parse(io.BytesIO(retry), response_headers={**response_headers,
                                                                          "content-type": "application/xml; charset=utf-8"})
            if again.get("entries"):
                again["bozo"] = 1
                again["bozo_exception"] = result.get("bozo_exception")
                return again
    return result


def _kind(result: Any) -> str:
    exc = result.get("bozo_exception")
    return type(exc).__name__ if exc is not None else ""


def _redecoded(data: bytes) -> bytes | None:
    """``data`` decoded by charset detection and re-encoded as UTF-8 with its XML declaration's encoding dropped."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best() if data else None
    if best is None:
        return None
    try:
        text = data.decode(best.encoding, "replace")
    except LookupError:
        return None
    text = re.sub(r"^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*(['\"])[^'\"]*\2", r"\1", text, count=1)
    return text.encode("utf-8")


def _reduce(result: Any, url: str) -> ParsedFeed:
    feed = result.get("feed", {})
    entries = tuple(_entry(e) for e in result.get("entries", []))
    exc = result.get("bozo_exception")
    reason = f"{type(exc).__name__}: {exc}" if exc is not None else None
    status: Status = "ok"
    if result.get("bozo"):
        if entries:
            status = "ok" if _kind(result) in _BENIGN_BOZO else "bozo_ok"
        elif _kind(result) in _BENIGN_BOZO and result.get("version"):
            status = "ok"  # a clean document that has no items at the moment
        else:
            status = "unparseable"
            if not result.get("version"):
                reason = f"not a feed: no RSS, Atom or CDF document found ({reason})"
    elif not result.get("version") and not entries and not feed.get("title"):
        status, reason = "unparseable", "not a feed: no RSS, Atom or CDF document found"
    return ParsedFeed(
        url=url,
        status=status,
        title=_text(feed.get("title")),
        language=_text(feed.get("language")),
        link=_text(feed.get("link")),
        entries=entries,
        bozo_reason=reason,
        encoding=result.get("encoding"),
        version=result.get("version") or None,
    )


def _entry(e: Any) -> ParsedEntry:
    content = None
    for part in e.get("content") or ():
        if part.get("value"):
            content = part["value"]
            if "html" in (part.get("type") or ""):
                break
    published_raw = _text(e.get("published"))
    # dict.get: feedparser's own lookup answers ``updated`` with ``published`` when absent (and warns)
    updated_raw = _text(dict.get(e, "updated"))
    authors = tuple(a["name"] for a in e.get("authors") or () if a.get("name"))
    if not authors and e.get("author"):
        authors = (e["author"],)
    categories = tuple(t["term"] for t in e.get("tags") or () if t.get("term"))
    return ParsedEntry(
        id=_text(e.get("id")),
        link=_text(e.get("link")),
        title=_text(e.get("title")),
        summary=_text(e.get("summary")),
        content_html=content,
        published=_when(e.get("published_parsed"), published_raw),
        published_raw=published_raw,
        updated=_when(dict.get(e, "updated_parsed"), updated_raw),
        updated_raw=updated_raw,
        authors=authors,
        categories=categories,
        raw={k: v for k, v in e.items() if not k.endswith("_parsed")},
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _when(parsed: Any, raw: str | None) -> datetime | None:
    if parsed is None and raw:
        parsed = _parse_date(_english(raw)) if _english(raw) != raw else None
    if parsed is None:
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError):
        return None


# month names (first three letters, accents dropped; four for French June/July) in the languages feeds use most
_MONTHS = {
    # Portuguese
    "jan": 1, "fev": 2, "mar": 3, "abr": 4, "mai": 5, "jun": 6, "jul": 7, "ago": 8, "set": 9, "out": 10, "nov": 11,
    "dez": 12,
    # Spanish, Italian, French, German, Dutch (only the spellings not already above)
    "ene": 1, "feb": 2, "may": 5, "sep": 9, "oct": 10, "dic": 12,
    "gen": 1, "apr": 4, "mag": 5, "giu": 6, "lug": 7, "ott": 10,
    "avr": 4, "juin": 6, "juil": 7, "aou": 8, "dec": 12,
    "mrz": 3, "okt": 10, "mei": 5, "maa": 3,
}
_ENGLISH = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC822ISH = re.compile(r"^\s*(?:[^\W\d_]+\.?,?\s+)?(\d{1,2})\.?\s+([^\W\d_]+)\.?\s+(\d{2,4})\b(.*)$")


def _english(raw: str) -> str:
    """An RFC 822 style date with a localized month (and weekday) rewritten in English; ``raw`` if not one."""
    m = _RFC822ISH.match(raw)
    if not m:
        return raw
    name = "".join(c for c in unicodedata.normalize("NFKD", m.group(2).lower()) if not unicodedata.combining(c))
    month = _MONTHS.get(name[:4]) or _MONTHS.get(name[:3])
    if month is None:
        return raw
    return f"{m.group(1)} {_ENGLISH[month]} {m.group(3)}{m.group(4)}"
