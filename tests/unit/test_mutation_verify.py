"""The price rules of ``marketwire.prices.verify`` on deliveries built in memory, each rule on both sides of its
threshold or decision.

Series are synthetic with a known volatility: closes alternate by +-``step`` in log terms, so every session moves
by ``step`` and the rules' robust sigma is about 1.25 * ``step``; a fault is then placed at a known distance from
the threshold it must cross (or must not). ``verify`` is called directly, as the ingest calls it, so that the
refusal rule, its field and message and each flag can be read off the result.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest
from test_prices import sessions

from marketwire.prices.verify import verify

pytestmark = pytest.mark.unit

LID, SRC = "MWLTEST00001", "prices-csv:kaggle"
BAR_SCHEMA = {"listing_id": pl.Utf8, "source": pl.Utf8, "calendar": pl.Utf8, "basis": pl.Utf8, "date": pl.Date,
              "open": pl.Float64, "high": pl.Float64, "low": pl.Float64, "close": pl.Float64, "volume": pl.Float64,
              "adj_close": pl.Float64, "file": pl.Utf8, "line": pl.Int64, "date_raw": pl.Utf8}
ACT_SCHEMA = {"listing_id": pl.Utf8, "source": pl.Utf8, "ex_date": pl.Date, "type": pl.Utf8, "value": pl.Float64,
              "file": pl.Utf8, "line": pl.Int64, "basis": pl.Utf8, "currency": pl.Utf8, "_cg_in_div": pl.Boolean}
#: the price ratios of splits and reverse splits, as corporate actions produce them
RATIOS = (1.25, 4 / 3, 1.5, 5 / 3, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0, 30.0, 40.0,
          50.0)


def zigzag(n: int, step: float = 0.008, level: float = 50.0) -> list[float]:
    """Closes alternating by +-``step`` in log terms (every session moves by ``step``)."""
    return [level * math.exp(step * (i % 2)) for i in range(n)]


def frame(closes: list[float | None], *, lid: str = LID, source: str = SRC, calendar: str | None = "XNYS",
          basis: str = "raw", days: list[date | None] | None = None, opens: list | None = None,
          highs: list | None = None, lows: list | None = None, volumes: list | None = None,
          adj: list | None = None, date_raw: list | None = None, first: date = date(2021, 1, 4)) -> pl.DataFrame:
    """One series as the ingest hands it to ``verify``: high and low 0.4% around the open and close unless given;
    no ``adj_close`` column unless ``adj`` is given (the ingest drops an empty one)."""
    n = len(closes)
    days = days if days is not None else sessions(n, first)
    opens = opens if opens is not None else list(closes)
    highs = highs if highs is not None else [None if c is None or o is None else max(o, c) * 1.004
                                             for o, c in zip(opens, closes)]
    lows = lows if lows is not None else [None if c is None or o is None else min(o, c) * 0.996
                                          for o, c in zip(opens, closes)]
    data = {"listing_id": [lid] * n, "source": [source] * n, "calendar": [calendar] * n, "basis": [basis] * n,
            "date": days, "open": opens, "high": highs, "low": lows, "close": closes,
            "volume": volumes if volumes is not None else [100_000.0 + i for i in range(n)],
            "adj_close": adj, "file": [f"{lid}.csv"] * n, "line": list(range(2, n + 2)),
            "date_raw": date_raw if date_raw is not None else [None] * n}
    if adj is None:
        del data["adj_close"]
    return pl.DataFrame(data, schema={k: v for k, v in BAR_SCHEMA.items() if k in data})


def actions(*rows: tuple, basis: str = "raw", cg_in_div: bool = False) -> pl.DataFrame:
    """Ledger rows ``(ex_date, type, value)`` or ``(listing_id, ex_date, type, value)``."""
    out = []
    for k, row in enumerate(rows):
        lid, (ex, typ, value) = (LID, row) if len(row) == 3 else (row[0], row[1:])
        out.append({"listing_id": lid, "source": SRC, "ex_date": ex, "type": typ, "value": value, "file": "a.csv",
                    "line": k + 2, "basis": basis, "currency": "USD", "_cg_in_div": cg_in_div})
    return pl.DataFrame(out, schema=ACT_SCHEMA)


def ledger(*rows: tuple) -> pl.DataFrame:
    """Actions already stored: ``(ex_date, type, value)``."""
    return actions(*rows).select("listing_id", "source", "ex_date", "type", "value")


def run(bars: pl.DataFrame, acts: pl.DataFrame | None = None, stored: pl.DataFrame | None = None):
    return verify(bars, acts if acts is not None else actions(), stored)


def flags(v, lid: str = LID) -> dict[int, set[str]]:
    """Row index (in the series as built) -> the flag codes of the accepted rows that carry any."""
    df = v.bars.filter((pl.col("listing_id") == lid) & pl.col("flags").is_not_null())
    return {line - 2: set(f.split(",")) for line, f in df.select("line", "flags").iter_rows()}


def flagged(v, code: str, lid: str = LID) -> set[int]:
    return {i for i, f in flags(v, lid).items() if code in f}


def refused(v, lid: str = LID) -> dict[int, tuple[str, str, str]]:
    """Row index -> (rule, field, message) of the refused rows."""
    df = v.rejected.filter(pl.col("listing_id") == lid)
    return {line - 2: (r, f, m) for line, r, f, m in df.select("line", "rule", "field", "message").iter_rows()}


def action_flags(v) -> list[tuple[str, date, str, float, str | None]]:
    return sorted(v.actions.select("listing_id", "ex_date", "type", "value", "flags").iter_rows())


def scale(closes: list[float], rows: range | list[int], factor: float) -> list[float]:
    out = list(closes)
    for i in rows:
        out[i] *= factor
    return out


# -- refusals: each rule, its field and its message ------------------------------------------------------------------

def test_ohlc_consistency_allows_a_rounding_margin_of_one_in_a_million():
    """High below low, or close outside [low, high], is refused only beyond a relative margin of 1e-6."""
    n = 40
    c = zigzag(n)
    highs = [x * 1.004 for x in c]
    lows = [x * 0.996 for x in c]
    highs[5] = lows[5] * (1 - 0.5e-6)  # high a hair below low: rounding
    highs[6] = lows[6] * (1 - 3e-6)
    c[5], c[6] = lows[5], lows[6]
    highs[20] = c[20] = lows[20] * (1 - 1e-6)  # high and close exactly at the margin below low: passes
    c[22] = highs[22] * (1 + 1e-6)  # close exactly at the margin above high: passes
    highs[24], c[24] = lows[24] * (1 - 1.5e-6), lows[24] * (1 - 1e-6)  # high below low, close between them
    c[10] = highs[10] * (1 + 0.5e-6)  # close a hair above high
    c[11] = highs[11] * (1 + 3e-6)
    c[15] = lows[15] * (1 - 0.5e-6)  # close a hair below low
    c[16] = lows[16] * (1 - 3e-6)
    opens = [min(max(x, lo), hi) for x, lo, hi in zip(c, lows, highs)]
    opens[5] = opens[6] = None
    v = run(frame(c, opens=opens, highs=highs, lows=lows))
    assert {i: r[:2] for i, r in refused(v).items()} == {6: ("bar.ohlc_inconsistent", "high"),
                                                        11: ("bar.ohlc_inconsistent", "high"),
                                                        16: ("bar.ohlc_inconsistent", "high"),
                                                        24: ("bar.ohlc_inconsistent", "high")}
    assert refused(v)[11][2] == f"high {highs[11]} low {lows[11]} close {c[11]}: high below low, or close outside " \
                                "[low, high]"
    assert v.bars.height == n - 4


def test_non_positive_prices_are_refused_naming_the_first_such_price():
    """A price at or below zero is refused (zero included), the field named is the first of open, high, low,
    close that is at or below zero; a zero is not a sub-tick price."""
    c = zigzag(30)
    opens, lows = list(c), [x * 0.996 for x in c]
    opens[3] = 0.0
    lows[7] = -1.0
    c[12] = 0.0
    lows[12] = 0.0
    opens[20] = c[20] = 0.5  # a share at 50 cents with a low of zero
    lows[20] = 0.0
    v = run(frame(c, opens=opens, lows=lows))
    got = refused(v)
    assert {i: r[:2] for i, r in got.items()} == {3: ("bar.non_positive_price", "open"),
                                                 7: ("bar.non_positive_price", "low"),
                                                 12: ("bar.non_positive_price", "low"),
                                                 20: ("bar.non_positive_price", "low")}
    assert got[3][2] == f"open 0.0 high {c[3] * 1.004} low {lows[3]} close {c[3]}: a price at or below zero"


def test_volume_must_be_a_non_negative_whole_number():
    """A negative volume is refused, zero is not; a fractional volume is refused, a whole one in float form is
    not; a missing volume passes."""
    c = zigzag(30)
    vol = [1000.0] * 30
    vol[3], vol[4], vol[8], vol[9], vol[12], vol[14] = -1.0, 0.0, 2.5, 3.0, None, 1000.7
    got = refused(run(frame(c, volumes=vol)))
    assert got == {3: ("bar.negative_volume", "volume", "volume -1.0 is negative"),
                   8: ("bar.volume_not_integer", "volume", "volume 2.5 is not a whole number"),
                   14: ("bar.volume_not_integer", "volume", "volume 1000.7 is not a whole number")}


def test_non_finite_values_are_refused_naming_the_first_such_column():
    c = zigzag(30)
    opens, vol = list(c), [1000.0] * 30
    c[3] = math.inf
    opens[6], c[6] = math.nan, math.inf
    vol[9] = math.inf
    highs = [None if not math.isfinite(x) else x * 1.004 for x in c]
    lows = [None if not math.isfinite(x) else x * 0.996 for x in c]
    got = refused(run(frame(c, opens=opens, highs=highs, lows=lows, volumes=vol)))
    assert got == {3: ("bar.non_finite", "close", "close: inf is not a finite number"),
                   6: ("bar.non_finite", "open", "open: NaN is not a finite number"),
                   9: ("bar.non_finite", "volume", "volume: inf is not a finite number")}


def test_prices_and_volumes_beyond_the_stored_range_are_refused():
    """Prices up to 1e9 and volumes up to 1e15 are stored, a hair more is refused; a volume of 5e9 is a volume,
    not a price out of range."""
    c = zigzag(30)
    vol = [1000.0] * 30
    c[3] = 1e9  # open, high, low and close at the largest price
    c[4] = 1e9 + 0.5  # the close only
    vol[8], vol[9], vol[10] = 1e15, 1e15 + 0.5, 5e9
    opens = [x if i != 4 else 50.0 for i, x in enumerate(c)]
    highs = [x if i != 4 else 50.0 for i, x in enumerate(c)]
    v = run(frame(c, opens=opens, highs=highs, lows=list(opens), volumes=vol))
    got = refused(v)
    assert got == {
        4: ("bar.out_of_range", "close",
            "close: 1000000000.5 is beyond the largest value stored (1e+09 for prices, 1e+15 for volumes)"),
        9: ("bar.out_of_range", "volume",
            "volume: 1000000000000000.5 is beyond the largest value stored (1e+09 for prices, 1e+15 for volumes)")}


def test_prices_below_the_tick_grid_are_refused():
    """1e-6 is the smallest price stored; below it (and above zero) a price is refused as sub-tick; a penny
    stock is not."""
    c = [0.0001 * math.exp(0.008 * (i % 2)) for i in range(30)]
    c[5] = 1e-6
    c[6] = 0.9e-6
    one = list(c)
    got = refused(run(frame(c, opens=one, highs=one, lows=one)))
    assert got == {6: ("bar.sub_tick", "open", "open: 9e-7 is below the smallest price stored (1e-06)")}


def test_a_date_that_does_not_parse_is_refused_and_a_two_digit_year_is_named():
    c = zigzag(10)
    days = sessions(10)
    days[3] = days[4] = days[5] = days[7] = None
    raw = [None] * 10
    raw[3], raw[4], raw[5] = "21-01-07", "21/1/8", "2021-13-45"  # row 7: an empty date cell
    got = refused(run(frame(c, days=days, date_raw=raw)))
    assert got.pop(7)[:2] == ("bar.unparseable", "date")
    assert got == {
        3: ("bar.two_digit_year", "date",
            "date: 21-01-07 has a two-digit year (1917 or 2017?); write the year with four digits"),
        4: ("bar.two_digit_year", "date",
            "date: 21/1/8 has a two-digit year (1917 or 2017?); write the year with four digits"),
        5: ("bar.unparseable", "date", "date: 2021-13-45 is not a date")}


def test_dates_before_1800_or_after_tomorrow_are_refused():
    """1800-01-01 (a Wednesday) and tomorrow pass the date range; 1799-12-31 and the day after tomorrow do not."""
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date()
    days = [date(1799, 12, 31), date(1800, 1, 1), date(1800, 1, 2), tomorrow, tomorrow + timedelta(days=1)]
    c = zigzag(5)
    got = refused(run(frame(c, days=days, calendar=None)))
    assert got[0] == ("bar.date_out_of_range", "date", "date: 1799-12-31 is outside 1800-01-01 .. tomorrow")
    assert got[4][:2] == ("bar.date_out_of_range", "date")
    assert 1 not in got and 2 not in got
    assert got.get(3, ("",))[0] != "bar.date_out_of_range"  # tomorrow: in range (refused only on a weekend)


def test_missing_close_is_refused():
    c = zigzag(20)
    c[4] = None
    got = refused(run(frame(c)))
    assert got == {4: ("bar.missing_price", "close", "no close")}


def test_weekend_bars_are_refused_by_each_calendars_own_weekdays():
    """XNYS trades Monday to Friday: a Saturday is refused, Fridays pass. XSAU (Tadawul) trades Sunday to
    Thursday: there a Friday is refused and a Sunday passes. Each series is judged by its own calendar in one
    delivery: Toronto's Fridays and Tel Aviv's Sundays pass, and a series without a calendar is held to Monday to
    Friday."""
    ny = sessions(20, date(2023, 1, 3))
    assert ny[3].weekday() == 4  # Friday 2023-01-06
    sat = ny[3] + timedelta(days=1)
    ny_days = ny[:4] + [sat] + ny[4:19]
    from marketwire.prices import calendars

    sau = [date(1970, 1, 1) + timedelta(days=int(d)) for d in calendars.sessions("XSAU")]
    sau = [d for d in sau if d >= date(2023, 1, 1)][:20]
    assert sau[0].weekday() == 6  # 2023-01-01, a Sunday session
    thu = next(k for k, d in enumerate(sau) if d.weekday() == 3)
    fri = sau[thu] + timedelta(days=1)
    sau_days = sau[:thu + 1] + [fri] + sau[thu + 1:19]
    tae = [date(1970, 1, 1) + timedelta(days=int(d)) for d in calendars.sessions("XTAE")]
    tae = [d for d in tae if d >= date(2024, 1, 1)][:20]
    assert any(d.weekday() == 6 for d in tae)  # Tel Aviv traded on Sundays (and Fridays were closed) until 2026
    bars = pl.concat([frame(zigzag(20), days=ny_days), frame(zigzag(20), lid="MWLSAU", days=sau_days,
                                                             calendar="XSAU"),
                      frame(zigzag(20), lid="MWLTSE", days=ny[:20], calendar="XTSE"),
                      frame(zigzag(20), lid="MWLNONE", days=ny_days, calendar=None),
                      frame(zigzag(20), lid="MWLTAE", days=tae, calendar="XTAE")])
    v = run(bars)
    assert refused(v, "MWLTAE") == {}
    assert flags(v, "MWLNONE") == {}  # no calendar: no session to miss
    assert refused(v, "MWLTSE") == {}
    assert {i: r[0] for i, r in refused(v, "MWLNONE").items()} == {4: "bar.weekend"}
    assert refused(v) == {4: ("bar.weekend", "date", f"{sat} is a Saturday (the exchange has no sessions on that "
                                                     "weekday)")}
    assert refused(v, "MWLSAU") == {thu + 1: ("bar.weekend", "date", f"{fri} is a Friday (the exchange has no "
                                                                     "sessions on that weekday)")}
    assert v.bars.height == 97


def test_second_bar_for_a_date_is_refused_within_its_series_only():
    """A date repeated in one series refuses the second bar; the same date in another listing or from another
    source is that series' own bar."""
    c = zigzag(20)
    days = sessions(20)
    days[8] = days[7]
    bars = pl.concat([frame(c, days=days), frame(c, lid="MWLOTHER"), frame(c, source="stooq")])
    v = run(bars)
    assert refused(v) == {8: ("bar.duplicate_date", "date", f"a second bar for {days[7]} in this delivery")}
    assert v.bars.height == 59


def test_the_first_rule_in_the_catalogue_wins():
    """A row that breaks several rules is refused by the first: a two-digit year before an unparseable date, a
    non-finite price before a negative volume, a non-positive price before a negative volume."""
    c = zigzag(10)
    days = sessions(10)
    days[2] = None
    raw = [None] * 10
    raw[2] = "21-01-06"
    vol = [1000.0] * 10
    c[5], vol[5] = math.inf, -3.0
    c[7], vol[7] = 0.0, -3.0
    highs = [None if not math.isfinite(x) else x * 1.004 for x in c]
    got = refused(run(frame(c, days=days, date_raw=raw, volumes=vol, highs=highs)))
    assert {i: r[0] for i, r in got.items()} == {2: "bar.two_digit_year", 5: "bar.non_finite",
                                                7: "bar.non_positive_price"}


# -- order of the delivery -----------------------------------------------------------------------------------------

def test_series_are_put_in_date_order_when_the_delivery_is_not():
    """Rows of a series delivered out of order or in two runs are sorted before the rules: a repeated date is
    found though its two bars were apart in the file, and a 2:1 split is found between the runs."""
    a = zigzag(60)
    a = scale(a, range(30, 60), 0.5)
    days = sessions(60)
    first, second = frame(a[:30], days=days[:30]), frame(a[30:], days=days[30:])
    second = second.with_columns((pl.col("line") + 30).alias("line"))
    other = frame(zigzag(60, level=20.0), lid="MWLOTHER")
    v = run(pl.concat([first, other, second]))
    assert refused(v) == {} and v.bars.height == 120
    assert flags(v) == {30: {"bar.unrecorded_split"}}
    assert flags(v, "MWLOTHER") == {}
    # the same rows reversed, with one date repeated far from its twin
    rows = pl.concat([first, second]).reverse()
    rows = rows.with_columns(pl.when(pl.col("line") == 50).then(pl.lit(days[3])).otherwise(pl.col("date"))
                             .alias("date"))
    v = run(rows)
    assert {i: r[0] for i, r in refused(v).items()} == {48: "bar.duplicate_date"}


def test_each_listing_and_source_is_its_own_series():
    """A listing in pence from one source and in pounds from another, delivered together: neither series has a
    jump, nor does a second listing at another price level."""
    bars = pl.concat([frame(zigzag(40, level=50.0)), frame(zigzag(40, level=5000.0), source="lse"),
                      frame(zigzag(40, level=0.5), lid="MWLCHEAP")])
    v = run(bars)
    assert v.bars.height == 120 and v.bars.get_column("flags").null_count() == 120
    # the accepted rows keep the delivery's columns, with the series id and the flags (the rules' own work is
    # dropped), with or without actions
    cols = ["listing_id", "source", "calendar", "basis", "date", "open", "high", "low", "close", "volume", "file",
            "line", "_sid", "flags"]
    assert v.bars.columns == cols
    v = run(bars, actions((sessions(40)[20], "dividend", 0.5)))
    assert v.bars.columns == cols
    assert v.actions.columns == [*ACT_SCHEMA][:-1] + ["flags"]


def test_a_listings_history_from_two_sources_in_one_delivery_is_two_series():
    """One listing delivered by stooq for the first 40 sessions and by the LSE (in pence) for the next 40, in date
    order, and another by the LSE then stooq: two series each, none with a jump."""
    days = sessions(80)
    bars = pl.concat([frame(zigzag(40), source="stooq", days=days[:40]),
                      frame(zigzag(40, level=5000.0), source="lse", days=days[40:]),
                      frame(zigzag(40, level=5000.0), lid="MWLOTHER", source="lse", days=days[:40]),
                      frame(zigzag(40), lid="MWLOTHER", source="stooq", days=days[40:])])
    v = run(bars)
    assert v.bars.height == 160 and v.bars.get_column("flags").null_count() == 160


def test_listings_delivered_one_after_another_are_separate_series_whatever_their_names():
    """Listing B's bars, then listing A's for later dates (names not in order, dates never going back): two
    series at their own levels, with no jump between them."""
    days = sessions(80)
    bars = pl.concat([frame(zigzag(40), lid="MWLB", days=days[:40]),
                      frame(zigzag(40, level=5000.0), lid="MWLA", days=days[40:])])
    v = run(bars)
    assert v.bars.height == 80 and v.bars.get_column("flags").null_count() == 80


def test_a_file_written_newest_first_is_read_in_date_order():
    """Many vendors write the newest bar first: the series is put in date order, and a 2:1 split (halving from
    the 61st session) is flagged on its own date."""
    c = jump(0.5)
    days = sessions(122)
    v = run(frame(c[::-1], days=days[::-1]))
    got = v.bars.filter(pl.col("flags").is_not_null()).select("date", "flags").rows()
    assert got == [(days[61], "bar.unrecorded_split")]


# -- actions refused -----------------------------------------------------------------------------------------------

def test_actions_with_values_beyond_range_or_below_zero_are_refused():
    d = sessions(20)
    acts = actions((d[3], "dividend", math.inf), (d[4], "dividend", 1e9 + 0.5), (d[5], "dividend", 1e9),
                   (d[6], "dividend", -0.5), (d[7], "dividend", 0.25))
    v = run(frame(zigzag(20)), acts)
    rej = sorted(v.rejected_actions.select("ex_date", "rule", "field", "message").iter_rows())
    assert rej == [(d[3], "action.out_of_range", "value", "dividend inf is not a finite number up to 1e+09"),
                   (d[4], "action.out_of_range", "value",
                    "dividend 1000000000.5 is not a finite number up to 1e+09"),
                   (d[6], "action.non_positive", "value", "dividend -0.5 is below zero")]
    assert sorted(v.actions.get_column("ex_date").to_list()) == [d[5], d[7]]


# -- spikes and the robust volatility they are measured against -----------------------------------------------------

def test_spike_bar_has_a_floor_of_eight_percent_in_a_quiet_series():
    """With sigma at its floor (0.4%: 6 sigma is 2.4%), a one-day move must still exceed 8% to be a spike, up or
    down."""
    c = zigzag(120, step=0.002)
    c[40] *= math.exp(0.09)
    c[60] *= math.exp(-0.09)
    c[80] *= math.exp(-0.07)
    c[100] *= math.exp(0.07)
    v = run(frame(c))
    assert flags(v) == {40: {"bar.spike"}, 60: {"bar.spike"}}


def test_spike_bar_is_six_sigmas():
    """A series moving 2% a day (sigma 2.8%, 6 sigma 16.9%): a one-day move of 18.3% and back is a spike, one of
    15.5% (5.5 sigma) is not."""
    big, small = zigzag(122, step=0.02), zigzag(122, step=0.02)
    big[61] *= math.exp(0.163)  # row 61 is odd: the day's move is 0.163 + 0.02
    small[61] *= math.exp(0.135)
    v = run(pl.concat([frame(big), frame(small, lid="MWLSMALL")]))
    assert flags(v) == {61: {"bar.spike"}}
    assert flags(v, "MWLSMALL") == {}


def test_spike_on_the_last_but_one_bar_is_flagged():
    """The day after a spike is the series' last bar: the spike is still seen."""
    c = zigzag(60, step=0.002)
    c[58] *= math.exp(0.2)
    assert flags(run(frame(c))) == {58: {"bar.spike"}}


def test_a_spike_needs_both_moves_beyond_the_bar():
    """Up 10% and back 7.5% in a quiet series (bar 8%): the way back is within the bar, so it is no spike, though
    it gives back three quarters of the move."""
    c = zigzag(80, step=0.002)
    c = scale(c, [40], math.exp(0.10))
    c = scale(c, range(41, 80), math.exp(0.025))
    assert flags(run(frame(c))) == {}
    # and up 7.5%, then down 10%: the first move is within the bar
    c = zigzag(80, step=0.002)
    c = scale(c, [40], math.exp(0.075))
    c = scale(c, range(41, 80), math.exp(-0.025))
    assert "bar.spike" not in flags(run(frame(c))).get(40, set())


def test_series_shorter_than_ten_moves_are_judged_at_a_sigma_of_two_percent():
    """Under ten moves the rolling volatility is unknown and taken as 2% (a spike bar of 12%): a 15% spike in
    ten bars (nine moves) is flagged; with eleven bars (ten moves) sigma is measured, the spike's own two moves
    raise it and the same spike is not flagged; a 10% spike in ten bars is within the 12% bar."""
    ten, eleven, small = zigzag(10, step=0.002), zigzag(11, step=0.002), zigzag(10, step=0.002)
    ten[5] *= math.exp(0.15)
    eleven[5] *= math.exp(0.15)
    small[5] *= math.exp(0.10)  # within 6 x 2%
    v = run(pl.concat([frame(ten), frame(eleven, lid="MWLELEVEN"), frame(small, lid="MWLSMALL")]))
    assert flags(v) == {5: {"bar.spike"}}
    assert flags(v, "MWLELEVEN") == {} and flags(v, "MWLSMALL") == {}


def test_spike_must_revert_most_of_the_way_the_next_day():
    """A 35% jump is a spike when the next day gives back all but under 35% of it (settles 10% higher), not when
    it settles 15% higher, nor when the next day moves on in the same direction."""
    base = zigzag(80, step=0.005)
    back = [x * (math.exp(0.10) if i > 40 else 1) for i, x in enumerate(base)]
    half = [x * (math.exp(0.15) if i > 40 else 1) for i, x in enumerate(base)]
    on = [x * (math.exp(0.35) if i == 40 else math.exp(0.70) if i > 40 else 1) for i, x in enumerate(base)]
    for s in (back, half):
        s[40] = base[40] * math.exp(0.35)
    v = run(pl.concat([frame(back), frame(half, lid="MWLHALF"), frame(on, lid="MWLON")]))
    assert flags(v) == {40: {"bar.spike"}}
    assert not any("bar.spike" in f for f in flags(v, "MWLHALF").values())
    assert not any("bar.spike" in f for f in flags(v, "MWLON").values())


def test_stale_sessions_do_not_lower_the_spike_bar_of_their_neighbours():
    """Sessions without a move are left out of the volatility: after 40 stale sessions a 15% spike is still within
    6 sigma of a series moving 2% a day (counting the stale days would put the bar at 11%); a 27% spike is not."""
    def with_stale(spike: float) -> list[float]:
        c = zigzag(240, step=0.02)
        for i in range(100, 140):
            c[i] = c[99]
        c[145] *= math.exp(spike)
        return c

    vol = [1000.0] * 100 + [0.0] * 40 + [1000.0] * 100
    v = run(pl.concat([frame(with_stale(0.13), volumes=vol), frame(with_stale(0.25), lid="MWLBIG", volumes=vol)]))
    assert flagged(v, "bar.spike") == set()
    assert flagged(v, "bar.spike", "MWLBIG") == {145}
    assert flagged(v, "bar.stale") == set(range(100, 140))


def test_huge_moves_are_capped_at_ten_percent_in_the_volatility():
    """A unit error (moves of 460%) nearby does not hide a 30% spike: each move counts at most 10% in sigma."""
    c = scale(zigzag(240, step=0.005), range(100, 105), 100)
    c[120] *= math.exp(0.3)
    v = run(frame(c))
    assert flags(v) == {**{i: {"bar.unit_jump"} for i in range(100, 106)}, 120: {"bar.spike"}}


def test_a_reverting_one_day_doubling_is_a_spike_and_its_reversal_no_split():
    """A close twice its neighbours for one day: the jump and the way back are both near a 2:1 split ratio, but the
    day is a spike and the next day (its reversal) is not a new level."""
    c = zigzag(80)
    c[40] *= 2
    assert flags(run(frame(c))) == {40: {"bar.spike"}}


# -- unit errors ---------------------------------------------------------------------------------------------------

def test_unit_steps_are_100x_or_1000x_within_a_factor_of_e_to_the_035():
    """Runs at 100 * e^0.3 (135x) or 100 * e^-0.3 (74x) the usual level are unit errors (run and the step back);
    at 100 * e^0.4 (149x) the step is too far from any power of ten; a lasting 10x step is a 10:1 split, not a
    change of unit."""
    def run_at(factor: float) -> list[float]:
        return scale(zigzag(200), range(100, 110), factor)

    v = run(pl.concat([frame(run_at(100 * math.exp(0.3))), frame(run_at(100 * math.exp(-0.3)), lid="MWLLOW"),
                       frame(run_at(100 * math.exp(0.4)), lid="MWLFAR"),
                       frame(scale(zigzag(200), range(100, 200), 0.1), lid="MWLTEN")]))
    assert flagged(v, "bar.unit_jump") == set(range(100, 111))
    assert flagged(v, "bar.unit_jump", "MWLLOW") == set(range(100, 111))
    assert flagged(v, "bar.unit_jump", "MWLFAR") == set()
    assert flags(v, "MWLTEN") == {100: {"bar.unrecorded_split"}}


def test_unit_step_tolerance_is_035_in_log_terms():
    """A run at 100 * e^0.34 of the usual level is a unit error, one at 100 * e^0.36 is not (0.35 is the
    tolerance, in natural log terms, around 100x)."""
    step = 0.001  # rows 101 and 111 are odd: the moves in and out are 0.34 (0.36) and 0.338 (0.358) off 100x

    def run_at(dev: float) -> list[float]:
        return scale(zigzag(200, step=step), range(101, 111), 100 * math.exp(dev - step))

    v = run(pl.concat([frame(run_at(0.34)), frame(run_at(0.36), lid="MWLOUT")]))
    assert flagged(v, "bar.unit_jump") == set(range(101, 112))
    assert flagged(v, "bar.unit_jump", "MWLOUT") == set()


def test_unit_error_starting_on_a_day_the_price_also_moved_flags_the_run_only():
    """A run in pence starts on a day the price rose 30% (a step of 135x) and ends with a step of exactly 100x:
    the steps count as whole powers of ten, so the series is back at its usual level after the run."""
    c = scale(zigzag(200), range(100, 200), math.exp(0.3))
    c = scale(c, range(100, 110), 100)
    v = run(frame(c))
    assert flagged(v, "bar.unit_jump") == set(range(100, 111))


def test_unit_steps_are_counted_in_powers_of_ten():
    """Up 1000x, down 100x (still 10x off), up 100x, down 1000x: every row between the first step and the last is
    off the usual level, though no single step back undoes the one before it."""
    c = scale(zigzag(200), range(100, 110), 1000)
    c = scale(c, range(110, 120), 10)
    c = scale(c, range(120, 130), 1000)
    v = run(frame(c))
    assert flagged(v, "bar.unit_jump") == set(range(100, 131))


def test_a_bar_spanning_more_than_30x_from_low_to_high_is_a_unit_error():
    """A bar whose high is over 30 times its low mixes units (a price in pence among prices in pounds); 29.5x
    and exactly 30x are left alone."""
    c = zigzag(60)
    highs = [x * 1.004 for x in c]
    lows = [x * 0.996 for x in c]
    highs[20], lows[20] = c[20] * 6.1, c[20] / 5  # 30.5x
    highs[40], lows[40] = c[40] * 5.9, c[40] / 5  # 29.5x
    assert c[50] == 50.0
    highs[50], lows[50] = 60.0, 2.0  # exactly 30x: not over
    v = run(frame(c, highs=highs, lows=lows))
    assert flags(v) == {20: {"bar.unit_jump"}}


def test_a_file_of_closes_only_is_not_flagged_for_the_missing_open_high_and_low():
    """A generic file with a date and a close per row: no open, high or low to judge, so nothing is flagged."""
    c = zigzag(60)
    none = [None] * 60
    v = run(frame(c, opens=none, highs=none, lows=none))
    assert v.bars.height == 60 and flags(v) == {}


# -- stale feed and open outside the range ---------------------------------------------------------------------------

def test_stale_feed_is_two_or_more_repeated_closes_without_volume():
    c = zigzag(60)
    vol = [1000.0] * 60
    c[10] = c[11] = c[9]  # two sessions repeating the close of the 9th without volume: flagged
    vol[10] = vol[11] = 0.0
    c[20] = c[19]  # one session: not a run
    vol[20] = 0.0
    c[30] = c[31] = c[29]  # repeated with volume: a quiet market
    vol[40] = vol[41] = 0.0  # no volume but the close moves: up two days running, then down two days running
    c[40], c[41] = c[39] * 1.01, c[39] * 1.02
    vol[50] = vol[51] = 0.0
    c[50], c[51] = c[49] * 0.99, c[49] * 0.98
    c[55] = c[56] = c[54]  # repeated, volume unknown: not judged stale
    vol[55] = vol[56] = None
    v = run(frame(c, volumes=vol))
    assert flags(v) == {10: {"bar.stale"}, 11: {"bar.stale"}}


def test_open_outside_the_days_range_is_flagged_beyond_a_rounding_margin():
    c = zigzag(40)
    opens = list(c)
    highs = [x * 1.004 for x in c]
    lows = [x * 0.996 for x in c]
    opens[10] = highs[10] * (1 + 0.5e-6)
    opens[12] = highs[12] * (1 + 3e-6)
    opens[14] = lows[14] * (1 - 0.5e-6)
    opens[16] = lows[16] * (1 - 3e-6)
    opens[20] = highs[20] * (1 + 1e-6)  # exactly at the margin: not flagged
    opens[22] = lows[22] * (1 - 1e-6)
    v = run(frame(c, opens=opens, highs=highs, lows=lows))
    assert flags(v) == {12: {"bar.open_outside_range"}, 16: {"bar.open_outside_range"}}


# -- exchange sessions -----------------------------------------------------------------------------------------------

def test_non_session_days_are_flagged_only_within_the_calendars_span():
    """A weekday holiday is flagged; 1950-01-02, the day before the first XNYS session the calendar holds, cannot
    be judged and is not; a New York holiday on which London trades is a session of an XLON series; the same at
    the start of Tokyo's calendar, whose first month has a holiday."""
    early = [date(1950, 1, 2)] + sessions(30, date(1950, 1, 3))
    late = sessions(30, date(1956, 12, 10))
    k = next(i for i, d in enumerate(late) if d > date(1956, 12, 24))
    late = late[:k] + [date(1956, 12, 24)] + late[k:29]
    lon = [d for d in sessions(30) if d < date(2021, 1, 18)] + [date(2021, 1, 18)]  # MLK day: London trades
    lon += [d for d in sessions(30) if d > date(2021, 1, 18)][:30 - len(lon)]
    v = run(pl.concat([frame(zigzag(31), days=early), frame(zigzag(30), lid="MWLLATE", days=late),
                       frame(zigzag(30), lid="MWLLON", days=lon, calendar="XLON")]))
    assert flags(v) == {}
    assert flags(v, "MWLLATE") == {k: {"bar.non_session"}}
    assert flags(v, "MWLLON") == {}  # each series is judged by its own calendar
    # Tokyo's calendar starts on 2006-12-05: the Monday before cannot be judged, New Year's Day 2007 can
    from marketwire.prices import calendars

    tks = [date(1970, 1, 1) + timedelta(days=int(d)) for d in calendars.sessions("XTKS")[:30]]
    assert tks[0] == date(2006, 12, 5) and date(2007, 1, 1) not in tks
    tks = sorted([date(2006, 12, 4), date(2007, 1, 1), *tks])
    v = run(frame(zigzag(32), days=tks, calendar="XTKS"))
    assert flags(v) == {tks.index(date(2007, 1, 1)): {"bar.non_session"}}


# -- lasting split-like jumps --------------------------------------------------------------------------------------

def jump(factor: float, step: float = 0.008, n: int = 122, at: int = 61) -> list[float]:
    """A zigzag series whose closes from row ``at`` (odd: the day's own move is +``step``) are ``factor`` times
    what they were: the log move on that day is log(factor) + step."""
    return scale(zigzag(n, step=step), range(at, n), factor)


@pytest.mark.parametrize("d", [0.0, 0.03, -0.03, 0.05, -0.05])
def test_lasting_jumps_near_a_split_ratio_are_unrecorded_splits(d):
    """A lasting drop by a split ratio (within 0.04 in log terms, 1.2x at least) is an unrecorded split; 0.05
    away from every ratio it is not."""
    step = 0.008
    bars = []
    expect = {}
    for k, ratio in enumerate(RATIOS):
        x = math.log(ratio) + d  # the size of the day's move, log terms
        bars.append(frame(jump(math.exp(-x - step), step), lid=f"MWLR{k:02d}"))
        expect[f"MWLR{k:02d}"] = x > math.log(1.2) and min(abs(x - math.log(q)) for q in RATIOS) < 0.04
    v = run(pl.concat(bars))
    got = {f"MWLR{k:02d}": flags(v, f"MWLR{k:02d}") for k in range(len(RATIOS))}
    assert {lid: f for lid, f in got.items() if f} == {lid: {61: {"bar.unrecorded_split"}}
                                                        for lid, e in expect.items() if e}
    if d in (0.0, 0.03, -0.03):
        assert all(expect.values())


def test_split_like_jump_must_exceed_eight_sigmas():
    """In a series moving 3.4% a day (sigma 4.4%, 8 sigma 35%) a lasting 1.5x drop of 37% is a split; moving 3.9%
    a day (8 sigma 40%) the same drop, 36.6%, is ordinary."""
    v = run(pl.concat([frame(jump(1 / 1.5, 0.034)), frame(jump(1 / 1.5, 0.039), lid="MWLWILD")]))
    assert flags(v) == {61: {"bar.unrecorded_split"}}
    assert flags(v, "MWLWILD") == {}


def test_split_ratio_tolerance_widens_to_two_sigmas_in_a_volatile_series():
    """Sigma 3.15%: a drop 0.05 (log) short of 2:1 is within two sigmas of the ratio, 0.075 short is not."""
    step = 0.024
    v = run(pl.concat([frame(jump(0.5 * math.exp(0.05 - step), step)),
                       frame(jump(0.5 * math.exp(0.075 - step), step), lid="MWLFAR")]))
    assert flags(v) == {61: {"bar.unrecorded_split"}}
    assert flags(v, "MWLFAR") == {}


def test_the_opening_gap_carries_a_split_when_the_days_move_blurs_it():
    """A 2:1 split on a day the shares then rose 6%: the close is 0.06 off the ratio, the open (at half the
    previous close) is on it. A crash that opens 17% down and closes 45% down is not a split."""
    c = jump(0.5 * math.exp(0.06 - 0.008))
    opens = list(c)
    opens[61] = c[60] * 0.5
    crash = jump(math.exp(-0.6 - 0.008), step=0.024)
    crash_open = list(crash)
    crash_open[61] = crash[60] * math.exp(-0.17)
    v = run(pl.concat([frame(c, opens=opens), frame(crash, opens=crash_open, lid="MWLCRASH")]))
    assert flags(v) == {61: {"bar.unrecorded_split"}}
    assert flags(v, "MWLCRASH") == {}
    # a quiet series whose day opens at half the previous close but closes 15% down: under 20%, not a split
    fall = jump(math.exp(-0.15 - 0.008))
    fall_open = list(fall)
    fall_open[61] = fall[60] * 0.5
    assert "bar.unrecorded_split" not in flags(run(frame(fall, opens=fall_open))).get(61, set())


def test_recorded_split_explains_the_jump_and_a_missing_jump_is_a_mismatch():
    """A 2:1 split in the ledger (delivered or stored): a raw series halving on the ex date is not flagged, one
    that does not move has its split flagged (not the dividend of the same day); an adjusted or split-adjusted
    series must not jump, and is flagged when it does. A split on the first day of a delivery cannot be judged."""
    halves, flat = jump(0.5), zigzag(122)
    days = sessions(122)
    d = days[61]
    bars = pl.concat([frame(halves), frame(flat, lid="MWLFLAT"), frame(flat, lid="MWLADJ", basis="adjusted"),
                      frame(halves, lid="MWLADJJUMP", basis="adjusted"),
                      frame(flat, lid="MWLSPLITADJ", basis="split_adjusted"),
                      frame(flat[61:], lid="MWLSTART", days=days[61:])])
    acts = actions((d, "split", 2.0), ("MWLFLAT", d, "split", 2.0), ("MWLFLAT", d, "dividend", 0.25),
                   ("MWLADJ", d, "split", 2.0), ("MWLADJJUMP", d, "split", 2.0), ("MWLSPLITADJ", d, "split", 2.0),
                   ("MWLSTART", d, "split", 2.0))
    v = run(bars, acts)
    assert all(flags(v, lid) == {} for lid in (LID, "MWLFLAT", "MWLADJ", "MWLADJJUMP", "MWLSPLITADJ", "MWLSTART"))
    assert [(a[0], a[2], a[4]) for a in action_flags(v)] == [
        ("MWLADJ", "split", None), ("MWLADJJUMP", "split", "split.mismatch"), ("MWLFLAT", "dividend", None),
        ("MWLFLAT", "split", "split.mismatch"), ("MWLSPLITADJ", "split", None), ("MWLSTART", "split", None),
        (LID, "split", None)]
    # the split stored earlier explains the jump of a later delivery
    v = run(frame(halves), stored=ledger((d, "split", 2.0)))
    assert flags(v) == {}


def test_split_jump_tolerance_is_ten_percent_or_five_sigmas():
    """Quiet series: a 2:1 split whose day ends 8% off the ratio passes, 12% off is a mismatch. Sigma 3.15% (5
    sigma 15.7%): 14% off passes, 17.5% off is a mismatch."""
    d = sessions(122)[61]
    cases = {"MWLQ08": (0.08, 0.008), "MWLQ12": (0.12, 0.008), "MWLV14": (0.14, 0.024), "MWLV17": (0.175, 0.024)}
    bars = pl.concat([frame(jump(0.5 * math.exp(off - step), step), lid=lid) for lid, (off, step) in cases.items()])
    v = run(bars, actions(*[(lid, d, "split", 2.0) for lid in cases]))
    assert [(a[0], a[4]) for a in action_flags(v)] == [("MWLQ08", None), ("MWLQ12", "split.mismatch"),
                                                      ("MWLV14", None), ("MWLV17", "split.mismatch")]


# -- dividends -----------------------------------------------------------------------------------------------------

def dropping(n: int, at: int, fraction: float, step: float = 0.002) -> list[float]:
    """A quiet series whose closes fall by ``fraction`` (of the previous close, about) from row ``at`` on."""
    return scale(zigzag(n, step=step), range(at, n), 1 - fraction)


def test_dividend_above_three_percent_must_show_as_a_price_drop_on_raw_series():
    """A 4% dividend with the price falling 4% is fine; without the fall it is flagged on a raw series, not on an
    adjusted one (where the vendor took the drop out); a 2.8% dividend is not checked, nor is exactly 3% (1.50 on
    a close of 50.00), 3.2% is."""
    n, at = 60, 30
    d = sessions(n)[at]
    p = zigzag(n, step=0.002)[at - 1]
    bars = pl.concat([frame(dropping(n, at, 0.04)), frame(zigzag(n, step=0.002), lid="MWLNODROP"),
                      frame(zigzag(n, step=0.002), lid="MWLADJ", basis="adjusted"),
                      frame(zigzag(n, step=0.002), lid="MWLSMALL"), frame(zigzag(n, step=0.002), lid="MWL32"),
                      frame(zigzag(n, step=0.002), lid="MWL30")])
    acts = actions((d, "dividend", 0.04 * p), ("MWLNODROP", d, "dividend", 0.04 * p),
                   ("MWLADJ", d, "dividend", 0.04 * p), ("MWLSMALL", d, "dividend", 0.028 * p),
                   ("MWL32", d, "dividend", 0.032 * p), ("MWL30", sessions(n)[at + 1], "dividend", 1.5))
    assert zigzag(n, step=0.002)[at] == 50.0
    v = run(bars, acts)
    assert {a[0]: a[4] for a in action_flags(v)} == {LID: None, "MWLNODROP": "dividend.no_price_drop",
                                                     "MWLADJ": None, "MWLSMALL": None,
                                                     "MWL32": "dividend.no_price_drop", "MWL30": None}


def test_dividend_price_drop_tolerance_is_half_the_drop_or_four_sigmas():
    """A 10% dividend (expected log move -0.105): in a quiet series a fall 0.04 short of it passes and 0.065 short
    is flagged (half the drop: 0.053); with sigma 3.15% (4 sigma 12.6%) 0.10 short passes and 0.14 short is
    flagged."""
    n, at = 80, 40
    days = sessions(n)
    cases = {"MWLQ04": (0.04, 0.002), "MWLQ065": (0.065, 0.002), "MWLV10": (0.10, 0.024), "MWLV14": (0.14, 0.024)}
    bars, acts = [], []
    expected = math.log(0.9)
    for lid, (short, step) in cases.items():
        base = zigzag(n, step=step)  # row 40 is even: the day's own move is -step
        bars.append(frame(scale(base, range(at, n), math.exp(expected + short + step)), lid=lid))
        acts.append((lid, days[at], "dividend", 0.1 * base[at - 1]))
    v = run(pl.concat(bars), actions(*acts))
    assert {a[0]: a[4] for a in action_flags(v)} == {"MWLQ04": None, "MWLQ065": "dividend.no_price_drop",
                                                     "MWLV10": None, "MWLV14": "dividend.no_price_drop"}


def test_dividend_larger_than_a_third_of_the_price_is_implausible():
    """35% of the previous close (included) is the most a dividend is believed to be (each series falls by its
    dividend); a dividend above the price itself is implausible, and without a drop it lacks the largest drop
    the rule expects (99%), which a series that collapses does show."""
    n, at = 60, 30
    d = sessions(n)[at]
    p = zigzag(n, step=0.002)[at - 1]
    bars = pl.concat([frame(dropping(n, at, 0.34), lid="MWL34"), frame(dropping(n, at, 0.36), lid="MWL36"),
                      frame(dropping(n, at, 0.35), lid="MWL35"),
                      frame(zigzag(n, step=0.002), lid="MWL120"), frame(dropping(n, at, 0.4), lid="MWLFUND"),
                      frame(dropping(n, at, 0.99), lid="MWL150")])
    acts = actions(("MWL34", d, "dividend", 0.34 * p), ("MWL36", d, "dividend", 0.36 * p),
                   ("MWL35", d, "dividend", 0.35 * p),
                   ("MWL120", d, "dividend", 1.2 * p), ("MWLFUND", d, "capital_gain", 0.4 * p),
                   ("MWL150", d, "dividend", 1.5 * p))
    v = run(bars, acts)
    assert {a[0]: a[4] for a in action_flags(v)} == {
        "MWL34": None, "MWL35": None, "MWL36": "dividend.implausible",
        "MWL120": "dividend.implausible,dividend.no_price_drop", "MWL150": "dividend.implausible",
        "MWLFUND": None}  # a fund's capital gain is not held to the dividend's limit


def test_dividend_twenty_times_the_usual_one_is_implausible():
    """With three dividends or more on record (the new one included), one above 20 times their median is a unit
    error (cents read as dollars), with three and with four; 19.5 and exactly 20 times are not; a split is never
    compared with the dividends, nor counted among them, nor is a capital gain."""
    n = 80
    days = sessions(n)
    stored = ledger(*[(lid, days[k], "dividend", 0.5) for lid in ("MWL205", "MWL195", "MWL200") for k in (5, 25)])
    stored = pl.concat([stored, ledger(*[(lid, days[k], "dividend", v) for lid, v in (("MWLSPLIT", 0.05),
                                                                                       ("MWLFOUR", 0.5),
                                                                                       ("MWLCGBIG", 0.5))
                                         for k in (5, 15, 25)]),
                        # a split and a capital gain do not count among the dividends
                        ledger(("MWL205", days[10], "split", 3.0), ("MWL205", days[12], "capital_gain", 3.0))])
    bars = pl.concat([frame(dropping(n, 50, 0.205), lid="MWL205"), frame(dropping(n, 50, 0.195), lid="MWL195"),
                      frame(dropping(n, 50, 0.205), lid="MWLFOUR"), frame(jump(0.5, n=n, at=51), lid="MWLSPLIT"),
                      frame(zigzag(n, step=0.002), lid="MWLCGBIG"), frame(dropping(n, 50, 0.2), lid="MWL200")])
    acts = actions(("MWL205", days[50], "dividend", 10.25), ("MWL195", days[50], "dividend", 9.75),
                   ("MWLFOUR", days[50], "dividend", 10.25), ("MWLSPLIT", days[51], "split", 2.0),
                   ("MWLCGBIG", days[50], "capital_gain", 12.0), ("MWL200", days[50], "dividend", 10.0))
    v = run(bars, acts, stored)
    got = {a[0]: a[4] for a in action_flags(v)}
    assert "dividend.implausible" in (got["MWL205"] or "")
    assert "dividend.implausible" in (got["MWLFOUR"] or "")
    assert "dividend.implausible" not in (got["MWL195"] or "")
    assert "dividend.implausible" not in (got["MWL200"] or "")  # exactly 20 times is not above it
    assert got["MWLSPLIT"] is None
    assert got["MWLCGBIG"] is None  # nor a capital gain (it is not checked for a price drop either)


def test_the_same_dividend_twice_within_a_week_is_a_duplicate():
    """Two dividends of one series 3 or 7 days apart and within 25% of each other are both flagged; 8 days apart,
    25% or 30% apart, in two listings or from two sources, or a capital gain or a split beside a dividend, they
    are not."""
    a, b, c = date(2021, 2, 1), date(2021, 2, 8), date(2021, 2, 9)  # sessions; b - a: 7 days, c - a: 8 days
    pairs = {"MWLDUP": (a, 0.5, b, 0.6), "MWLNEAR": (a, 0.5, a + timedelta(days=3), 0.5),
             "MWLEIGHT": (a, 1.0, c, 1.0), "MWLFAR": (a, 1.0, b, 1.3), "MWLQUARTER": (a, 1.0, b, 1.25)}
    rows = [(lid, x, "dividend", vx) for lid, (x, vx, _, _) in pairs.items()]
    rows += [(lid, y, "dividend", vy) for lid, (_, _, y, vy) in pairs.items()]
    rows += [("MWLLIST1", a, "dividend", 1.0), ("MWLLIST2", b, "dividend", 1.0),
             ("MWLCG", a, "capital_gain", 1.0), ("MWLCG", b, "dividend", 1.0),
             ("MWLDIVSPLIT", a, "dividend", 2.0), ("MWLDIVSPLIT", a + timedelta(days=3), "split", 2.0)]
    acts = pl.concat([actions(*rows), actions(("MWLSRC", a, "dividend", 1.0)),
                      actions(("MWLSRC", b, "dividend", 1.0), ("MWLSQ", b, "dividend", 1.0))
                      .with_columns(pl.lit("stooq").alias("source"))])
    lids = ["MWLDUP", "MWLNEAR", "MWLEIGHT", "MWLFAR", "MWLQUARTER", "MWLLIST1", "MWLLIST2", "MWLCG", "MWLSRC",
            "MWLDIVSPLIT"]
    bars = pl.concat([frame(zigzag(60, step=0.002), lid=lid) for lid in lids]
                     + [frame(zigzag(60, step=0.002), lid=lid, source="stooq") for lid in ("MWLSRC", "MWLSQ")])
    v = run(bars, acts)
    got = sorted((r[0], r[2], r[4]) for r in action_flags(v) if "dividend.duplicate" in (r[4] or ""))
    assert got == [("MWLDUP", "dividend", "dividend.duplicate"), ("MWLDUP", "dividend", "dividend.duplicate"),
                   ("MWLNEAR", "dividend", "dividend.duplicate"), ("MWLNEAR", "dividend", "dividend.duplicate")]


def test_capital_gain_already_inside_the_dividend_is_flagged_for_yfinance_files():
    """yfinance reports a fund's capital gain inside the dividend of the same day: a capital gain up to the
    dividend is flagged there (equal included), a larger one is not, nor is one from other files."""
    n = 40
    d = sessions(n)[20]
    cases = {"MWLCG04": 0.4, "MWLCG10": 1.0, "MWLCG12": 1.2}
    bars = pl.concat([frame(zigzag(n, step=0.002), lid=lid) for lid in [*cases, "MWLCSV", "MWLSPLIT"]])
    rows = [r for lid, cg in cases.items() for r in ((lid, d, "dividend", 1.0), (lid, d, "capital_gain", cg))]
    rows += [("MWLSPLIT", d, "split", 2.0), ("MWLSPLIT", d, "capital_gain", 0.4)]  # no dividend that day
    acts = pl.concat([actions(*rows, cg_in_div=True),
                      actions(("MWLCSV", d, "dividend", 1.0), ("MWLCSV", d, "capital_gain", 0.4))])
    v = run(bars, acts)
    got = sorted((r[0], r[4]) for r in action_flags(v) if r[2] == "capital_gain")
    assert got == [("MWLCG04", "capital_gain.in_dividend"), ("MWLCG10", "capital_gain.in_dividend"),
                   ("MWLCG12", None), ("MWLCSV", None), ("MWLSPLIT", None)]


# -- the vendor's adjusted close -------------------------------------------------------------------------------------

def test_vendor_adjustment_steps_must_match_the_ledger():
    """adj_close / close steps by 1 - dividend / previous close on an ex date and by 1 / ratio on a raw split
    (both on one day here): such a file passes. A file whose factor ignores the dividend has the dividend
    flagged; a step of 0.25% without any action flags the bar, one of 0.15% does not."""
    n = 100
    days = sessions(n)
    c = scale(dropping(n, 30, 0.02), range(60, n), 0.5)
    div, p = 1.0, c[29]
    c2 = dropping(n, 30, 0.02)
    no_div = [x * (0.9975 if i < 70 else 1.0) * (0.9985 if i < 85 else 1.0) for i, x in enumerate(c2)]
    acts = actions((days[30], "dividend", div), (days[60], "dividend", div), (days[60], "split", 2.0),
                   ("MWLVENDOR", days[30], "dividend", div))
    good = [x * (1 - div / p) * 0.5 if i < 30 else x * 0.5 if i < 60 else x for i, x in enumerate(c)]
    p60 = c[59]
    good = [g * (1 - div / p60) if i < 60 else g for i, g in enumerate(good)]
    v = run(pl.concat([frame(c, adj=good), frame(c2, adj=no_div, lid="MWLVENDOR")]), acts)
    assert flags(v) == {}
    assert flags(v, "MWLVENDOR") == {70: {"bar.adj_mismatch"}}
    assert [(a[0], a[2], a[4]) for a in action_flags(v)] == [
        (LID, "dividend", None), (LID, "dividend", None), (LID, "split", None),
        ("MWLVENDOR", "dividend", "dividend.vendor_mismatch")]


def test_vendor_factor_of_a_fund_steps_by_the_dividend_alone():
    """yfinance: a fund's capital gain is inside the dividend of the same day, and the adjustment factor steps by
    the dividend alone; the capital gain is not counted twice and the rows are not repeated."""
    n = 60
    days = sessions(n)
    c = dropping(n, 30, 0.02)
    div = 1.0
    adj = [x * (1 - div / c[29]) if i < 30 else x for i, x in enumerate(c)]
    acts = actions((days[30], "dividend", div), (days[30], "capital_gain", 0.4), cg_in_div=True)
    v = run(frame(c, adj=adj), acts)
    assert v.bars.height == n and flags(v) == {}
    assert [(a[2], a[4]) for a in action_flags(v)] == [("capital_gain", "capital_gain.in_dividend"),
                                                      ("dividend", None)]


def test_vendor_factor_of_a_split_adjusted_file_steps_by_dividends_only():
    """A split-adjusted file (closes already divided by the split) whose adjusted close adds the dividends: on a
    day with a split and a dividend the factor steps by the dividend alone, and nothing is flagged."""
    n = 60
    days = sessions(n)
    c = dropping(n, 30, 0.02)
    div = 1.0
    adj = [x * (1 - div / c[29]) if i < 30 else x for i, x in enumerate(c)]
    for basis in ("split_adjusted", "adjusted"):
        acts = actions((days[30], "dividend", div), (days[30], "split", 2.0), basis=basis)
        v = run(frame(c, adj=adj, basis=basis), acts)
        assert flags(v) == {}
        assert [(a[2], a[4]) for a in action_flags(v)] == [("dividend", None), ("split", None)]


def test_a_split_is_not_held_to_the_dividend_size_limit():
    """A 2:1 split of a $3 share: the ratio (2.0) is more than 35% of the price, which limits dividends, not
    splits; the share halving on the ex date leaves nothing flagged."""
    c = [x * 0.06 for x in jump(0.5)]
    d = sessions(122)[61]
    v = run(frame(c), actions((d, "split", 2.0)))
    assert flags(v) == {} and [a[4] for a in action_flags(v)] == [None]


def test_a_calendar_with_its_own_weekdays_does_not_lend_them_to_another():
    """Tel Aviv traded on Sundays until 2026; in a delivery that holds a Tel Aviv series, a Toronto series is still
    held to Monday to Friday: its Sunday bar is refused."""
    from marketwire.prices import calendars

    ny = sessions(20, date(2023, 1, 3))
    sun = ny[3] + timedelta(days=2)
    assert ny[3].weekday() == 4 and sun.weekday() == 6
    tae = [date(1970, 1, 1) + timedelta(days=int(d)) for d in calendars.sessions("XTAE")]
    tae = [d for d in tae if d >= date(2024, 1, 1)][:20]
    bars = pl.concat([frame(zigzag(20), lid="MWLTSE", days=ny[:4] + [sun] + ny[4:19], calendar="XTSE"),
                      frame(zigzag(20), lid="MWLTAE", days=tae, calendar="XTAE")])
    v = run(bars)
    assert refused(v, "MWLTSE") == {4: ("bar.weekend", "date", f"{sun} is a Sunday (the exchange has no sessions "
                                                               "on that weekday)")}
    assert refused(v, "MWLTAE") == {}


def test_a_delivery_without_the_written_date_cells_is_verified_alike():
    """``date_raw`` is optional: without it the rules and messages are the same, and a missing date reads as an
    empty cell."""
    days = sessions(20)
    c = zigzag(20)
    c[6] = c[5] * 100
    with_raw = run(frame(c, days=days[:3] + [None] + days[4:]))
    without = run(frame(c, days=days[:3] + [None] + days[4:]).drop("date_raw"))
    assert "date_raw" not in without.bars.columns and "date_raw" not in without.rejected.columns
    assert refused(without) == refused(with_raw) == {3: ("bar.unparseable", "date",
                                                         "date: the cell is empty; every bar needs its date")}
    assert flags(without) == flags(with_raw) and flags(without)
