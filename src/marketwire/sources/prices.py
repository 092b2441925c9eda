"""Price files: one generic CSV/Parquet source with a column mapping, presets for real formats, ECB FX rates.

``prices-csv`` reads daily bars and the corporate actions printed next to them (dividend and split columns).
A preset names the columns, where the symbol comes from and the price basis the vendor delivers:

=============== ======================================================= ============== ==================
preset          columns                                                 symbol from    basis
=============== ======================================================= ============== ==================
kaggle          Date,Open,High,Low,Close,Volume,OpenInt                 file name      adjusted
zipline-csvdir  date,open,high,low,close,volume,dividend,split          file name      raw
yfinance        Date|Datetime,...,Adj Close,Volume,Dividends,           file name      split_adjusted
                Stock Splits[,Capital Gains]
quandl-wiki     ticker,date,open,...,ex-dividend,split_ratio,adj_*      ticker column  raw
stooq           Date,Open,High,Low,Close,Volume                         file name      adjusted
=============== ======================================================= ============== ==================

Without ``--preset`` the preset is recognised from the header. ``--symbol`` names the listing of a
single-listing file. ``stooq`` is also a source of its own that downloads the public end-of-day CSV of a symbol
(``https://stooq.com/q/d/l/?s=ibm.us&i=d``) for users with internet.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
import datetime
from pathlib import Path
from typing import Any

import polars as pl

from marketwire.errors import InvalidInput, ParseError
from marketwire.sources.base import FrameBatch, Query, RawFile, Refusal, Source, decode, fetch_url


@dataclass(frozen=True)
class Preset:
    name: str
    #: canonical column -> accepted header names (first present wins)
    columns: dict[str, tuple[str, ...]]
    basis: str
    symbol_from: str = "file"  # "file" or "column"
    #: the value of the split column that means "no split"
    no_split: tuple[float, ...] = (0.0, 1.0)
    ignored: tuple[str, ...] = ()
    notes: str = ""
    required: tuple[str, ...] = ("date", "close")
    extra: dict[str, Any] = field(default_factory=dict)


def _cols(**kw: str | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {k: (v,) if isinstance(v, str) else v for k, v in kw.items()}


PRESETS: dict[str, Preset] = {
    "kaggle": Preset("kaggle", _cols(date="Date", open="Open", high="High", low="Low", close="Close",
                                     volume="Volume"), basis="adjusted", ignored=("OpenInt",),
                     notes="Kaggle 'Huge Stock Market Dataset': prices already split- and dividend-adjusted; "
                           "the symbol and country come from the file name (ibm.us.txt is IBM in the US)"),
    "zipline-csvdir": Preset("zipline-csvdir", _cols(date="date", open="open", high="high", low="low",
                                                     close="close", volume="volume", dividend="dividend",
                                                     split="split"), basis="raw",
                             notes="zipline csvdir bundle: raw prices, cash dividend and split ratio (new shares "
                                   "per old) on the ex date"),
    "yfinance": Preset("yfinance", _cols(date=("Date", "Datetime"), open="Open", high="High", low="Low",
                                         close="Close", adj_close="Adj Close", volume="Volume",
                                         dividend="Dividends", split="Stock Splits", capital_gain="Capital Gains"),
                       basis="split_adjusted",
                       notes="yfinance history(): OHLC split-adjusted, Adj Close also dividend-adjusted, "
                             "Dividends in split-adjusted terms, Stock Splits 0 when none"),
    "quandl-wiki": Preset("quandl-wiki", _cols(symbol="ticker", date="date", open="open", high="high", low="low",
                                               close="close", volume="volume", dividend="ex-dividend",
                                               split="split_ratio", adj_close="adj_close"),
                          basis="raw", symbol_from="column",
                          ignored=("adj_open", "adj_high", "adj_low", "adj_volume"),
                          notes="Quandl WIKI prices: raw OHLCV with ex-dividend and split_ratio; the adj_* columns "
                                "are checked against the ledger, not stored"),
    "stooq": Preset("stooq", _cols(date="Date", open="Open", high="High", low="Low", close="Close",
                                   volume="Volume"), basis="adjusted",
                    notes="stooq.com end-of-day CSV: split- and dividend-adjusted"),
}

#: Yahoo symbol suffix -> (MIC, currency, unit scale of the quote)
YAHOO_SUFFIX: dict[str, tuple[str, str, int]] = {
    "L": ("XLON", "GBP", -2), "IL": ("XLON", "USD", 0), "PA": ("XPAR", "EUR", 0), "DE": ("XETR", "EUR", 0),
    "F": ("XFRA", "EUR", 0), "MI": ("XMIL", "EUR", 0), "MC": ("XMAD", "EUR", 0), "AS": ("XAMS", "EUR", 0),
    "BR": ("XBRU", "EUR", 0), "LS": ("XLIS", "EUR", 0), "VI": ("XWBO", "EUR", 0), "IR": ("XDUB", "EUR", 0),
    "HE": ("XHEL", "EUR", 0), "SW": ("XSWX", "CHF", 0), "ST": ("XSTO", "SEK", 0), "CO": ("XCSE", "DKK", 0),
    "OL": ("XOSL", "NOK", 0), "WA": ("XWAR", "PLN", 0), "IS": ("XIST", "TRY", 0), "T": ("XTKS", "JPY", 0),
    "HK": ("XHKG", "HKD", 0), "AX": ("XASX", "AUD", 0), "NZ": ("XNZE", "NZD", 0), "TO": ("XTSE", "CAD", 0),
    "V": ("XTSX", "CAD", 0), "JO": ("XJSE", "ZAR", -2), "TA": ("XTAE", "ILS", -2), "SS": ("XSHG", "CNY", 0),
    "SZ": ("XSHE", "CNY", 0), "KS": ("XKRX", "KRW", 0), "NS": ("XNSE", "INR", 0), "BO": ("XBOM", "INR", 0),
    "SA": ("BVMF", "BRL", 0), "MX": ("XMEX", "MXN", 0), "SI": ("XSES", "SGD", 0), "TW": ("XTAI", "TWD", 0),
}
#: country suffix of Kaggle / stooq file names -> (country, default calendar, currency)
COUNTRY_SUFFIX = {"us": ("US", "XNYS", "USD"), "uk": ("GB", "XLON", "GBP"), "de": ("DE", "XETR", "EUR"),
                  "jp": ("JP", "XTKS", "JPY"), "hk": ("HK", "XHKG", "HKD")}

_INTERVAL = re.compile(r"^(?P<sym>.+?)-(?P<iv>\d+(?:m|h|d|wk|mo))(?:-.*)?$")
_MISSING = ("", "null", "NULL", "NaN", "nan", "N/A", "NA", "None")


@dataclass(frozen=True)
class SymbolHint:
    """What a file (or ``--symbol``) says about the listing: the symbol as written and what it implies."""

    symbol: str
    ticker: str
    mic: str | None = None
    country: str | None = None
    currency: str | None = None
    unit_scale: int = 0


def hint_for(symbol: str, country: str | None = None) -> SymbolHint:
    """``AET.L`` -> AET on XLON in GBX; ``IBM`` (country US) -> IBM in the US; ``SAN@XPAR`` -> SAN on XPAR."""
    s = symbol.strip().upper()
    if "@" in s:
        t, _, mic = s.partition("@")
        return SymbolHint(s, t, mic=mic)
    if "." in s:
        base, _, suf = s.rpartition(".")
        if suf in YAHOO_SUFFIX:
            mic, ccy, scale = YAHOO_SUFFIX[suf]
            return SymbolHint(s, base, mic=mic, currency=ccy, unit_scale=scale)
        if suf.lower() in COUNTRY_SUFFIX:
            c, _, ccy = COUNTRY_SUFFIX[suf.lower()]
            return SymbolHint(s, base, country=c, currency=ccy)
    if country:
        return SymbolHint(s, s, country=country, currency=COUNTRY_SUFFIX.get(country.lower(), (None, None, None))[2])
    return SymbolHint(s, s, country="US", currency="USD")


def symbol_from_file(name: str, preset: str) -> tuple[str, str | None]:
    """The symbol (Yahoo or plain style) and the bar interval a file name states."""
    stem = Path(name).name
    for ext in (".csv.gz", ".csv", ".txt", ".parquet"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    interval = None
    m = _INTERVAL.match(stem)
    if m and preset == "yfinance":
        stem, interval = m.group("sym"), m.group("iv")
        base, _, suf = stem.rpartition("-")
        if base and suf.upper() in YAHOO_SUFFIX:
            stem = f"{base}.{suf}"
    elif preset == "zipline-csvdir" and "_" in stem:
        stem = stem.rsplit("_", 1)[1]
    return stem.upper(), interval


def detect_preset(header: list[str], name: str | None = None) -> str:
    h = set(header)
    if {"ticker", "ex-dividend", "split_ratio"} <= h:
        return "quandl-wiki"
    if "Stock Splits" in h or "Adj Close" in h:
        return "yfinance"
    if {"date", "dividend", "split"} <= h:
        return "zipline-csvdir"
    if "OpenInt" in h:
        return "kaggle"
    if {"Date", "Close"} <= h:
        return "stooq"
    shown = _clip(", ".join(header), 120).encode("unicode_escape").decode("ascii")
    raise InvalidInput(f"{name + ': ' if name else ''}cannot tell the file format from its header ({shown}); name a "
                       f"--preset ({', '.join(PRESETS)}) or map the columns", param="preset", file=name)


def _read_table(raw: RawFile, with_blank: bool = False) -> Any:
    """Every column as text, with the file's line numbers; a file that cannot be parsed names line and column.
    ``with_blank``: also the numbers of the blank lines inside the data (blank lines at the end of the file are
    only its end)."""
    if raw.name.lower().endswith(".parquet"):
        df = pl.read_parquet(io.BytesIO(raw.data))
        df = df.with_columns(pl.all().cast(pl.Utf8)).with_row_index("line", offset=1).with_columns(
            pl.col("line").cast(pl.Int64))
        return (df, []) if with_blank else df
    data = raw.data
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    blank: list[int] = []
    lines: list[int] | None = None
    if _has_blank_line(data) or data.startswith((b"\n", b"\r\n")):
        # blank lines are dropped before parsing; each row keeps the number of the line it was on
        split = data.split(b"\n")
        kept = [k for k, ln in enumerate(split) if ln.strip()]
        last = kept[-1] if kept else -1
        blank = [k + 1 for k, ln in enumerate(split) if not ln.strip() and k < last]
        lines = [k + 1 for k in kept][1:]
        data = b"\n".join(split[k] for k in kept) + b"\n"
    try:
        df = pl.read_csv(io.BytesIO(data), infer_schema=False, truncate_ragged_lines=False, raise_if_empty=True)
    except Exception as e:  # noqa: BLE001 - re-raised below as a ParseError naming line and column
        _locate_problem(raw, e)
        raise  # pragma: no cover - _locate_problem always raises
    df = df.rename({c: c.strip() for c in df.columns})
    if data.count(b",") != (df.height + 1) * (df.width - 1) or b'"' in data:
        _locate_problem(raw, None, raise_if_clean=False)  # rows with too few fields would read as nulls
    if lines is not None:
        import numpy as np

        df = df.with_columns(pl.Series("line", np.asarray(lines[: df.height], dtype=np.int64)))
    else:
        df = df.with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64))
    return (df, blank) if with_blank else df


def _has_blank_line(data: bytes) -> bool:
    """Whether ``data`` holds ``\\n\\n`` or ``\\n\\r\\n`` (a blank line after a line): found from the positions of the
    line ends with numpy, about five times faster than the two substring searches over the file."""
    import numpy as np

    a = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(a == 10)
    if ends.size < 2:
        return False
    gap = np.diff(ends)
    return bool((gap == 1).any() or (a[ends[:-1][gap == 2] + 1] == 13).any())


def _header(raw: RawFile) -> list[str]:
    if raw.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        return list(pq.read_schema(io.BytesIO(raw.data)).names)
    first = raw.data.split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf").rstrip(b"\r")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        decode(raw)  # raises a ParseError naming line and column
        raise
    if not text.strip():
        raise ParseError(f"{raw.name}: the file is empty", file=raw.name, line=1)
    return [h.strip().strip('"') for h in text.split(",")]


#: a date before it has fewer than four digits in its year
_YEAR_1000 = datetime.date(1000, 1, 1)
_ISO_DAY = re.compile(rb"\d{4}-\d{2}-\d{2}")
_NUMERIC = ("open", "high", "low", "close", "volume", "adj_close", "dividend", "split", "capital_gain")


def _read_typed(raw: RawFile, chosen: dict[str, str]) -> pl.DataFrame | None:
    """The common case in one pass: numeric columns parsed as Float64 by the CSV reader. None when any value
    does not parse (the text path then names each bad value), or for Parquet, or files with blank lines."""
    if raw.name.lower().endswith(".parquet") or _has_blank_line(raw.data):
        return None
    data = raw.data[3:] if raw.data.startswith(b"\xef\xbb\xbf") else raw.data
    overrides: dict[str, Any] = {chosen[c]: pl.Float64 for c in _NUMERIC if c in chosen}
    # plain ISO dates are parsed by the reader itself; timestamps and other spellings as text, then converted
    first = data.split(b"\n", 2)[1:2]
    header = _header(raw)
    cell = first[0].split(b",")[header.index(chosen["date"])].strip() if first and chosen["date"] in header else b""
    overrides[chosen["date"]] = pl.Date if _ISO_DAY.fullmatch(cell) else pl.Utf8
    if "symbol" in chosen:
        overrides[chosen["symbol"]] = pl.Utf8
    try:
        df = pl.read_csv(io.BytesIO(data), schema_overrides=overrides, columns=list(overrides), null_values=[""],
                         infer_schema=False, truncate_ragged_lines=False, raise_if_empty=True)
    except Exception:  # noqa: BLE001 - the text path reports the exact problem
        return None
    if not _same_width(raw, data, df.height):
        return None
    earliest = df.get_column(chosen["date"]).min() if df.schema[chosen["date"]] == pl.Date else None
    if earliest is not None and earliest < _YEAR_1000:  # type: ignore[operator]
        return None  # the reader takes 17-01-03 for the year 17: the text path names a two-digit year
    return df.with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64))


def _same_width(raw: RawFile, data: bytes, rows: int) -> bool:
    """The CSV reader pads short rows with nulls and ignores extra fields of unprojected columns; a row with the
    wrong number of fields is a parse error here, naming its line and column. Counting separators is the fast
    check; only when it fails (or quotes hide separators) is the file walked row by row."""
    width = len(_header(raw))
    if data.count(b",") == (rows + 1) * (width - 1):
        return True
    _locate_problem(raw, None, raise_if_clean=False)
    return b'"' not in data  # quoted separators: the text path reads it


def _locate_problem(raw: RawFile, err: Exception | None, raise_if_clean: bool = True) -> None:
    import csv

    text = decode(raw)  # raises ParseError naming line and column for bytes that are not UTF-8
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ParseError(f"{raw.name}: the file is empty", file=raw.name, line=1) from None
    except csv.Error as e:
        raise ParseError(f"{raw.name}: line 1: {e}", file=raw.name, line=1) from e
    width = len(header)
    try:
        for row in reader:
            if row and len(row) != width:
                col = min(len(row), width) + 1
                raise ParseError(f"{raw.name}: line {reader.line_num}, column {col}: {len(row)} fields where the "
                                 f"header has {width}", file=raw.name, line=reader.line_num, column=col)
    except csv.Error as e:
        raise ParseError(f"{raw.name}: line {reader.line_num}: {e}", file=raw.name, line=reader.line_num) from e
    if raise_if_clean:
        raise ParseError(f"{raw.name}: cannot be parsed as CSV ({str(err).splitlines()[0]})", file=raw.name,
                         line=1)


#: quote units that are not ISO 4217 codes but name a currency's minor unit (pence, cents, agorot)
MINOR_UNITS = ("GBX", "GBP", "ZAC", "ILA")


def _check_venue(mic: Any, currency: Any) -> None:
    """``--mic`` must be an ISO 10383 MIC and ``--currency`` an ISO 4217 code (or a minor unit such as GBX)."""
    from marketwire.refdata.currencies import currencies
    from marketwire.refdata.mics import mics

    if mic is not None and str(mic).strip().upper() not in mics():
        raise InvalidInput(f"`mic`: {str(mic)[:40]!r} is not an ISO 10383 market identifier code (e.g. XNYS, XPAR)",
                           param="mic", value=str(mic)[:40])
    if currency is not None and str(currency).strip().upper() not in {*currencies(), *MINOR_UNITS}:
        raise InvalidInput(f"`currency`: {str(currency)[:40]!r} is not an ISO 4217 currency code (e.g. USD, EUR, "
                           "or GBX for pence)", param="currency", value=str(currency)[:40])


def _missing(col: str) -> pl.Expr:
    return pl.col(col).is_null() | pl.col(col).str.strip_chars().is_in(_MISSING)


class PricesCsv(Source):
    name = "prices-csv"
    options = ("preset", "symbol", "basis", "mic", "currency", "columns")
    dataset = "bars_daily"
    url = "file://"
    description = "Daily bars (and their dividend and split columns) from CSV or Parquet files, by preset or mapping"

    def query(self, paths: Any, as_of: Any = None, **options: Any) -> Query:
        preset = options.get("preset")
        if preset and preset not in PRESETS:
            raise InvalidInput(f"`preset`: unknown preset {preset!r}; known: {', '.join(PRESETS)}", param="preset")
        if not paths:
            raise InvalidInput("`paths`: prices-csv reads files; name at least one file or folder", param="paths")
        _check_venue(options.get("mic"), options.get("currency"))
        return super().query(paths, as_of, **options)

    def locations(self, query: Query) -> list[str]:
        return [p for p in super().locations(query) if p.lower().endswith((".csv", ".txt", ".parquet", ".csv.gz"))]

    def transform(self, query: Query, raw: RawFile) -> FrameBatch:
        if raw.name.lower().endswith(".gz"):
            import gzip

            raw = RawFile(raw.name, gzip.decompress(raw.data))
        header = _header(raw)
        columns = dict(query.options.get("columns") or {})
        unknown = sorted(set(columns) - {"symbol", "date", *_NUMERIC})
        if unknown:
            raise InvalidInput(f"`columns`: {unknown[0]!r} is not a bar field (symbol, date, {', '.join(_NUMERIC)})",
                               param="columns")
        if query.options.get("preset") or not columns:
            preset = PRESETS[query.options.get("preset") or detect_preset(header, raw.name)]
        else:  # a mapping without a preset: the generic format, raw prices unless --basis says otherwise
            preset = Preset("custom", {}, basis="raw", symbol_from="column" if "symbol" in columns else "file")
        mapping = dict(preset.columns)
        for canon, col in columns.items():
            mapping[canon] = (col,)
        chosen: dict[str, str] = {}
        for canon, names in mapping.items():
            hit = next((n for n in names if n in header), None)
            if hit is not None:
                chosen[canon] = hit
            elif canon in preset.required or (canon == "symbol" and preset.symbol_from == "column"):
                raise ParseError(f"{raw.name}: line 1: missing column {names[0]!r} (the header has "
                                 f"{', '.join(header)})", file=raw.name, line=1, column=names[0])
        symbol_opt = query.options.get("symbol")
        file_symbol, interval = symbol_from_file(raw.name, preset.name)
        interval = interval or _interval_hint(raw, header.index(chosen["date"]))
        intraday = interval is not None and (interval == "intraday" or interval.endswith(("m", "h")))
        if interval not in ("1d", None) and not intraday:
            raise InvalidInput(f"{raw.name}: holds {interval} bars; bars_daily takes daily bars (one per session)",
                               param="paths", file=raw.name, interval=interval)
        meta = {"preset": preset.name, "basis": query.options.get("basis") or preset.basis,
                "has_adj_close": "adj_close" in chosen, "symbol": symbol_opt, "interval": interval or "1d",
                "mic": query.options.get("mic"), "currency": query.options.get("currency")}
        if "symbol" in chosen and not symbol_opt:
            sym = (pl.col(chosen["symbol"]).str.strip_chars().str.to_uppercase().str.replace_all("_", ".")
                   .alias("symbol"))
        else:
            sym = pl.lit(str(symbol_opt or file_symbol).upper()).alias("symbol")
        dcol = chosen["date"]
        # dates: ISO (a timestamp's first ten characters are the local session date) or YYYYMMDD
        date_raw = pl.col(dcol).str.strip_chars()
        date = _parse_dates(date_raw).alias("date")
        table = _read_typed(raw, chosen)  # fast path: the reader parses the numbers
        if table is not None:
            # NaN is a missing value here as on the text path (``_MISSING``)
            nums = [pl.col(chosen[c]).cast(pl.Float64).fill_nan(None).alias(c) if c in chosen
                    else pl.lit(None, pl.Float64).alias(c) for c in _NUMERIC]
            if table.schema[dcol] == pl.Date:  # every date parsed (else the reader would have failed)
                date, date_raw = pl.col(dcol).alias("date"), pl.lit(None, pl.Utf8)
            lf = table.lazy().select(sym, date, *nums, "line", pl.lit(raw.name).alias("file"),
                                     date_raw.alias("date_raw"))
            if intraday:
                lf, meta["aggregated_from"] = _daily(lf), interval
            # computed here, on the worker that parsed the file, while other files are still being read
            return FrameBatch(self.dataset, lf.collect(), None, [], meta)
        # text path: every value that is present but not a number is refused with its field named
        table, blank_lines = _read_table(raw, with_blank=True)
        # the raw text keeps its own names (a column may be called what its canonical field is, e.g. zipline's)
        table = table.rename({c: f"\x00{c}" for c in table.columns if c != "line"})
        rawc = {canon: f"\x00{col}" for canon, col in chosen.items()}
        sym = (pl.col(rawc["symbol"]).str.strip_chars().str.to_uppercase().str.replace_all("_", ".").alias("symbol")
               if "symbol" in chosen and not symbol_opt else pl.lit(str(symbol_opt or file_symbol).upper()).alias("symbol"))
        date_raw = pl.col(rawc["date"]).str.strip_chars()
        date = _parse_dates(date_raw).alias("date")
        refusals: list[Refusal] = [Refusal("row.blank", f"line {n}: a blank line inside the data (no record)", raw.name,
                                           n, "", dataset=self.dataset) for n in blank_lines]
        casts = []
        for canon in _NUMERIC:
            if canon in chosen:
                c = rawc[canon]
                casts.append(pl.when(_missing(c)).then(None).otherwise(pl.col(c).str.strip_chars())
                             .cast(pl.Float64, strict=False).fill_nan(None).alias(canon))
            else:
                casts.append(pl.lit(None, pl.Float64).alias(canon))
        df = table.with_columns(sym, date, *casts, date_raw.alias("date_raw"))
        bad_parts = []
        for canon in _NUMERIC:
            if canon in chosen:
                bad_parts.append(pl.when(pl.col(canon).is_null() & ~_missing(rawc[canon])).then(pl.lit(canon)))
        bad_col = pl.concat_str(bad_parts, separator=",", ignore_nulls=True) if bad_parts else pl.lit("")
        df = df.with_columns(bad_col.alias("_bad"))
        bad = df.filter(pl.col("_bad").is_not_null() & (pl.col("_bad") != ""))
        raw_names = [c for c in ("symbol", "date", *_NUMERIC) if c in chosen]
        for r in bad.head(max_refusals() + 1).iter_rows(named=True):
            canon = r["_bad"].split(",")[0]
            fld = chosen[canon]
            value = r[rawc[canon]]
            refusals.append(Refusal("bar.unparseable", f"{fld}: {_clip(value)!r} is not a number", raw.name, r["line"],
                                    {chosen[k]: _clip(r[rawc[k]]) for k in raw_names}, field=fld,
                                    value=None if value is None else _clip(str(value)), dataset=self.dataset))
        if bad.height > max_refusals():
            return _refused_file(self.dataset, raw.name, df.height + len(blank_lines), bad.height, refusals, meta)
        df = df.filter(pl.col("_bad").is_null() | (pl.col("_bad") == ""))
        lf = df.lazy().select("symbol", "date", *_NUMERIC, "line", pl.lit(raw.name).alias("file"), "date_raw")
        if intraday:
            lf, meta["aggregated_from"] = _daily(lf), interval
        return FrameBatch(self.dataset, lf, None, refusals, meta)


#: the ISO spelling of a day with a four-digit year (a two-digit year, ``17-01-03``, is not read as year 17)
_ISO_PREFIX = r"^\d{4}-\d{2}-\d{2}"


def _parse_dates(date_raw: pl.Expr) -> pl.Expr:
    """ISO (a timestamp's first ten characters are the local session date) or YYYYMMDD; anything else is null (the
    verifier names it: not a date, or a two-digit year)."""
    return pl.coalesce(pl.when(date_raw.str.contains(_ISO_PREFIX))
                       .then(date_raw.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)),
                       pl.when(date_raw.str.contains(r"^\d{8}$")).then(date_raw.str.to_date("%Y%m%d", strict=False)))


def max_refusals() -> int:
    """After this many refused rows from one file the file is refused whole, with one summary record instead of a
    quarantine row per line ($MARKETWIRE_MAX_REFUSALS_PER_FILE, default 10,000)."""
    raw = os.environ.get("MARKETWIRE_MAX_REFUSALS_PER_FILE", "10000")
    try:
        n = int(raw)
    except ValueError:
        raise InvalidInput(f"MARKETWIRE_MAX_REFUSALS_PER_FILE: {raw!r} is not a whole number",
                           param="MARKETWIRE_MAX_REFUSALS_PER_FILE") from None
    if n < 1:
        raise InvalidInput(f"MARKETWIRE_MAX_REFUSALS_PER_FILE: {n} is below 1", param="MARKETWIRE_MAX_REFUSALS_PER_FILE")
    return n


def _clip(value: Any, n: int = 200) -> Any:
    """A raw value as the quarantine keeps it: at most ``n`` characters (a junk line can be megabytes long)."""
    if isinstance(value, str) and len(value) > n:
        return value[:n] + f"... ({len(value)} characters)"
    return value


def file_refusal(dataset: str, name: str, rows: int, refused: int, first: list[Refusal]) -> Refusal:
    """The one record of a file refused whole because too many of its rows were refused."""
    examples = "; ".join(f"line {r.line}: [{r.rule}] {r.message}" for r in first[:3])
    return Refusal("file.too_many_refusals", f"{name}: {refused:,} of {rows:,} rows refused (more than "
                   f"{max_refusals():,}); the file is refused whole, nothing of it is stored. First: {examples}",
                   name, None, {"rows": rows, "refused": refused}, field="file", value=str(refused), dataset=dataset)


def _refused_file(dataset: str, name: str, rows: int, refused: int, first: list[Refusal], meta: dict[str, Any]
                  ) -> FrameBatch:
    empty = pl.DataFrame(schema={"symbol": pl.Utf8, "date": pl.Date, **{c: pl.Float64 for c in _NUMERIC},
                                 "line": pl.Int64, "file": pl.Utf8, "date_raw": pl.Utf8})
    return FrameBatch(dataset, empty.lazy(), None, [file_refusal(dataset, name, rows, refused, first)], meta)


def _daily(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Intraday bars -> one bar per local session date (first open, highest high, lowest low, last close, summed
    volume; an action on any bar of the day). The daily bar keeps the line of the day's first intraday bar."""
    nz = [pl.col(c).filter(pl.col(c).fill_null(0) != 0).first().alias(c) for c in ("dividend", "split", "capital_gain")]
    return lf.sort("line").group_by("symbol", "date", maintain_order=True).agg(
        pl.col("open").drop_nulls().first(), pl.col("high").max(), pl.col("low").min(),
        pl.col("close").drop_nulls().last(), pl.col("volume").sum(), pl.col("adj_close").drop_nulls().last(), *nz,
        pl.col("line").first(), pl.col("file").first(), pl.col("date_raw").first())


def _interval_hint(raw: RawFile, date_index: int) -> str | None:
    """'intraday' when the first row's stamp has a time of day; None when it looks daily (weeks are found later)."""
    if raw.name.lower().endswith(".parquet"):
        return None
    lines = raw.data.split(b"\n", 3)
    if len(lines) < 2:
        return None
    try:
        stamp = lines[1].decode("utf-8", "replace").split(",")[date_index].strip()
    except IndexError:
        return None
    if len(stamp) > 10 and stamp[11:19] not in ("", "00:00:00"):
        return "intraday"
    return None


def actions_of(df: pl.DataFrame, no_split: tuple[float, ...] = (0.0, 1.0), keep: tuple[str, ...] = ()
               ) -> pl.DataFrame:
    """Dividend, split and capital-gain columns -> ledger rows (symbol, ex_date, type, value, file, line and the
    ``keep`` columns). One pass picks the few rows that carry an action; the rest never get copied."""
    div = pl.col("dividend").is_not_null() & (pl.col("dividend") != 0)
    spl = pl.col("split").is_not_null() & ~pl.col("split").is_in(list(no_split))
    cg = pl.col("capital_gain").is_not_null() & (pl.col("capital_gain") != 0)
    cols = ["symbol", "file", "line", *keep]
    some = df.lazy().filter(pl.col("date").is_not_null() & (div | spl | cg)).select(
        *cols, pl.col("date").alias("ex_date"), "dividend", "split", "capital_gain").collect()
    parts = [some.filter(cond.fill_null(False)).select(*cols, "ex_date", pl.lit(typ).alias("type"),
                                                       pl.col(col).alias("value"))
             for typ, col, cond in (("dividend", "dividend", div), ("split", "split", spl),
                                    ("capital_gain", "capital_gain", cg))]
    return pl.concat(parts)


class Stooq(PricesCsv):
    """The public end-of-day CSV of stooq.com, one symbol per request (``--symbol IBM.US``)."""

    name = "stooq"
    url = "https://stooq.com/q/d/l/?s={symbol}&i=d"
    description = "stooq.com end-of-day history of one symbol (adjusted), downloaded (needs internet)"

    def query(self, paths: Any, as_of: Any = None, **options: Any) -> Query:
        if not paths and not options.get("symbol"):
            raise InvalidInput("`symbol`: stooq downloads one symbol; pass --symbol (e.g. IBM.US)", param="symbol")
        options.setdefault("preset", "stooq")
        return Source.query(self, paths, as_of, **options)

    def locations(self, query: Query) -> list[str]:
        if query.paths:
            return super().locations(query)
        return [f"stooq:{str(query.options['symbol']).lower()}"]

    def read(self, location: str) -> RawFile:
        if not location.startswith("stooq:"):
            return super().read(location)
        sym = location.removeprefix("stooq:")
        raw = fetch_url(os.environ.get("MARKETWIRE_STOOQ_URL", self.url).format(symbol=sym))
        return RawFile(f"{sym}.csv", raw.data)


class EcbFx(Source):
    """ECB euro foreign exchange reference rates (eurofxref-hist): one column per currency, N/A when unpublished."""

    name = "ecb-fx"
    dataset = "fx_rates"
    url = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"
    description = "ECB euro reference rates, daily since 1999 (units of currency per EUR)"

    def payloads(self, location: str) -> Iterator[RawFile]:
        raw = self.read(location)
        if raw.name.lower().endswith(".zip") or raw.data[:2] == b"PK":
            with zipfile.ZipFile(io.BytesIO(raw.data)) as z:
                for n in z.namelist():
                    if n.lower().endswith(".csv"):
                        yield RawFile(f"{raw.name}!{n}", z.read(n))
        else:
            yield raw

    def transform(self, query: Query, raw: RawFile) -> FrameBatch:
        table = _read_table(raw)
        if "Date" not in table.columns:
            raise ParseError(f"{raw.name}: line 1: missing column 'Date'", file=raw.name, line=1, column="Date")
        ccys = [c for c in table.columns if re.fullmatch(r"[A-Z]{3}", c)]
        long = table.unpivot(index=["Date", "line"], on=ccys, variable_name="quote", value_name="_v")
        long = long.filter(~_missing("_v")).with_columns(
            pl.col("Date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False).alias("date"),
            pl.col("_v").str.strip_chars().cast(pl.Float64, strict=False).alias("rate"))
        refusals = []
        bad = long.filter(pl.col("date").is_null() | pl.col("rate").is_null() | (pl.col("rate") <= 0))
        for r in bad.iter_rows(named=True):
            what = "Date" if r["date"] is None else r["quote"]
            refusals.append(Refusal("fx.bad_rate" if r["date"] is not None else "fx.bad_date",
                                    f"{what}: {r['_v'] if r['date'] is not None else r['Date']!r} is not a "
                                    f"{'positive rate' if r['date'] is not None else 'date'}",
                                    raw.name, r["line"], {"Date": r["Date"], r["quote"]: r["_v"]}, field=what,
                                    value=str(r["_v"] if r["date"] is not None else r["Date"]), dataset=self.dataset))
        good = long.filter(pl.col("date").is_not_null() & pl.col("rate").is_not_null() & (pl.col("rate") > 0))
        frame = good.select(pl.lit("EUR").alias("base"), "quote", "date", "rate", pl.lit(raw.name).alias("file"),
                            "line")
        return FrameBatch(self.dataset, frame, None, refusals, {})
