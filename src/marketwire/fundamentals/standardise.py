"""The mapping table: standard line items from us-gaap and ifrs-full tags, shipped as data and extensible.

``mapping.csv`` (next to this module) has one row per (line item, taxonomy, tag): ``line_item, statement, label,
kind (duration|instant), unit_kind (money|per_share|shares), sign (nonneg|any), taxonomy, tag, priority``. For a
period, a line item takes the value of its tag with the lowest ``priority`` that the issuer reported for that
period (companies move between tags, e.g. ``SalesRevenueNet`` -> ``RevenueFromContractWithCustomer...``).

Users extend or override it with their own CSV of the same columns: ``$MARKETWIRE_HOME/fundamentals_mapping.csv``
(read when the service opens) or :func:`load_mapping` with ``extra=PATH``. A row of the user table for a
(line_item, taxonomy, tag) replaces the shipped row; new line items are added.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import polars as pl

from marketwire.errors import ParseError

MAPPING_PATH = Path(__file__).with_name("mapping.csv")
COLUMNS = ("line_item", "statement", "label", "kind", "unit_kind", "sign", "taxonomy", "tag", "priority")
STATEMENTS = ("income", "balance", "cash_flow")
_ALLOWED = {"statement": STATEMENTS, "kind": ("duration", "instant"), "unit_kind": ("money", "per_share", "shares"),
            "sign": ("nonneg", "any")}


def _read(path: Path) -> pl.DataFrame:
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ParseError(f"{path}: line 1: missing column {missing[0]!r}", file=str(path), line=1,
                             column=missing[0])
        for i, row in enumerate(reader, start=2):
            for col, allowed in _ALLOWED.items():
                if row[col] not in allowed:
                    raise ParseError(f"{path}: line {i}: {col} {row[col]!r} is not one of {', '.join(allowed)}",
                                     file=str(path), line=i, column=col)
            try:
                prio = int(row["priority"])
            except ValueError:
                raise ParseError(f"{path}: line {i}: priority {row['priority']!r} is not a whole number",
                                 file=str(path), line=i, column="priority") from None
            rows.append({**{c: row[c] for c in COLUMNS if c != "priority"}, "priority": prio, "order": i})
    return pl.DataFrame(rows, schema={**{c: pl.Utf8 for c in COLUMNS if c != "priority"}, "priority": pl.Int32,
                                      "order": pl.Int32})


@lru_cache(maxsize=8)
def load_mapping(extra: str | None = None) -> pl.DataFrame:
    """The mapping table (shipped, then ``extra``'s rows replacing or adding)."""
    base = _read(MAPPING_PATH)
    if extra and Path(extra).is_file():
        user = _read(Path(extra)).with_columns(pl.col("order") + 10_000)
        base = pl.concat([user, base]).unique(["line_item", "taxonomy", "tag"], keep="first", maintain_order=True)
    return base.sort("order")


def line_items(mapping: pl.DataFrame, statement: str | None = None) -> pl.DataFrame:
    """One row per line item (statement, label, kind, unit_kind, sign) in table order."""
    m = mapping if statement is None else mapping.filter(pl.col("statement") == statement)
    return m.group_by("line_item", maintain_order=True).agg(
        pl.col("statement").first(), pl.col("label").first(), pl.col("kind").first(), pl.col("unit_kind").first(),
        pl.col("sign").first(), pl.col("order").min())


def unit_fits_expr(unit_kind: pl.Expr, unit: pl.Expr) -> pl.Expr:
    """:func:`unit_fits` as a Polars expression (columnar)."""
    money = (unit.str.contains("/", literal=True).not_() & unit.is_in(["shares", "pure"]).not_()
             & (unit.str.len_chars() == 3) & (unit == unit.str.to_uppercase()) & unit.str.contains("[A-Z]"))
    return (pl.when(unit_kind == "per_share").then(unit.str.ends_with("/shares"))
            .when(unit_kind == "shares").then(unit == "shares").otherwise(money))


def unit_fits(unit_kind: str, unit: str) -> bool:
    if unit_kind == "per_share":
        return unit.endswith("/shares")
    if unit_kind == "shares":
        return unit == "shares"
    return "/" not in unit and unit not in ("shares", "pure") and len(unit) == 3 and unit.isupper()
