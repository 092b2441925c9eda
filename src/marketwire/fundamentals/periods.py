"""Point in time, fiscal calendars, quarters from year-to-date values, trailing twelve months.

* **Point in time**: a fact's knowledge time is its filing date. :func:`as_of` keeps the versions filed at or
  before a date and, per (taxonomy, tag, unit, period, dimensions), the latest one (``which="latest"``) or the first
  one ever filed (``which="first"``). An amendment is simply a later filing: it supersedes from its filing date on.
* **Fiscal calendar**: the SEC's ``fy``/``fp`` describe the *filing* (a 10-K for fiscal 2023 also reports 2021 and
  2022). The fiscal year and period of each *period* are derived from the issuer's annual reports: each 10-K's
  fiscal year end anchors the calendar (52/53-week years and a changed year end included); a period ending
  ``d`` days after the nearest anchor belongs to fiscal year ``fy + ceil((d - 10) / 365.25)``.
* **Quarters**: a quarter reported as such is used; otherwise it is derived from cumulative values with the same
  start: ``Q4 = FY - 9M``, ``Q3 = 9M - 6M``, ``Q2 = 6M - 3M`` (cash flows are reported year to date), marked
  ``derived``. Share counts (weighted averages) are never differenced.
* **TTM**: the sum of four contiguous quarters for flows; the latest quarter-end value for balances.
"""

from __future__ import annotations

from datetime import date

import polars as pl

KEY = ["taxonomy", "tag", "unit", "period", "dims"]
ANNUAL_FORMS = ("10-K", "10-K/A", "20-F", "20-F/A", "40-F", "40-F/A", "10-KT", "10-KT/A")


def as_of(facts: pl.DataFrame, when: date | None, which: str = "latest") -> pl.DataFrame:
    """The version of each fact known at ``when`` (filed at or before it): the latest, or the first reported."""
    f = facts if when is None else facts.filter(pl.col("filed") <= when)
    if not f.height:
        return f
    f = f.sort(["filed", "accession"], descending=which == "latest")
    return f.unique(KEY, keep="first", maintain_order=True)


def anchors(facts: pl.DataFrame) -> pl.DataFrame:
    """Fiscal year ends from the annual reports: (fy, fy_end), one per fiscal year."""
    f = facts.filter(pl.col("form").is_in(ANNUAL_FORMS) & (pl.col("fp") == "FY") & pl.col("start").is_not_null()
                     & (pl.col("taxonomy") != "dei") & pl.col("fy").is_not_null())
    f = f.with_columns(((pl.col("end") - pl.col("start")).dt.total_days()).alias("_d"))
    f = f.filter((pl.col("_d") >= 330) & (pl.col("_d") <= 380))
    if not f.height:
        return pl.DataFrame(schema={"a_fy": pl.Int32, "a_end": pl.Date})
    per_acc = f.group_by("accession").agg(pl.col("fy").first().cast(pl.Int32).alias("a_fy"),
                                          pl.col("end").max().alias("a_end"))
    return per_acc.group_by("a_fy").agg(pl.col("a_end").max()).sort("a_end")


def label(facts: pl.DataFrame, anc: pl.DataFrame) -> pl.DataFrame:
    """Add ``fiscal_year``, ``months`` (duration length, 0 for instants) and ``fiscal_period`` (FY, Q1..Q4 for a
    quarter or an instant at a quarter end, ``6M``/``9M`` for year-to-date periods)."""
    if not facts.height:
        return facts.with_columns(pl.lit(None, pl.Int32).alias("fiscal_year"), pl.lit(0, pl.Int32).alias("months"),
                                  pl.lit(None, pl.Utf8).alias("fiscal_period"))
    f = facts.with_columns(
        pl.when(pl.col("start").is_null()).then(0)
        .otherwise(((pl.col("end") - pl.col("start")).dt.total_days() + 1) / 30.44).round().cast(pl.Int32)
        .alias("months"))
    if anc.height:
        f = f.sort("end").join_asof(anc.sort("a_end").with_columns(pl.col("a_end").alias("_k")), left_on="end",
                                    right_on="_k", strategy="nearest")
        d = (pl.col("end") - pl.col("a_end")).dt.total_days()
        fy = (pl.col("a_fy") + ((d - 10) / 365.25).ceil()).cast(pl.Int32)
        fy_end_gap = (pl.col("a_end") - pl.col("end")).dt.total_days() + (fy - pl.col("a_fy")) * 365.25
        f = f.with_columns(fy.alias("fiscal_year"))
        f = f.with_columns((4 - (fy_end_gap.cast(pl.Float64) / 91.31).round()).clip(1, 4).cast(pl.Int32)
                           .alias("_q")).drop(["a_fy", "a_end", "_k"])
    else:  # no annual report: calendar quarters
        f = f.with_columns(pl.col("end").dt.year().cast(pl.Int32).alias("fiscal_year"),
                           ((pl.col("end").dt.month() + 2) // 3).cast(pl.Int32).alias("_q"))
    fp = (pl.when(pl.col("months") == 12).then(pl.lit("FY"))
          .when(pl.col("months") == 3).then(pl.lit("Q") + pl.col("_q").cast(pl.Utf8))
          .when(pl.col("months") == 0).then(pl.when(pl.col("_q") == 4).then(pl.lit("FY"))
                                            .otherwise(pl.lit("Q") + pl.col("_q").cast(pl.Utf8)))
          .when(pl.col("months").is_in([6, 9])).then(pl.col("months").cast(pl.Utf8) + pl.lit("M"))
          .otherwise(None))
    return f.with_columns(fp.alias("fiscal_period")).drop("_q")


def derive_quarters(values: pl.DataFrame, difference: bool = True) -> pl.DataFrame:
    """Quarters of duration line items: reported 3-month values, plus ``W - P`` where ``W`` (6, 9 or 12 months)
    and ``P`` (3 months shorter) share a start and no quarter for ``(P.end, W.end]`` was reported.

    ``values``: one row per (line_item, start, end) with value, unit, filed, months, fiscal_year, fiscal_period."""
    q = values.filter(pl.col("months") == 3).with_columns(pl.lit(False).alias("derived"))
    if not difference:
        return q
    w = values.filter(pl.col("months").is_in([6, 9, 12]))
    p = values.filter(pl.col("months").is_in([3, 6, 9])).select(
        "line_item", "start", pl.col("end").alias("p_end"), (pl.col("months") + 3).alias("months"),
        pl.col("value").alias("p_value"), pl.col("filed").alias("p_filed"), pl.col("unit").alias("p_unit"))
    d = w.join(p, on=["line_item", "start", "months"], how="inner").filter(pl.col("p_unit") == pl.col("unit"))
    if not d.height:
        return q
    d = d.with_columns(
        (pl.col("p_end") + pl.duration(days=1)).alias("start"), (pl.col("value") - pl.col("p_value")).alias("value"),
        pl.max_horizontal("filed", "p_filed").alias("filed"), pl.lit(3, pl.Int32).alias("months"),
        pl.lit(True).alias("derived"))
    d = d.with_columns((pl.lit("Q") + (pl.col("fiscal_period").replace({"6M": "2", "9M": "3", "FY": "4"}))
                        ).alias("fiscal_period")).select(q.columns)
    # a reported quarter wins over a derived one (several derivations of one quarter: the latest filed)
    d = d.join(q.select("line_item", "end"), on=["line_item", "end"], how="anti")
    d = d.sort("filed", descending=True).unique(["line_item", "end"], keep="first")
    return pl.concat([q, d]).sort("line_item", "end")


def ttm(quarters: pl.DataFrame) -> pl.DataFrame:
    """Trailing twelve months at each quarter end with four contiguous quarters (gaps of at most 7 days)."""
    if not quarters.height:
        return quarters
    q = quarters.sort("line_item", "end")
    rows = []
    for (item,), g in q.group_by(["line_item"], maintain_order=True):
        starts, ends = g.get_column("start").to_list(), g.get_column("end").to_list()
        vals, filed = g.get_column("value").to_list(), g.get_column("filed").to_list()
        unit, fyr, fp = g.get_column("unit").to_list(), g.get_column("fiscal_year").to_list(), \
            g.get_column("fiscal_period").to_list()
        for i in range(3, len(ends)):
            ok = all(0 <= (starts[j] - ends[j - 1]).days <= 8 and unit[j] == unit[i] for j in range(i - 2, i + 1))
            if ok:
                rows.append({"line_item": item, "start": starts[i - 3], "end": ends[i], "value": sum(vals[i - 3:i + 1]),
                             "unit": unit[i], "filed": max(filed[i - 3:i + 1]), "months": 12,
                             "fiscal_year": fyr[i], "fiscal_period": fp[i], "derived": True})
    return pl.DataFrame(rows, schema={c: quarters.schema[c] for c in
                                      ["line_item", "start", "end", "value", "unit", "filed", "months", "fiscal_year",
                                       "fiscal_period", "derived"]}).select(quarters.columns)
