"""Verification rules of the facts (named in the rule catalogue; flags are stored on the fact, refusals go to the
quarantine with the raw fact).

Every check is columnar over one issuer's facts (the delivery together with what is stored), and returns the flag
codes of the delivered facts; :func:`check` is what the ingest stage and the fault-injection benchmark both run.
"""

from __future__ import annotations

import math

import polars as pl

from marketwire.fundamentals.standardise import load_mapping, unit_fits
from marketwire.verify.rules import RULES as ALL_RULES

#: the rules of this vertical (declared in the catalogue, :mod:`marketwire.verify.rules`)
RULES = tuple(r for r in ALL_RULES.values() if r.dataset in ("sec_facts", "sec_filings", "sec_fsds_facts", "consensus"))

_NICE = (1000.0, 0.001)


def _kinds() -> pl.DataFrame:
    m = load_mapping()
    return m.select("taxonomy", "tag", "unit_kind", "sign").unique(["taxonomy", "tag"], keep="first")


def check(facts: pl.DataFrame, new: pl.Series | None = None) -> pl.DataFrame:
    """Flag codes per fact: returns ``facts`` with a ``_flags`` list column (the delivered and stored facts of one or
    more issuers; ``new`` marks which rows are the delivery, only those are checked against the others)."""
    f = facts.with_row_index("_i")
    flags: dict[int, set[str]] = {}

    def add(idx: pl.Series, code: str) -> None:
        for i in idx.to_list():
            flags.setdefault(i, set()).add(code)

    kinds = _kinds()
    k = f.join(kinds, on=["taxonomy", "tag"], how="inner")
    if k.height:
        bad_unit = [not unit_fits(uk, u) for uk, u in zip(k.get_column("unit_kind").to_list(),
                                                        k.get_column("unit").to_list())]
        add(k.filter(pl.Series(bad_unit, dtype=pl.Boolean)).get_column("_i"), "fact.unit_mismatch")
        add(k.filter((pl.col("sign") == "nonneg") & (pl.col("value") < 0)).get_column("_i"), "fact.sign")
    # the same (tag, unit, period, dims) in other filings: scale and sign against each other
    key = ["cik", "taxonomy", "tag", "unit", "period", "dims"]
    other = f.select(key + ["accession", pl.col("value").alias("o_value")])
    pair = f.select(key + ["_i", "accession", "value"]).join(other, on=key, how="inner")
    pair = pair.filter((pl.col("accession") != pl.col("accession_right")) & (pl.col("o_value") != 0)
                       & (pl.col("value") != 0))
    if pair.height:
        r = (pl.col("value") / pl.col("o_value"))
        scaled = pair.filter(((r - 1000).abs() < 10) | ((r - 0.001).abs() < 1e-5))
        # of the two, the one most filings disagree with is the error: flag a value unless most others share it
        add(_minority(pair, scaled), "fact.scale")
        flipped = pair.filter((r < -0.5) & (r > -2.0))  # the other sign, about the same size
        add(_minority(pair, flipped), "fact.sign")
    # neighbours of the same tag and duration in time (for values no other filing repeats)
    add(_neighbour_scale(f), "fact.scale")
    add(_series_sign(f), "fact.sign")
    add(_series_scale(f), "fact.scale")
    add(_balance(f), "balance.identity")
    add(_quarters(f), "quarters.sum")
    codes = [sorted(flags.get(i, ())) for i in range(f.height)]
    out = facts.with_columns(pl.Series("_flags", codes, dtype=pl.List(pl.Utf8)))
    if new is not None:
        out = out.with_columns(pl.when(new).then(pl.col("_flags")).otherwise(pl.lit([], pl.List(pl.Utf8)))
                               .alias("_flags"))
    return out


def _minority(pair: pl.DataFrame, odd: pl.DataFrame) -> pl.Series:
    """Rows of ``odd`` whose value disagrees with most of the other filings reporting the same fact."""
    if not odd.height:
        return pl.Series([], dtype=pl.UInt32)
    agree = pair.with_columns(((pl.col("value") - pl.col("o_value")).abs() <= 1e-9 * pl.col("value").abs())
                              .alias("_same"))
    votes = agree.group_by("_i").agg(pl.col("_same").sum().alias("same"), pl.len().alias("n"))
    o = odd.select("_i").unique().join(votes, on="_i", how="left")
    return o.filter(pl.col("same") * 2 < pl.col("n")).get_column("_i")


def _neighbour_scale(f: pl.DataFrame) -> pl.Series:
    g = f.filter(pl.col("dims") == "").with_columns(
        pl.when(pl.col("start").is_null()).then(0)
        .otherwise(((pl.col("end") - pl.col("start")).dt.total_days() / 30.44).round()).cast(pl.Int32)
        .alias("_m"))
    g = g.sort("filed", "accession", descending=True).unique(["cik", "taxonomy", "tag", "unit", "period", "dims"],
                                                             keep="first")
    g = g.sort(["cik", "taxonomy", "tag", "unit", "_m", "end"])
    grp = ["cik", "taxonomy", "tag", "unit", "_m"]
    g = g.with_columns(pl.col("value").shift(1).over(grp).alias("_p"), pl.col("value").shift(-1).over(grp).alias("_n"))
    lv = pl.col("value").abs().log10()
    dp = lv - pl.col("_p").abs().log10()
    dn = lv - pl.col("_n").abs().log10()
    both = (dp.abs() > 2.4) & (dn.abs() > 2.4) & ((dp * dn) > 0) & ((pl.col("_p").abs().log10()
                                                                     - pl.col("_n").abs().log10()).abs() < 1.0)
    edge = (pl.col("_n").is_null() & (dp.abs() > 2.7)) | (pl.col("_p").is_null() & (dn.abs() > 2.7))
    nz = (pl.col("value") != 0) & (pl.col("_p").fill_null(1) != 0) & (pl.col("_n").fill_null(1) != 0)
    hit = g.filter(nz & (both.fill_null(False) | edge.fill_null(False)) & pl.col("unit").str.contains("/").not_())
    return hit.get_column("_i")


def _series_sign(f: pl.DataFrame) -> pl.Series:
    """A value whose sign no other value of its series has (the same tag, unit and period length of one issuer, in
    every filing), when the series has at least six values of the other sign and the value's size is ordinary for
    the series (a sign error, not a rare loss of a size never seen)."""
    g = f.filter((pl.col("dims") == "") & (pl.col("value") != 0)).with_columns(
        pl.when(pl.col("start").is_null()).then(0)
        .otherwise(((pl.col("end") - pl.col("start")).dt.total_days() / 30.44).round()).cast(pl.Int32).alias("_m"))
    grp = ["cik", "taxonomy", "tag", "unit", "_m"]
    g = g.with_columns((pl.col("value") > 0).sum().over(grp).alias("_pos"),
                       (pl.col("value") < 0).sum().over(grp).alias("_neg"),
                       pl.col("value").abs().median().over(grp).alias("_med"))
    size_ok = (pl.col("value").abs() >= 0.2 * pl.col("_med")) & (pl.col("value").abs() <= 5 * pl.col("_med"))
    odd = ((pl.col("value") < 0) & (pl.col("_neg") == 1) & (pl.col("_pos") >= 3)) | \
          ((pl.col("value") > 0) & (pl.col("_pos") == 1) & (pl.col("_neg") >= 3))
    return g.filter(odd & size_ok).get_column("_i")


def _series_scale(f: pl.DataFrame) -> pl.Series:
    """A value about 1000 times (or a thousandth of) the typical size of its series (same tag, unit and period
    length of one issuer) when the rest of the series is tight (its other values within a factor of 10)."""
    g = f.filter((pl.col("dims") == "") & (pl.col("value") != 0) & pl.col("unit").str.contains("/").not_())
    g = g.with_columns(
        pl.when(pl.col("start").is_null()).then(0)
        .otherwise(((pl.col("end") - pl.col("start")).dt.total_days() / 30.44).round()).cast(pl.Int32).alias("_m"),
        pl.col("value").abs().log10().alias("_lv"))
    grp = ["cik", "taxonomy", "tag", "unit", "_m"]
    g = g.with_columns(pl.col("_lv").median().over(grp).alias("_med"), pl.len().over(grp).alias("_n"))
    g = g.with_columns((pl.col("_lv") - pl.col("_med")).abs().alias("_dev"))
    # the spread of the rest: the values within 1.5 decades of the median
    g = g.with_columns(pl.when(pl.col("_dev") < 1.5).then(pl.col("_lv")).max().over(grp).alias("_hi"),
                       pl.when(pl.col("_dev") < 1.5).then(pl.col("_lv")).min().over(grp).alias("_lo"))
    hit = g.filter((pl.col("_n") >= 4) & (pl.col("_dev") > 2.7) & ((pl.col("_hi") - pl.col("_lo")) < 1.0))
    return hit.get_column("_i")


def _balance(f: pl.DataFrame) -> pl.Series:
    tags = {"Assets": "a", "LiabilitiesAndStockholdersEquity": "le", "Liabilities": "l", "StockholdersEquity": "e",
            "StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest": "et", "MinorityInterest": "mi",
            "EquityAndLiabilities": "le", "Equity": "et"}
    b = f.filter(pl.col("tag").is_in(list(tags)) & (pl.col("dims") == "") & pl.col("start").is_null()
                 & pl.col("taxonomy").is_in(["us-gaap", "ifrs-full"]))
    if not b.height:
        return pl.Series([], dtype=pl.UInt32)
    b = b.with_columns(pl.col("tag").replace_strict(tags).alias("_k"))
    w = b.group_by(["cik", "accession", "end", "_k"]).agg(pl.col("value").first(), pl.col("_i")).pivot(
        on="_k", index=["cik", "accession", "end"], values="value")
    ids = b.group_by(["cik", "accession", "end"]).agg(pl.col("_i"))
    w = w.join(ids, on=["cik", "accession", "end"])
    for c in ("a", "le", "l", "e", "et", "mi"):
        if c not in w.columns:
            w = w.with_columns(pl.lit(None, pl.Float64).alias(c))
    tol = 0.005 * pl.col("a").abs()
    bad_le = pl.col("le").is_not_null() & ((pl.col("a") - pl.col("le")).abs() > tol)
    rhs = pl.coalesce(pl.col("l") + pl.col("et"), pl.col("l") + pl.col("e") + pl.col("mi").fill_null(0))
    bad_sum = pl.col("le").is_null() & rhs.is_not_null() & ((pl.col("a") - rhs).abs() > tol)
    bad = w.filter(pl.col("a").is_not_null() & (bad_le | bad_sum))
    return bad.get_column("_i").explode() if bad.height else pl.Series([], dtype=pl.UInt32)


def _quarters(f: pl.DataFrame) -> pl.Series:
    """Within one filing: W = P + Q where W and P share a start and Q completes P to W's end (money flows)."""
    d = f.filter(pl.col("start").is_not_null() & (pl.col("dims") == "") & pl.col("unit").str.contains("/").not_()
                 & (pl.col("unit") != "shares") & (pl.col("unit") != "pure"))
    if not d.height:
        return pl.Series([], dtype=pl.UInt32)
    d = d.select("_i", "cik", "accession", "taxonomy", "tag", "unit", "start", "end", "value")
    w = d
    p = d.select("cik", "accession", "taxonomy", "tag", "unit", "start", pl.col("end").alias("p_end"),
                 pl.col("value").alias("p_value"), pl.col("_i").alias("p_i"))
    q = d.select("cik", "accession", "taxonomy", "tag", "unit", pl.col("start").alias("q_start"),
                 pl.col("end"), pl.col("value").alias("q_value"), pl.col("_i").alias("q_i"))
    on = ["cik", "accession", "taxonomy", "tag", "unit"]
    j = w.join(p, on=on + ["start"], how="inner").filter(pl.col("p_end") < pl.col("end"))
    j = j.with_columns((pl.col("p_end") + pl.duration(days=1)).alias("q_start"))
    j = j.join(q, on=on + ["q_start", "end"], how="inner")
    if not j.height:
        return pl.Series([], dtype=pl.UInt32)
    diff = (pl.col("value") - pl.col("p_value") - pl.col("q_value")).abs()
    scale = pl.max_horizontal(pl.col("value").abs(), pl.col("p_value").abs(), pl.col("q_value").abs())
    bad = j.filter((diff > 0.005 * scale) & (diff > 1e-6 * scale + 2.0))
    return pl.concat([bad.get_column("_i"), bad.get_column("p_i"), bad.get_column("q_i")]).unique()


def impossible(start: object, end: object, filed: object) -> bool:
    if end is None:
        return True
    if start is not None and start > end:  # type: ignore[operator]
        return True
    if end.year < 1900:  # type: ignore[attr-defined]
        return True
    return bool((end - filed).days > 5 * 366)  # type: ignore[operator]


__all__ = ["RULES", "check", "impossible", "math"]
