"""What the ESG sources share: the delivery they return (:class:`EsgBatch`), number parsing that never coerces (a
cell that is not a number is a refusal naming file, row, column and raw text), xlsx reading, entity keys.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from marketwire.errors import ParseError
from marketwire.sources.base import Query, RawFile, Refusal, Source

DATASET = "esg_metrics"

#: cells that mean "no value" (not refused: there is nothing to store)
ABSENT = {"", "na", "n/a", "nan", "none", "null"}


@dataclass
class EsgBatch:
    """One payload of an ESG source: metric records, the raw rows (observations), EU ETS aggregation records and
    refusals. Only the ESG stage (``marketwire.esg.service``) can write it."""

    dataset: str = DATASET
    records: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    aggregations: list[dict[str, Any]] = field(default_factory=list)
    #: entities to link that no observation describes as a company (EU ETS account holders, parent companies)
    entities: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    #: rows read from the payload (each is an observation or a refusal)
    rows: int = 0
    file: str = ""


def files_with(query_paths: tuple[str, ...], suffixes: tuple[str, ...], default: list[str]) -> list[str]:
    """The files a query names: a folder gives its files with one of ``suffixes`` (its README and licence files are
    not data); a file named explicitly is always read (a wrong one is a clear parse error)."""
    if not query_paths:
        return default
    out: list[str] = []
    for p in query_paths:
        path = Path(p)
        if path.is_dir():
            out += [str(x) for x in sorted(path.rglob("*")) if x.is_file() and not x.name.startswith(".")
                    and x.name.lower().endswith(suffixes)]
        else:
            out.append(str(path))
    return out


class EsgSource(Source):
    """The base of the ESG sources: they write ``esg_metrics`` (an :class:`EsgBatch` per payload) and read the files a
    query names, or a folder's files with one of ``suffixes``, or the public ``url`` when it names none."""

    dataset = DATASET
    #: the file name endings of a folder's data files (README and licence files beside them are not data)
    suffixes: tuple[str, ...] = (".csv",)

    def locations(self, query: Query) -> list[str]:
        return files_with(query.paths, self.suffixes, [self.url] if self.url else [])


class NotANumber(ValueError):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


_PLACEHOLDER = re.compile(r"^(-+|#[A-Z/0!?]+!?|\?+|n\.?a\.?|x)$", re.IGNORECASE)
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+$")


def parse_number(text: Any, *, decimal_comma: bool | None = None) -> float | None:
    """The number a cell holds, or ``None`` when it is empty (``NA`` and the like).

    Accepts ``81655``, ``1,600,000,000`` (thousands), ``0,3346`` (decimal comma), ``$136200000000,00``,
    `` $40370000000,00 ``, ``12.5%`` (-> 12.5), ``1.234,5`` and ``1,234.5``. A single comma before exactly three
    digits (``1,600``) is ambiguous unless the file's convention is given (``decimal_comma``). Anything else
    (``--``, ``#VALUE!``, words) raises :class:`NotANumber`; nothing is coerced to zero."""
    if text is None:
        return None
    if isinstance(text, bool):
        raise NotANumber("esg.not_a_number", f"{text!r} is not a number")
    if isinstance(text, (int, float)):
        if text != text:  # NaN
            return None
        return float(text)
    s = str(text).strip()
    if s.lower() in ABSENT:
        return None
    if _PLACEHOLDER.match(s):
        raise NotANumber("esg.placeholder", f"{s!r} is a placeholder, not a number")
    t = s.replace("\u00a0", "").replace(" ", "").replace("\u202f", "")
    t = t.lstrip("$€£").rstrip("%").strip()
    neg = t.startswith("-")
    t = t.lstrip("+-")
    if not t or not re.fullmatch(r"[0-9.,]+", t) or not re.search(r"\d", t):
        raise NotANumber("esg.not_a_number", f"{s!r} is not a number")
    if "," in t and "." in t:
        dec = "," if t.rfind(",") > t.rfind(".") else "."
        t = t.replace("." if dec == "," else ",", "").replace(",", ".")
    elif "," in t:
        if t.count(",") > 1:
            if not _THOUSANDS.match(t):
                raise NotANumber("esg.not_a_number", f"{s!r} is not a number")
            t = t.replace(",", "")
        elif _THOUSANDS.match(t) and decimal_comma is None:
            raise NotANumber("esg.ambiguous_number",
                             f"{s!r}: a comma before three digits is a thousands or a decimal separator")
        else:
            t = t.replace(",", ".") if decimal_comma or not _THOUSANDS.match(t) else t.replace(",", "")
    elif t.count(".") > 1:
        if not re.fullmatch(r"\d{1,3}(\.\d{3})+", t):
            raise NotANumber("esg.not_a_number", f"{s!r} is not a number")
        t = t.replace(".", "")
    try:
        v = float(t)
    except ValueError:
        raise NotANumber("esg.not_a_number", f"{s!r} is not a number") from None
    return -v if neg else v


def cell_refusal(raw: RawFile, line: int, column: str, text: Any, err: NotANumber, row: dict[str, Any],
                 source: str | None = None) -> Refusal:
    """The quarantine record of one refused cell: rule, file, row, column and raw text; the row itself is stored
    (as an observation), only the value is refused."""
    return Refusal(err.rule, f"{Path(raw.name).name}: row {line}, column {column!r}: {err}", raw.name, line,
                   {k: _text(v) for k, v in row.items()}, field=column, value=_text(text), dataset=DATASET,
                   kept=True, source=source)


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def duplicate(batch: EsgBatch, seen: set[tuple[Any, ...]], raw: RawFile, line: int, row: dict[str, Any]) -> bool:
    """True (and the row quarantined by ``row.duplicate``) when the same row appeared earlier in the file."""
    key = tuple(_text(v) for v in row.values())
    if key in seen:
        batch.refusals.append(Refusal("row.duplicate", f"{Path(raw.name).name}: row {line} repeats an earlier row",
                                      raw.name, line, {k: _text(v) for k, v in row.items()}, dataset=DATASET))
        return True
    seen.add(key)
    return False


def raw_json(row: dict[str, Any]) -> str:
    return json.dumps({k: _text(v) for k, v in row.items()}, ensure_ascii=False, sort_keys=False)


def slug(text: str | None) -> str:
    """A stable key from a name: accents folded, lower case, runs of other characters as one dash."""
    t = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", t).strip("-") or "unnamed"


def year_of(v: Any) -> int | None:
    """A year cell: 2050, 2050.0, 'FY2030', '2030' -> int; None when empty; NotANumber otherwise."""
    if v is None or (isinstance(v, str) and v.strip().lower() in ABSENT):
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if v != v:
            return None
        if float(v).is_integer() and 1900 <= v <= 2200:
            return int(v)
        raise NotANumber("esg.bad_year", f"{v!r} is not a year")
    m = re.fullmatch(r"(?:FY)?\s*(\d{4})(?:\.0)?", str(v).strip(), re.IGNORECASE)
    if not m or not 1900 <= int(m.group(1)) <= 2200:
        raise NotANumber("esg.bad_year", f"{str(v)!r} is not a year")
    return int(m.group(1))


def year_end(year: int | None) -> date | None:
    return date(year, 12, 31) if year else None


def sheets(raw: RawFile) -> dict[str, list[list[Any]]]:
    """Every sheet of an xlsx payload as rows of cells (python-calamine)."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(raw.data))
        return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in wb.sheet_names}
    except Exception as e:  # noqa: BLE001 - any reader failure is the file's fault: a clear parse error
        raise ParseError(f"{raw.name}: not a readable xlsx workbook ({e})", file=raw.name) from e


def header_index(raw: RawFile, header: list[Any], required: list[str], line: int = 1) -> dict[str, int]:
    names = [str(h).strip() if h is not None else "" for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise ParseError(f"{raw.name}: line {line}: missing column {missing[0]!r} (the header has "
                         f"{', '.join(n for n in names if n)})", file=raw.name, line=line, column=missing[0])
    return {n: i for i, n in enumerate(names) if n}


def clean(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    if isinstance(v, float) and v.is_integer():
        s = str(int(v))
    return None if s.lower() in ABSENT else s


__all__ = ["ABSENT", "DATASET", "EsgBatch", "EsgSource", "NotANumber", "cell_refusal", "clean", "header_index", "parse_number",
           "raw_json", "sheets", "slug", "year_end", "year_of"]
