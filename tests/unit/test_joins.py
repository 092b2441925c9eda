"""The evidence of a backward join (prices/joins.py): each threshold with a case on each side of it."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest

from marketwire.prices import joins as J
from marketwire.prices.joins import Series, decide, gap_ok, overlap
from marketwire.sources.classify import same_entity_name

pytestmark = pytest.mark.unit


def days(start: str, n: int) -> np.ndarray:
    return np.array([np.datetime64(start, "D") + i for i in range(n)], dtype="datetime64[D]")


def series(source: str, start: str, closes: list[float], basis: str = "raw", ex: set[date] | None = None) -> Series:
    return Series(source, days(start, len(closes)), np.array(closes, dtype=float), basis, ex or set())


def walk(n: int, step: float = 0.01, start: float = 100.0) -> list[float]:
    """Closes with alternating returns of +step and -step."""
    out = [start]
    for i in range(n - 1):
        out.append(out[-1] * (1 + (step if i % 2 == 0 else -step)))
    return out


HOLDER = {"listing_id": "MWLMASTER0001", "ticker_from": date(2015, 1, 10), "venue_from": date(2015, 1, 10),
          "names": ["Apple Inc."], "currency": "USD", "earlier_holders": []}


def test_overlap_counts_agreeing_returns_and_leaves_ex_dates_out() -> None:
    a = series("a", "2014-01-01", walk(12))
    b = series("b", "2014-01-01", [c / 7 for c in walk(12)], "split_adjusted")  # a level apart, same returns
    o = overlap(a, b)
    assert (o["common_dates"], o["returns"], o["agree"]) == (12, 11, 11)
    jumped = [c if i < 6 else c / 7 for i, c in enumerate(walk(12))]  # a split on the 7th day in one series only
    o = overlap(series("a", "2014-01-01", jumped), b)
    assert (o["returns"], o["agree"]) == (11, 10)
    o = overlap(series("a", "2014-01-01", jumped, ex={date(2014, 1, 7)}), b)
    assert (o["returns"], o["agree"]) == (10, 10)


@pytest.mark.parametrize("diff,agree", [(J.RETURN_TOL - 0.0001, 1), (J.RETURN_TOL + 0.0001, 0)])
def test_return_tolerance_each_side(diff: float, agree: int) -> None:
    o = overlap(series("a", "2014-01-01", [100.0, 100.0]), series("b", "2014-01-01", [100.0, 100.0 * (1 + diff)]))
    assert o["returns"] == 1 and o["agree"] == agree


def _decide(prov: list[Series], master: list[Series], **holder) -> dict:
    return decide(prov, master, {**HOLDER, **holder}, None, "USD", same_entity_name)


def test_enough_agreeing_common_returns_join_and_disagreeing_ones_refuse() -> None:
    n = J.MIN_COMMON + 1  # MIN_COMMON returns
    prov = series("q", "2014-12-01", walk(n))
    assert _decide([prov], [series("k", "2014-12-01", walk(n))])["join"] is True
    k_bad = J.MIN_COMMON - math.floor(J.MIN_AGREE * J.MIN_COMMON) + 1  # just below the share
    closes = walk(n)
    other = [closes[0]]
    for i in range(1, n):
        r = closes[i] / closes[i - 1] - 1
        other.append(other[-1] * (1 + r + (0.02 if i <= k_bad else 0.0)))
    d = _decide([prov], [series("k", "2014-12-01", other)])
    assert d["join"] is False and "daily returns disagree" in d["reason"]
    assert d["overlap"]["agree"] == J.MIN_COMMON - k_bad < J.MIN_AGREE * J.MIN_COMMON
    other_ok = [closes[0]]
    for i in range(1, n):
        r = closes[i] / closes[i - 1] - 1
        other_ok.append(other_ok[-1] * (1 + r + (0.02 if i <= k_bad - 1 else 0.0)))
    d = _decide([prov], [series("k", "2014-12-01", other_ok)])
    assert d["join"] is True and d["overlap"]["agree"] / d["overlap"]["returns"] >= J.MIN_AGREE


def test_too_few_common_returns_are_not_evidence() -> None:
    # MIN_COMMON - 1 common returns that all disagree: not enough to refuse on, so the gap rules decide
    prov = series("q", "2014-12-01", walk(J.MIN_COMMON))
    master = series("k", "2014-12-01", walk(J.MIN_COMMON, 0.05))
    d = _decide([prov], [master], ticker_from=date(2014, 12, 20), venue_from=date(2014, 12, 20))
    assert "overlap" in d and d["overlap"]["returns"] == J.MIN_COMMON - 1 and "gap" not in d
    assert d["join"] is True  # ends 10 days before the first snapshot, nothing after it to contradict


@pytest.mark.parametrize("gap,join", [(J.MAX_GAP_DAYS, True), (J.MAX_GAP_DAYS + 1, False)])
def test_without_master_prices_the_series_must_end_near_the_first_snapshot(gap: int, join: bool) -> None:
    prov = series("q", "2014-11-01", walk(61))  # ends 2014-12-31
    start = date(2014, 12, 31) + timedelta(days=gap)
    d = _decide([prov], [], ticker_from=start, venue_from=start)
    assert d["join"] is join and d["gap_days"] == gap


def test_price_jump_across_the_gap_each_side_of_the_band() -> None:
    prov = series("q", "2014-11-01", walk(61, 0.01))  # daily sigma 0.01
    sigma = float(np.std(np.diff(np.log(prov.close[-121:]))))
    last = float(prov.close[-1])
    band = max(J.GAP_FLOOR, J.GAP_SIGMAS * sigma * math.sqrt(5 * 5 / 7))  # next bar 5 days later
    for change, ok in ((band * 0.98, True), (band * 1.02, False)):
        master = series("k", "2015-01-05", [last * math.exp(change)] * 3)
        g = gap_ok(prov, master)
        assert g["checked"] and g["ok"] is ok and g["allowed"] == pytest.approx(band, abs=1e-4)
        assert _decide([prov], [master])["join"] is ok


def test_the_band_never_falls_below_the_floor() -> None:
    flat = series("q", "2014-11-01", [50.0] * 61)
    assert gap_ok(flat, series("k", "2015-01-02", [50.0 * math.exp(J.GAP_FLOOR * 0.99)]))["ok"] is True
    assert gap_ok(flat, series("k", "2015-01-02", [50.0 * math.exp(J.GAP_FLOOR * 1.01)]))["ok"] is False


def test_refusals_without_prices() -> None:
    prov = [series("q", "2014-11-01", walk(61))]
    d = _decide(prov, [], earlier_holders=["MWLOLDHOLDER1"])
    assert d["join"] is False and "recycled" in d["reason"]
    d = _decide(prov, [], ticker_from=date(2016, 1, 8))
    assert d["join"] is False and "began after the series" in d["reason"]
    d = decide(prov, [], HOLDER, "Apricot Holdings", "USD", same_entity_name)
    assert d["join"] is False and "Apricot Holdings" in d["reason"]
    assert decide(prov, [], HOLDER, "APPLE INC", "USD", same_entity_name)["join"] is True
    d = decide(prov, [], HOLDER, None, "EUR", same_entity_name)
    assert d["join"] is False and "currency EUR" in d["reason"]
