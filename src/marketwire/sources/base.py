"""The one seam every source goes through: ``query -> extract -> transform``.

``extract`` is the only step that does I/O (reads the files, or downloads the public endpoint); ``transform`` is
pure and turns the raw payload into canonical records plus quarantine records for what it cannot map.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

from marketwire.errors import InvalidInput, ParseError, SourceError


@dataclass(frozen=True)
class Query:
    """What to ingest: files (or the source's public URL when ``paths`` is empty) and the snapshot date."""

    paths: tuple[str, ...]
    as_of: date | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RawFile:
    """One payload as extracted: its name (path or URL) and its bytes."""

    name: str
    data: bytes


@dataclass
class Refusal:
    """A record a source or a rule refused, kept with the rule code and the raw input."""

    rule: str
    message: str
    file: str | None
    line: int | None
    raw: dict[str, Any] | str
    field: str | None = None
    value: str | None = None
    dataset: str = "ref_observations"
    #: the record itself is stored (without the refused value); only the value is quarantined
    kept: bool = False
    #: the source that delivered the record (default: the source of the delivery)
    source: str | None = None

    def record_hash(self) -> str:
        return stable_hash([Path(self.file).name if self.file else None, self.line, self.raw, self.rule,
                            self.field, self.value])


@dataclass
class Batch:
    """What ``transform`` returns: canonical records for ``dataset`` and refusals."""

    dataset: str
    records: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)


class Source:
    """Base class of every source. Subclasses set the class attributes and implement ``transform``."""

    name: ClassVar[str]
    dataset: ClassVar[str]
    url: ClassVar[str]  # the real public endpoint the source stands for
    description: ClassVar[str]
    #: every public file the source reads when no path is given (default: ``url``)
    urls: ClassVar[tuple[str, ...]] = ()
    #: the options the source takes (``--preset``, ``--symbol`` ...); any other is refused
    options: ClassVar[tuple[str, ...]] = ()

    def query(self, paths: Sequence[str], as_of: date | None = None, **options: Any) -> Query:
        unknown = [k for k, v in options.items() if v is not None and k not in self.options]
        if unknown:
            raise InvalidInput(f"`{unknown[0]}`: not an option of source {self.name!r}"
                               + (f" (it takes {', '.join(self.options)})" if self.options else ""),
                               param=unknown[0])
        return Query(tuple(str(p) for p in paths), as_of, {k: v for k, v in options.items() if v is not None})

    def locations(self, query: Query) -> list[str]:
        """Every payload the query names, in order: the files (folders expanded), else the public URLs. Each is
        read by :meth:`read`, possibly on another machine (a bulk job's worker)."""
        if not query.paths:
            return list(self.urls or (self.url,))
        out: list[str] = []
        for p in query.paths:
            path = Path(p)
            if path.is_dir():
                out += [str(x) for x in sorted(path.rglob("*")) if x.is_file() and not x.name.startswith(".")]
            else:
                out.append(str(path))
        return out

    def read(self, location: str) -> RawFile:
        """One payload's bytes: a file, or a URL (only when the query named no path)."""
        if "://" in location and not location.startswith("file://"):
            return fetch_url(location)
        path = Path(location.removeprefix("file://"))
        try:
            return RawFile(str(path), path.read_bytes())
        except OSError as e:
            raise SourceError(f"{path}: cannot read ({e.strerror})", file=str(path)) from e

    def payloads(self, location: str) -> Iterator[RawFile]:
        """The payloads of one location (one, unless it is an archive the source opens)."""
        yield self.read(location)

    def extract(self, query: Query) -> Iterator[RawFile]:
        for loc in self.locations(query):
            yield from self.payloads(loc)

    def transform(self, query: Query, raw: RawFile) -> Batch | FrameBatch:
        raise NotImplementedError


def fetch_url(url: str) -> RawFile:
    """Download a public endpoint (used only when no local path is given)."""
    import urllib.request

    req = urllib.request.Request(url, headers={"User-Agent": "marketwire/0.1 (reference data loader)"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return RawFile(url, resp.read())
    except OSError as e:
        raise SourceError(f"{url}: cannot download ({e})", transient=True, url=url) from e


# -- helpers shared by the file sources ---------------------------------------------------------

def stable_hash(obj: Any) -> str:
    data = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def decode(raw: RawFile) -> str:
    """UTF-8 (with or without BOM); anything else is a parse error naming file, line and column."""
    try:
        return raw.data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = raw.data[: e.start]
        line = before.count(b"\n") + 1
        col = e.start - (before.rfind(b"\n") + 1) + 1
        raise ParseError(
            f"{raw.name}: line {line}, column {col}: not valid UTF-8 (byte 0x{raw.data[e.start]:02x}); "
            "convert the file to UTF-8",
            file=raw.name, line=line, column=col,
        ) from e


def read_csv(raw: RawFile, required: Sequence[str], delimiter: str = ","
             ) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Parse a CSV payload: header check (naming the missing column) and rows with their line numbers."""
    text = decode(raw)
    stream = io.StringIO(text, newline="")
    if delimiter == "|":  # the pipe files are not quoted: a quote is part of a name
        reader = csv.reader(stream, delimiter="|", quoting=csv.QUOTE_NONE, strict=True)
    else:
        reader = csv.reader(stream, delimiter=delimiter, strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ParseError(f"{raw.name}: the file is empty", file=raw.name, line=1) from None
    except csv.Error as e:
        raise ParseError(f"{raw.name}: line 1: {e}", file=raw.name, line=1) from e
    missing = [c for c in required if c not in header]
    if missing:
        raise ParseError(
            f"{raw.name}: line 1: missing column {missing[0]!r} (the header has {', '.join(header)})",
            file=raw.name, line=1, column=missing[0],
        )

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        line = reader.line_num
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                raise ParseError(f"{raw.name}: line {reader.line_num}: {e}", file=raw.name,
                                 line=reader.line_num) from e
            start = line + 1
            line = reader.line_num
            if not values or all(not v.strip() for v in values):
                continue
            yield start, dict(zip(header, (v.strip() for v in values)))

    return header, rows()


_DATE_IN_NAME = re.compile(r"(19|20)(\d\d)-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])")


def date_from_name(name: str) -> date | None:
    """A date written in a file name (``..._2015-01-10.csv``, ``20260801``), if there is one."""
    found = list(_DATE_IN_NAME.finditer(Path(name).name))
    if not found:
        return None
    try:
        m = found[-1]
        return date(int(m.group(1) + m.group(2)), int(m.group(3)), int(m.group(4)))
    except ValueError:
        return None


def snapshot_date(query: Query, raw: RawFile, in_file: date | None = None) -> date:
    """``--as-of`` if given, else the date the file carries, else the date in its name, else today."""
    if query.as_of is not None:
        return query.as_of
    return in_file or date_from_name(raw.name) or datetime.now().date()


def blank(v: str | None) -> str | None:
    v = (v or "").strip()
    return v or None


@dataclass
class FrameBatch:
    """A columnar batch (for sources of many rows, e.g. prices): a Polars frame in the dataset's source shape.

    ``frame`` holds the rows (with ``file`` and ``line``); ``actions`` corporate actions found in the same file;
    ``meta`` what the source declares about the series (price basis, venue, currency, interval).
    """

    dataset: str
    frame: Any
    actions: Any = None
    refusals: list[Refusal] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
