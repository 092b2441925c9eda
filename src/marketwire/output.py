"""Rendering results for the terminal: ``--format table|csv|json``.

``table`` is for reading:

- on a terminal, a table whose short values (ids, dates, codes) are never wrapped or cut, and long text folds; a
  table too wide for the terminal is shown one field / value block a record;
- when standard output is not a terminal (a pipe, a file), plain tab-separated columns with a header line: nothing
  wrapped at 80 columns, nothing cut, one record a line, ready for ``cut``, ``sort`` or a spreadsheet;
- nested values are summarised in their cell (``3 listings (--format json)``); a single object (``security``,
  ``health``) is shown as field / value lines, with nested objects flattened one level (``counts.issuers``).

``csv`` and ``json`` are for programs and keep every value (nested values as JSON in CSV cells).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

#: a list or object shown whole in a table cell when its text is at most this long; longer ones are summarised
INLINE = 40
#: values at most this long are never wrapped in a terminal table (ids, dates, codes, numbers)
SHORT = 16
#: what a summarised cell points to
MORE = "--format json"


def _default(o: Any) -> Any:
    if isinstance(o, (date, datetime)):
        return o.isoformat()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def to_json(obj: Any) -> str:
    return json.dumps(obj, default=_default, ensure_ascii=False, indent=2)


def to_json_line(obj: Any) -> str:
    """One JSON object on one line (JSON Lines), for streams such as a poller's reports."""
    return json.dumps(obj, default=_default, ensure_ascii=False, separators=(",", ":"))


def _cell(v: Any) -> str:
    """A value as a CSV cell: lossless (lists and objects as JSON)."""
    if v is None:
        return ""
    if isinstance(v, (list, dict)):
        return json.dumps(v, default=_default, ensure_ascii=False)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return str(v)


def _scalar(v: Any) -> bool:
    return not isinstance(v, (list, tuple, set, dict))


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def summarize(v: Any, name: str = "") -> str:
    """A value as a table cell: scalars as text; a short list of scalars joined with commas; a short flat object
    as ``key=value`` pairs; anything larger as a count that points to ``--format json``."""
    if v is None:
        return ""
    if isinstance(v, (tuple, set)):
        v = list(v)
    if isinstance(v, list):
        if not v:
            return ""
        if all(_scalar(x) for x in v):
            text = ", ".join(_cell(x) for x in v)
            if len(text) <= INLINE:
                return text
        noun = name[:-1] if name.endswith("s") and len(name) > 1 else "item"
        return f"{_plural(len(v), noun)} ({MORE})"
    if isinstance(v, dict):
        if not v:
            return ""
        if all(_scalar(x) for x in v.values()):
            text = ", ".join(f"{k}={_cell(x)}" for k, x in v.items())
            if len(text) <= INLINE:
                return text
        return f"{_plural(len(v), 'field')} ({MORE})"
    return _cell(v)


def _plain(text: str) -> str:
    """One line of a tab-separated table: no tab or line break inside a cell."""
    return " ".join(text.replace("\t", " ").splitlines()) if ("\t" in text or "\n" in text or "\r" in text) \
        else text


def fields(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """A single object as field / value rows, nested objects flattened one level (``counts.issuers``)."""
    out: list[dict[str, Any]] = []
    for k, v in obj.items():
        if isinstance(v, dict) and v:
            for k2, v2 in v.items():
                out.append({"field": f"{k}.{k2}", "value": summarize(v2, str(k2))})
        else:
            out.append({"field": str(k), "value": summarize(v, str(k))})
    return out


def is_terminal(stream: Any = None) -> bool:
    s = stream if stream is not None else sys.stdout
    try:
        return bool(s.isatty())
    except (AttributeError, ValueError):
        return False


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    cols = list(columns or (rows[0].keys() if rows else []))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in cols])
    return buf.getvalue()


def to_tsv(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Plain tab-separated columns with a header line, nested values summarised: a table for pipes."""
    cols = list(columns or (rows[0].keys() if rows else []))
    lines = ["\t".join(cols)]
    lines += ["\t".join(_plain(summarize(r.get(c), c)) for c in cols) for r in rows]
    return "\n".join(lines) + "\n"


def render(rows: Sequence[dict[str, Any]] | dict[str, Any], fmt: str, columns: Sequence[str] | None = None,
           title: str | None = None) -> None:
    import click

    if fmt == "json":
        click.echo(to_json(rows))
        return
    if fmt == "csv":
        click.echo(to_csv([rows] if isinstance(rows, dict) else rows, columns), nl=False)
        return
    if isinstance(rows, dict):  # one object: field / value lines
        rows, columns = fields(rows), ["field", "value"]
    cols = list(columns or (rows[0].keys() if rows else []))
    if not is_terminal():
        if title:
            click.echo(title, err=True)
        click.echo(to_tsv(rows, cols), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    cells = [[summarize(r.get(c), c) for c in cols] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    # short columns whole plus at least 12 characters for each long one, with the borders: does it fit?
    needed = sum(w if w <= SHORT else 12 for w in widths) + 3 * len(cols) + 1
    if needed > console.width and len(cols) > 2:  # too wide for this terminal: one field / value block a record
        for n, row in enumerate(cells, 1):
            block = Table(title=f"{title + ' - ' if title else ''}record {n} of {len(cells)}", show_header=False)
            block.add_column("field", no_wrap=True, style="bold")
            block.add_column("value", overflow="fold")
            for c, v in zip(cols, row):
                block.add_row(c, v)
            console.print(block)
        return
    table = Table(title=title, show_lines=False)
    for c, w in zip(cols, widths):
        if w <= SHORT:  # ids, dates, codes, numbers: whole, on one line
            table.add_column(c, no_wrap=True, min_width=w)
        else:
            table.add_column(c, overflow="fold")
    for row in cells:
        table.add_row(*row)
    console.print(table)


def price_header(id: str, meta: dict[str, str]) -> str:
    """The line that says where a price series comes from and on which basis it is stored and shown, e.g.
    ``# AAPL  listing MWL...  source prices-csv:kaggle  basis adjusted (stored adjusted: --adjust none returns
    adjusted prices)  adjust none  currency USD``."""
    basis, adjust = meta.get("basis") or "raw", meta.get("adjust") or "none"
    notes = {
        "adjusted": "stored adjusted for splits and dividends: --adjust none returns adjusted prices",
        "split_adjusted": "stored split-adjusted: --adjust none returns split-adjusted prices",
        "raw": "stored as traded",
    }
    parts = [f"# {id}", f"listing {meta.get('listing_id') or '?'}", f"source {meta.get('source') or '?'}",
             f"basis {basis} ({notes.get(basis, 'stored ' + basis)})", f"adjust {adjust}"]
    if adjust == "total_return":
        parts[-1] += f" ({meta.get('convention') or 'prev_close'})"
    if meta.get("currency"):
        parts.append(f"currency {meta['currency']}")
    if meta.get("as_of"):
        parts.append(f"as of {meta['as_of']}")
    return "  ".join(parts)
