"""Verification rules of the facts (named in the rule catalogue; flags are stored on the fact, refusals go to the
quarantine with the raw fact).

Every check is columnar over one issuer's facts (the delivery together with what is stored), and returns the flag
codes of the delivered facts; :func:`check` is what the ingest stage and the fault-injection benchmark both run.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import polars as pl

from marketwire.fundamentals.standardise import load_mapping, unit_fits
from marketwire.verify.rules import RULES as ALL_RULES

#: the rules of this vertical (declared in the catalogue, :mod:`marketwire.verify.rules`)
RULES = tuple(r for r in ALL_RULES.values() if r.dataset in ("sec_facts", "sec_filings", "sec_fsds_facts", "consensus"))

_NICE = (1000.0, 0.001)


#: the sign prior: how many companies report a us-gaap tag, and how many of them negative (built from the SEC
#: Financial Statement Data Sets by ``tools/fundamentals_sign_prior.py``)
SIGN_PRIOR_PATH = Path(__file__).with_name("sign_prior.csv")
#: a tag reported by at least this many companies, at most ``PRIOR_MAX_NEGATIVE`` of them ever negative, is non-negative
PRIOR_MIN_COMPANIES = 5
PRIOR_MAX_NEGATIVE = 1
#: a tag fewer than this share of its companies report negative is non-negative unless the issuer's series says
#: otherwise (an issuer that reports a tag negative by its own convention does so in most of its filings)
PRIOR_MINORITY = 0.1
#: in an issuer's series expected non-negative, negative values this rare (against its positive ones) are sign errors
SERIES_MINORITY = 0.25
#: words of the taxonomies' element names that say a value may take either sign (a net, a change, a gain or loss, ...);
#: a monetary element named with none of them is expected non-negative when the prior does not know it
SIGNED_WORDS = re.compile(
    r"Loss|Decrease|Benefit|Deficit|Adjustment|Reclassification|Change|Effect|Gain|Difference|Variance|Net$|NetOf|"
    r"Other|Offset|Deduction|Impact|Revaluation|Translation|Provision|Contribution|Settlement|Transfer|Income|Accrual|"
    r"Increment|Excess|Surplus|Position|Spread|Remeasurement|Valuation|Discount|Premium|Elimination|Intersegment|"
    r"Correction|Reconciliation|Rate|UsedIn|Repayments|ProceedsFromPayments|PaymentsForProceeds|Equity|Earnings|"
    r"PerShare|Profit|Debt|LiabilityAsset|AssetLiability|Cash|Comprehensive|Undistributed|Retained|Dividends|Treasury",
    re.IGNORECASE)


@lru_cache(maxsize=1)
def sign_prior() -> pl.DataFrame:
    """``taxonomy, tag, prior_nonneg``: the tags the prior knows (enough companies report them) and whether they are
    non-negative."""
    p = pl.read_csv(SIGN_PRIOR_PATH, schema_overrides={"companies": pl.Int64, "negative_companies": pl.Int64})
    return p.filter(pl.col("companies") >= PRIOR_MIN_COMPANIES).select(
        "taxonomy", "tag", (pl.col("negative_companies") <= PRIOR_MAX_NEGATIVE).alias("prior_nonneg"),
        (pl.col("negative_companies") < PRIOR_MINORITY * pl.col("companies")).alias("prior_mostly"))


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
    add(_expected_sign(f), "fact.sign")
    add(_series_scale(f), "fact.scale")
    related = _related(f)
    add(related.filter(pl.col("_kind") == "sign").get_column("_i"), "fact.sign")
    add(related.filter(pl.col("_kind") == "scale").get_column("_i"), "fact.scale")
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
    # tags that many companies report with either sign (a gain or loss, a change, other comprehensive income) change
    # sign in their series legitimately: left to the other rules
    g = g.join(sign_prior(), on=["taxonomy", "tag"], how="left")
    signed = pl.col("prior_mostly").is_not_null() & pl.col("prior_mostly").not_()
    return g.filter(odd & size_ok & signed.not_()).get_column("_i")


def _expected_sign(f: pl.DataFrame) -> pl.Series:
    """A negative monetary value of a tag expected non-negative: by the sign prior (most companies report the tag and
    none negative), or, for a tag the prior does not know, by its name (none of :data:`SIGNED_WORDS`) when no other
    value of the issuer's series is negative."""
    g = f.filter((pl.col("dims") == "") & (pl.col("value") != 0) & (pl.col("unit").str.len_chars() == 3)
                 & pl.col("unit").str.contains("/").not_())
    if not g.height:
        return pl.Series([], dtype=pl.UInt32)
    g = g.join(sign_prior(), on=["taxonomy", "tag"], how="left")
    tags = g.get_column("tag").unique().to_list()
    named = pl.DataFrame({"tag": tags, "name_nonneg": [not SIGNED_WORDS.search(t) for t in tags]},
                         schema={"tag": pl.Utf8, "name_nonneg": pl.Boolean})
    ser = ["cik", "taxonomy", "tag", "unit"]
    g = g.join(named, on="tag", how="left").with_columns(
        (pl.col("value") < 0).sum().over(ser).alias("_neg"), (pl.col("value") > 0).sum().over(ser).alias("_pos"))
    rare = (pl.col("_neg") == 1) | (pl.col("_neg") <= SERIES_MINORITY * pl.col("_pos"))
    by_prior = pl.col("prior_nonneg").fill_null(False)
    by_mostly = pl.col("prior_mostly").fill_null(False) & rare & (pl.col("_pos") >= 1)
    by_name = pl.col("prior_nonneg").is_null() & pl.col("name_nonneg") & rare
    return g.filter((pl.col("value") < 0) & (by_prior | by_mostly | by_name)).get_column("_i")


#: a relation between two tags (equal, or each the negation of the other, in one filing and period) is learnt when
#: it holds in at least this many of the issuer's filings and periods ...
RELATION_MIN = 3
#: ... and fails in at most this share of them
RELATION_MAX_BROKEN = 0.1


def _related(f: pl.DataFrame) -> pl.DataFrame:
    """Facts that break an identity between two tags the issuer's other filings keep: two tags reported with the same
    size in one filing and period (a total of one component, one item under two names, a cash-flow line and its
    note) in most of the issuer's filings, here with the other sign (``sign``) or 1000 times apart (``scale``).
    Both facts of a broken pair are returned, as the balance-sheet identity does."""
    empty = pl.DataFrame({"_i": [], "_kind": []}, schema={"_i": pl.UInt32, "_kind": pl.Utf8})
    m = f.filter((pl.col("dims") == "") & (pl.col("value") != 0) & (pl.col("unit").str.len_chars() == 3)
                 & pl.col("unit").str.contains("/").not_()).select(
        "_i", "cik", "accession", "period", "unit", "tag", "value", pl.col("value").abs().alias("_av"))
    if not m.height:
        return empty
    k = ["cik", "accession", "period", "unit"]
    eq = m.join(m, on=k + ["_av"], how="inner").filter(pl.col("tag") < pl.col("tag_right"))
    rel = eq.group_by("cik", "tag", "tag_right").agg(
        (pl.col("value") == pl.col("value_right")).sum().alias("_same"), pl.len().alias("_n"))
    rel = rel.with_columns(pl.when(pl.col("_same") * 2 >= pl.col("_n")).then(1.0).otherwise(-1.0).alias("_s"))
    rel = rel.filter(pl.max_horizontal("_same", pl.col("_n") - pl.col("_same")) >= RELATION_MIN)
    if not rel.height:
        return empty
    a = m.join(rel.select("cik", "tag", "tag_right", "_s"), on=["cik", "tag"], how="inner")
    j = a.join(m.select(k + [pl.col("tag").alias("tag_right"), pl.col("value").alias("value_right"),
                            pl.col("_i").alias("_i_right")]), on=k + ["tag_right"], how="inner")
    r = pl.col("value") / (pl.col("_s") * pl.col("value_right"))
    j = j.with_columns(pl.when((r - 1).abs() <= 1e-9).then(pl.lit("kept"))
                       .when((r + 1).abs() <= 1e-9).then(pl.lit("sign"))
                       .when(((r - 1000).abs() < 1) | ((r - 0.001).abs() < 1e-6)).then(pl.lit("scale"))
                       .otherwise(pl.lit("other")).alias("_kind"))
    j = j.with_columns((pl.col("_kind") == "kept").sum().over("cik", "tag", "tag_right").alias("_kept"),
                       (pl.col("_kind") != "kept").sum().over("cik", "tag", "tag_right").alias("_broken"))
    j = j.filter(pl.col("_kind").is_in(["sign", "scale"]) & (pl.col("_kept") >= RELATION_MIN)
                 & (pl.col("_broken") <= RELATION_MAX_BROKEN * pl.col("_kept")))
    return pl.concat([j.select("_i", "_kind"), j.select(pl.col("_i_right").alias("_i"), "_kind")])


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
