"""Rendering results for the terminal: ``--format table|csv|json``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any


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
    if v is None:
        return ""
    if isinstance(v, (list, dict)):
        return json.dumps(v, default=_default, ensure_ascii=False)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return str(v)


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    cols = list(columns or (rows[0].keys() if rows else []))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in cols])
    return buf.getvalue()


def render(rows: Sequence[dict[str, Any]] | dict[str, Any], fmt: str, columns: Sequence[str] | None = None,
           title: str | None = None) -> None:
    import click

    if fmt == "json":
        click.echo(to_json(rows))
        return
    if isinstance(rows, dict):
        rows = [rows]
    if fmt == "csv":
        click.echo(to_csv(rows, columns), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    cols = list(columns or (rows[0].keys() if rows else []))
    table = Table(title=title, show_lines=False)
    for c in cols:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*[_cell(r.get(c)) for c in cols])
    Console().print(table)
