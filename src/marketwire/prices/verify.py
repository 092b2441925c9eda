"""Verification of daily bars and corporate actions: vectorised rules over whole deliveries (Polars).

Rules compare a bar with its own series (robust volatility from a centred rolling median of absolute log
returns), with the exchange calendar and with the corporate-action ledger. Thresholds scale with each series'
volatility, so one set of rules serves a utility and a biotech. ``reject`` rules quarantine the row with the
rule; ``flag`` rules keep it, with the codes in ``flags``. The catalogue is in :mod:`marketwire.verify.rules`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import polars as pl

from marketwire.prices import calendars

#: price ratios (old / new) that corporate actions produce; their reciprocals are reverse splits
SPLIT_RATIOS = (1.25, 4 / 3, 1.5, 5 / 3, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0,
                30.0, 40.0, 50.0)
#: unit steps: a move by 100x or 1000x (or their inverse) in one session is a change of unit (pounds and pence,
#: dollars and mills, a missing or extra thousands separator); 10x is left to the split rule, as 10:1 splits exist
UNIT_STEPS = (2, 3)  # powers of ten
OHLC = ("open", "high", "low", "close")
EPS = 1e-6
#: the integer id of a series within one delivery (rows of a series are contiguous and in date order)
S = "_sid"


def prev(x: pl.Expr) -> pl.Expr:
    """``x`` on the series' previous row (null on its first row)."""
    return pl.when(pl.col(S) == pl.col(S).shift(1)).then(x.shift(1))


def nxt(x: pl.Expr) -> pl.Expr:
    """``x`` on the series' next row (null on its last row)."""
    return pl.when(pl.col(S) == pl.col(S).shift(-1)).then(x.shift(-1))


#: the range a stored price can take: below MIN_PRICE a price is below the tick grid (``bar.sub_tick``), above
#: MAX_PRICE (or a volume above MAX_VOLUME) it is out of range (``bar.out_of_range``); the integer ticks of a price
#: up to MAX_PRICE fit in 64 bits at the exponent a price of MIN_PRICE needs
MIN_PRICE = 1e-6
MAX_PRICE = 1e9
MAX_VOLUME = 1e15
#: the first day a daily bar may carry; the last is tomorrow (UTC) at the time of the ingest
FIRST_DAY = date(1800, 1, 1)
PRICES = ("open", "high", "low", "close", "adj_close")


#: a one-day move this many robust sigmas away (and reverting) is a spike
SPIKE_SIGMAS = 6.0
#: one series: a listing as one source delivers it
G = ["listing_id", "source"]


@dataclass
class Verified:
    bars: pl.DataFrame  # accepted rows, with ``flags`` (comma-separated codes or null)
    rejected: pl.DataFrame  # refused rows, with ``rule``, ``field`` and ``message``
    actions: pl.DataFrame  # accepted actions, with ``flags``
    rejected_actions: pl.DataFrame


def _reject_rules(df: pl.DataFrame, names: list[str | None]) -> pl.DataFrame:
    """Adds ``rule``, ``field`` and ``message`` for the first refusal rule a row breaks (null when none).

    Rows are in date order within each series (listing and source), so a duplicate is a row whose date does not
    advance on its series' previous row."""
    lo = pl.col("low") * (1 - EPS)
    hi = pl.col("high") * (1 + EPS)
    any_nonpos = pl.any_horizontal([pl.col(c) <= 0 for c in OHLC]).fill_null(False)
    inconsistent = ((pl.col("high") < lo) | (pl.col("close") > hi) | (pl.col("close") < lo)).fill_null(False)
    dup = (pl.col("date") == prev(pl.col("date"))).fill_null(False)
    wd = pl.col("date").dt.weekday()  # 1 = Monday
    trading = wd <= 5
    for n in names:
        mask = calendars.weekmask(n)
        if mask != (True,) * 5 + (False,) * 2:
            trading = pl.when(pl.col("calendar") == n).then(wd.is_in([k + 1 for k in range(7) if mask[k]])) \
                .otherwise(trading)
    px = [c for c in PRICES if c in df.columns]
    nums = [*px, "volume"]

    def first(cond: Callable[[str], pl.Expr], cols: list[str]) -> tuple[pl.Expr, pl.Expr]:
        return (pl.any_horizontal([cond(c) for c in cols]).fill_null(False),
                pl.coalesce([pl.when(cond(c)).then(pl.lit(c)) for c in cols]))

    non_finite = first(lambda c: pl.col(c).is_infinite() | pl.col(c).is_nan(), nums)
    too_big = first(lambda c: pl.col(c).abs() > (MAX_VOLUME if c == "volume" else MAX_PRICE), nums)
    sub_tick = first(lambda c: (pl.col(c) > 0) & (pl.col(c) < MIN_PRICE), px)
    two_digit = (pl.col("date").is_null() & pl.col("date_raw").str.contains(r"^\d{2}[-/.]\d{1,2}[-/.]\d{1,2}$")
                 if "date_raw" in df.columns else pl.lit(False))
    last_day = (datetime.now(timezone.utc) + timedelta(days=1)).date()
    checks: list[tuple[str, pl.Expr, pl.Expr]] = [
        ("bar.two_digit_year", two_digit.fill_null(False), pl.lit("date")),
        ("bar.unparseable", pl.col("date").is_null(), pl.lit("date")),
        ("bar.date_out_of_range", ~pl.col("date").is_between(FIRST_DAY, last_day).fill_null(True), pl.lit("date")),
        ("bar.non_finite", *non_finite),
        ("bar.out_of_range", *too_big),
        ("bar.missing_price", pl.col("close").is_null(), pl.lit("close")),
        ("bar.sub_tick", *sub_tick),
        ("bar.non_positive_price", any_nonpos, pl.coalesce([pl.when(pl.col(c) <= 0).then(pl.lit(c)) for c in OHLC])),
        ("bar.negative_volume", (pl.col("volume") < 0).fill_null(False), pl.lit("volume")),
        ("bar.volume_not_integer", (pl.col("volume") != pl.col("volume").round(0)).fill_null(False), pl.lit("volume")),
        ("bar.ohlc_inconsistent", inconsistent, pl.lit("high")),
        ("bar.weekend", ~trading.fill_null(True), pl.lit("date")),
        ("bar.duplicate_date", dup, pl.lit("date")),
    ]
    rule = pl.lit(None, pl.Utf8)
    fld = pl.lit(None, pl.Utf8)
    for code, cond, f in reversed(checks):  # the first rule in the list wins
        rule = pl.when(cond).then(pl.lit(code)).otherwise(rule)
        fld = pl.when(cond).then(f).otherwise(fld)
    return df.with_columns(rule.alias("rule"), fld.alias("field"))


def _field_value() -> pl.Expr:
    return pl.coalesce([pl.when(pl.col("field") == c).then(pl.col(c).cast(pl.Utf8)) for c in (*PRICES, "volume")])


_MESSAGES = {
    "bar.two_digit_year": pl.format("date: {} has a two-digit year (1917 or 2017?); write the year with four digits",
                                    pl.col("date_raw")),
    "bar.unparseable": pl.when(pl.col("date_raw").str.strip_chars().fill_null("") == "")
                         .then(pl.lit("date: the cell is empty; every bar needs its date"))
                         .otherwise(pl.format("date: {} is not a date", pl.col("date_raw"))),
    "bar.date_out_of_range": pl.format("date: {} is outside {} .. tomorrow", pl.col("date"), pl.lit(str(FIRST_DAY))),
    "bar.non_finite": pl.format("{}: {} is not a finite number", pl.col("field"), _field_value()),
    "bar.out_of_range": pl.format("{}: {} is beyond the largest value stored ({:g} for prices, {:g} for volumes)"
                                  .replace("{:g}", "{}"), pl.col("field"), _field_value(), pl.lit(f"{MAX_PRICE:g}"),
                                  pl.lit(f"{MAX_VOLUME:g}")),
    "bar.sub_tick": pl.format("{}: {} is below the smallest price stored ({})", pl.col("field"), _field_value(),
                              pl.lit(f"{MIN_PRICE:g}")),
    "bar.missing_price": pl.lit("no close"),
    "bar.non_positive_price": pl.format("open {} high {} low {} close {}: a price at or below zero",
                                        *[pl.col(c) for c in OHLC]),
    "bar.negative_volume": pl.format("volume {} is negative", pl.col("volume")),
    "bar.volume_not_integer": pl.format("volume {} is not a whole number", pl.col("volume")),
    "bar.ohlc_inconsistent": pl.format("high {} low {} close {}: high below low, or close outside [low, high]",
                                       *[pl.col(c) for c in ("high", "low", "close")]),
    "bar.weekend": pl.format("{} is a {} (the exchange has no sessions on that weekday)", pl.col("date"),
                             pl.col("date").dt.strftime("%A")),
    "bar.duplicate_date": pl.format("a second bar for {} in this delivery", pl.col("date")),
}


def _with_messages(rejected: pl.DataFrame) -> pl.DataFrame:
    absent = [c for c in (*PRICES, "volume", "date_raw") if c not in rejected.columns]
    rejected = rejected.with_columns([pl.lit(None, pl.Utf8 if c == "date_raw" else pl.Float64).alias(c) for c in absent])
    msg = pl.lit(None, pl.Utf8)
    for code, m in _MESSAGES.items():
        msg = pl.when(pl.col("rule") == code).then(m).otherwise(msg)
    return rejected.with_columns(msg.alias("message")).drop(absent)


def verify(bars: pl.DataFrame, actions: pl.DataFrame, ledger: pl.DataFrame | None = None) -> Verified:
    """Verify one delivery.

    ``bars``: listing_id, calendar, basis, date, open, high, low, close, volume, adj_close, file, line (any order),
    and optionally ``date_raw``, the date cell as written (for the messages of dates that did not parse).
    ``actions``: listing_id, ex_date, type, value, file, line; ``ledger``: actions already stored for the same
    listings (split checks see both).
    """
    names = sorted({n for n in bars.get_column("calendar").unique().to_list()}, key=lambda x: x or "")
    # the rules need each series (listing, source) in date order; files usually are, so sort only when needed
    boundary = ((pl.col("listing_id") != pl.col("listing_id").shift(1)) | (pl.col("source") != pl.col("source").shift(1))
                ).fill_null(True)
    first = bars.select(boundary).to_series()  # the first row of each run of a series (computed once)
    ordered = bars.select(((pl.col("date").diff() >= 0) | first).fill_null(True).all(),
                          first.sum() == pl.struct(G).filter(first).n_unique()).row(0)
    if all(ordered):
        df = bars.with_columns(first.cum_sum().cast(pl.Int32).alias("_sid"))
    else:
        df = bars.sort("listing_id", "source", "date", "file", "line")
        df = df.with_columns(boundary.cum_sum().cast(pl.Int32).alias("_sid"))
    # series are now contiguous and in date order: one integer id per series serves every window
    df = _reject_rules(df, names)
    bad = df.get_column("rule").is_not_null()  # a mask, not an expression: filters without a query plan
    rejected = _with_messages(df.filter(bad))
    ok = (df.filter(~bad) if bad.any() else df).drop("rule", "field", "date_raw", strict=False)

    # -- actions: refuse negative values; the ledger used by the rules is the stored one plus this delivery
    wild = ~pl.col("value").is_finite() | (pl.col("value").abs() > MAX_PRICE)
    act = actions.with_columns(
        pl.when(wild).then(pl.lit("action.out_of_range")).when(pl.col("value") < 0)
        .then(pl.lit("action.non_positive")).alias("rule"),
        pl.when(wild | (pl.col("value") < 0)).then(pl.lit("value")).alias("field"),
        pl.when(wild).then(pl.format("{} {} is not a finite number up to {}", pl.col("type"), pl.col("value"),
                                     pl.lit(f"{MAX_PRICE:g}")))
        .when(pl.col("value") < 0).then(pl.format("{} {} is below zero", pl.col("type"), pl.col("value")))
        .alias("message"))
    rejected_actions = act.filter(pl.col("rule").is_not_null())
    act = act.filter(pl.col("rule").is_null()).drop("rule", "field", "message")
    cols = ["listing_id", "source", "ex_date", "type", "value"]
    full_ledger = act.select(cols)
    if ledger is not None and ledger.height:
        full_ledger = pl.concat([ledger.select(cols), full_ledger]).unique()

    ok, act = _series_rules(ok, act, full_ledger, names)
    return Verified(ok, rejected, act, rejected_actions)


def _series_rules(df: pl.DataFrame, act: pl.DataFrame, ledger: pl.DataFrame, names: list[str | None]
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    g = "listing_id"
    has_adj = "adj_close" in df.columns and df.get_column("adj_close").null_count() < df.height
    lf = df.lazy()
    lc = pl.col("close").log()
    lf = lf.with_columns((lc - prev(lc)).alias("_r"), (pl.col("open").log() - prev(lc)).alias("_gap"))
    moved = pl.when(pl.col("_r") != 0).then(pl.col("_r").abs().clip(0, 0.1))
    lf = lf.with_columns(
        nxt(pl.col("_r")).alias("_rn"),
        # robust volatility: the centred 63-session mean of absolute returns, each capped at 10% so that the
        # errors being looked for do not hide themselves (mean |r| is 0.8 sigma for normal returns); sessions
        # without a move (stale prices) do not count, so a stale run cannot lower the bar for its neighbours
        (moved.rolling_mean(window_size=63, min_samples=10, center=True).over(S) * 1.25)
        .fill_null(0.02).clip(0.004, None).alias("_sigma"),
    )
    r, rn, sigma = pl.col("_r"), pl.col("_rn"), pl.col("_sigma")

    # unit errors: jumps by 100x or 1000x (or their inverse) start a segment at another scale, counted in powers of
    # ten so that a 1000x step and a later 100x step back do not cancel; the series' usual level wins
    decades = r / math.log(10.0)
    unit_step = pl.any_horizontal([((decades.abs() - k).abs() < 0.35 / math.log(10.0)) for k in UNIT_STEPS]
                                  ).fill_null(False)
    lf = lf.with_columns(unit_step.alias("_unit_step"))  # computed once, read by the rules below
    unit_step = pl.col("_unit_step")
    lf = lf.with_columns(pl.when(unit_step).then(decades.round(0)).otherwise(0).cum_sum().over(S).alias("_lvl"))
    lf = lf.with_columns((pl.col("_lvl") != pl.col("_lvl").mode().first().over(S)).alias("_unit_seg"))
    hi_lo = pl.max_horizontal([pl.col(c) for c in OHLC]) / pl.min_horizontal([pl.col(c) for c in OHLC])
    unit = pl.col("_unit_seg") | unit_step | (hi_lo > 30).fill_null(False)

    # one-day spikes that revert
    thr = pl.max_horizontal(SPIKE_SIGMAS * sigma, pl.lit(0.08))
    spike = ((r.abs() > thr) & (rn.abs() > thr) & (r.sign() != rn.sign()) & ((r + rn).abs() < 0.35 * r.abs())
             & ~unit_step).fill_null(False)
    lf = lf.with_columns(spike.alias("_spike"))
    spike = pl.col("_spike")

    # lasting split-like jumps
    lr = (-r).abs()
    gap = pl.col("_gap").abs()  # the overnight gap carries a split without the day's own move

    logs = pl.lit(pl.Series("_log_ratio", sorted(math.log(c) for c in SPLIT_RATIOS)))

    def near_ratio(x: pl.Expr) -> pl.Expr:  # distance to the nearest split ratio, only for the rare large moves
        # the nearest of the sorted log ratios is one of the two around x (a binary search): the same minimum as
        # over all of them (x - l is monotone in l), at a tenth of the cost
        i = logs.search_sorted(x).clip(1, len(SPLIT_RATIOS) - 1)
        below, above = logs.gather(i - 1), logs.gather(i)
        return pl.when(x > math.log(1.2)).then(pl.min_horizontal((x - below).abs(), (x - above).abs()))

    near = pl.min_horizontal(near_ratio(lr), near_ratio(gap))
    tol = pl.max_horizontal(pl.lit(0.04), 2 * sigma)
    after_spike = prev(spike).fill_null(False)  # the day a spike reverts is not a new level
    split_like = ((r.abs() > pl.max_horizontal(8 * sigma, pl.lit(math.log(1.2)))) & (near < tol) & ~unit_step
                  & ~spike & ~after_spike).fill_null(False)
    splits = ledger.filter(pl.col("type") == "split").select(*G, pl.col("ex_date").alias("date"),
                                                              pl.col("value").alias("_split"))
    splits = splits.group_by(*G, "date").agg(pl.col("_split").product())
    if splits.height:
        lf = lf.join(splits.lazy(), on=[*G, "date"], how="left", maintain_order="left")
    else:
        lf = lf.with_columns(pl.lit(None, pl.Float64).alias("_split"))
    recorded = pl.col("_split").is_not_null()  # a recorded split is checked against its ratio below
    unrecorded = split_like & ~recorded

    # stale feed: the previous close repeated with zero volume, two sessions or more in a row
    stale_row = ((pl.col("close") == prev(pl.col("close"))) & (pl.col("volume") == 0)).fill_null(False)
    lf = lf.with_columns(stale_row.alias("_stale"))
    st = pl.col("_stale")
    lf = lf.with_columns((st & (prev(st).fill_null(False) | nxt(st).fill_null(False)))
                         .alias("_stale_run"))

    # sessions of the exchange calendar
    cal_names = [n for n in names if n]
    non_session = pl.lit(False)
    for n in cal_names:  # only dates the calendar covers can be judged
        days = calendars.sessions(n)
        lo, hi = (date(1970, 1, 1) + timedelta(days=int(days[0])), date(1970, 1, 1) + timedelta(days=int(days[-1])))
        # a set lookup of the row's date among the calendar's sessions (no join: the rows keep their order)
        off = pl.col("date").is_between(lo, hi) & ~pl.col("date").is_in(pl.Series(days).cast(pl.Date).implode())
        non_session = pl.when(pl.col("calendar") == n).then(off).otherwise(non_session)

    # split checks on the recorded splits: raw series jump by 1/ratio on the ex date, adjusted ones do not
    exp_r = pl.when(pl.col("basis") == "raw").then(-pl.col("_split").log()).otherwise(0.0)
    split_bad = (recorded & ((r - exp_r).abs() > pl.max_horizontal(pl.lit(0.1), 5 * sigma))).fill_null(False)

    # the vendor's adjusted close against the ledger (files that carry one)
    lf, adj_bar, div_bad = _vendor_adjustment(lf, ledger, has_adj)

    open_out = ((pl.col("open") > pl.col("high") * (1 + EPS)) | (pl.col("open") < pl.col("low") * (1 - EPS)))
    codes = [("bar.non_session", non_session), ("bar.open_outside_range", open_out), ("bar.spike", spike),
             ("bar.unit_jump", unit),
             ("bar.unrecorded_split", unrecorded), ("bar.stale", pl.col("_stale_run")),
             ("bar.adj_mismatch", adj_bar)]
    flags = pl.concat_str([pl.when(c.fill_null(False)).then(pl.lit(code)) for code, c in codes], separator=",",
                          ignore_nulls=True)
    lf = lf.with_columns(pl.when(flags == "").then(None).otherwise(flags).alias("flags"),
                         split_bad.alias("_split_bad"), prev(pl.col("close")).alias("_prev_close"),
                         sigma.alias("_sig"))
    df = lf.collect(engine="in-memory")  # faster than streaming for these window functions on 2 cores
    if not act.height:
        act = act.with_columns(pl.lit(None, pl.Utf8).alias("flags"))
        return (df.drop([c for c in df.columns if c.startswith("_") and c != S]),
                act.drop([c for c in act.columns if c.startswith("_")]))
    if div_bad:
        div_bad_df = df.filter(pl.col("_vbad") & pl.col("_div").is_not_null()).select(
            *G, pl.col("date").alias("ex_date"), pl.lit("dividend").alias("type"), pl.lit(True).alias("_vendor_bad"))

    # action flags
    prev_rows = df.filter(pl.col("date").is_in(act.get_column("ex_date").unique().implode())).select(
        *G, "date", "_prev_close", "_split_bad", pl.col("_r").alias("_r_ex"), "_sig", pl.col("basis").alias("_basis"))
    act = act.join(prev_rows.rename({"date": "ex_date"}), on=[*G, "ex_date"], how="left")
    med = (ledger.filter(pl.col("type") == "dividend").group_by(*G).agg(pl.col("value").median().alias("_med"),
                                                                        pl.len().alias("_ndiv")))
    act = act.join(med, on=G, how="left")
    size = (pl.col("type") == "dividend") & (pl.col("value") > 0.35 * pl.col("_prev_close"))
    unit_div = (pl.col("type") == "dividend") & (pl.col("_ndiv") >= 3) & (pl.col("value") > 20 * pl.col("_med"))
    # a dividend worth more than 3% of the price must show as a drop of about that size on the ex date
    yld = pl.col("value") / pl.col("_prev_close")
    expected = (1 - yld.clip(None, 0.99)).log()
    no_drop = ((pl.col("type") == "dividend") & (pl.col("_basis") != "adjusted") & (yld > 0.03)
               & ((pl.col("_r_ex") - expected).abs() > pl.max_horizontal(4 * pl.col("_sig"), 0.5 * expected.abs())))
    # the same dividend again within a week (a repeated event with a shifted date)
    act = act.sort(*G, "type", "ex_date").with_columns(
        ((pl.col("type") == "dividend") & (pl.col("type").shift(1) == "dividend") & (pl.col(g).shift(1) == pl.col(g))
         & (pl.col("source").shift(1) == pl.col("source"))
         & ((pl.col("ex_date") - pl.col("ex_date").shift(1)).dt.total_days() <= 7)
         & ((pl.col("value") / pl.col("value").shift(1) - 1).abs() < 0.25)).fill_null(False).alias("_dup_div"))
    act = act.with_columns((pl.col("_dup_div") | pl.col("_dup_div").shift(-1).fill_null(False)).alias("_dup_div"))
    in_div = act.filter(pl.col("type") == "dividend").select(*G, "ex_date", pl.col("value").alias("_div_same_day"))
    act = act.join(in_div.group_by(*G, "ex_date").agg(pl.col("_div_same_day").sum()), on=[*G, "ex_date"],
                   how="left")
    cg_in = ((pl.col("type") == "capital_gain") & (pl.col("_div_same_day") >= pl.col("value"))
             & pl.col("_cg_in_div"))
    if div_bad:
        act = act.join(div_bad_df.unique([*G, "ex_date", "type"]), on=[*G, "ex_date", "type"], how="left")
    else:
        act = act.with_columns(pl.lit(None, pl.Boolean).alias("_vendor_bad"))
    acodes = [("split.mismatch", (pl.col("type") == "split") & pl.col("_split_bad")),
              ("dividend.implausible", size | unit_div), ("dividend.no_price_drop", no_drop),
              ("dividend.duplicate", pl.col("_dup_div")), ("dividend.vendor_mismatch", pl.col("_vendor_bad")),
              ("capital_gain.in_dividend", cg_in)]
    aflags = pl.concat_str([pl.when(c.fill_null(False)).then(pl.lit(code)) for code, c in acodes], separator=",",
                           ignore_nulls=True)
    act = act.with_columns(pl.when(aflags == "").then(None).otherwise(aflags).alias("flags"))
    act = act.drop([c for c in act.columns if c.startswith("_")])
    df = df.drop([c for c in df.columns if c.startswith("_") and c != S])  # the series id stays for encoding
    return df, act


def _vendor_adjustment(df: pl.LazyFrame, ledger: pl.DataFrame, has_adj: bool
                       ) -> tuple[pl.LazyFrame, pl.Expr, bool]:
    """Compare the step of the vendor's adjustment factor (adj_close / close) on each session with the step the
    ledger implies: 1 - dividend / previous close, 1 / split ratio (raw series only)."""
    if not has_adj:
        return df, pl.lit(False), False
    f = pl.col("adj_close") / pl.col("close")
    df = df.with_columns((prev(f) / f).log().alias("_vstep"), prev(pl.col("close")).alias("_pc"))
    d = ledger.filter(pl.col("type").is_in(["dividend", "capital_gain"])).group_by(*G, "ex_date", "type").agg(
        pl.col("value").sum())
    divs = d.filter(pl.col("type") == "dividend").select(*G, pl.col("ex_date").alias("date"),
                                                         pl.col("value").alias("_div"))
    df = df.join(divs.lazy(), on=[*G, "date"], how="left", maintain_order="left")
    ledger_step = (pl.when(pl.col("_div").is_not_null()).then((1 - pl.col("_div") / pl.col("_pc")).log())
                   .otherwise(0.0)
                   + pl.when(pl.col("_split").is_not_null() & (pl.col("basis") == "raw"))
                   .then(-pl.col("_split").log()).otherwise(0.0))
    diff = (pl.col("_vstep") - ledger_step).abs()
    bad = (diff > 0.002) & pl.col("_vstep").is_not_null() & pl.col("adj_close").is_not_null()
    df = df.with_columns(bad.fill_null(False).alias("_vbad"))
    has_action = pl.col("_div").is_not_null() | pl.col("_split").is_not_null()
    bar_flag = pl.col("_vbad") & ~has_action
    return df, bar_flag, True
