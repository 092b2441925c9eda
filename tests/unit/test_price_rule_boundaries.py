"""The price rules on both sides of their thresholds: a moved threshold or a changed reference level fails here.

Series are synthetic with a known volatility, so the distance of each fault to its threshold is known: the spike
rule's bar is max(6 robust sigmas, 8%), the unit-jump rule takes the series' most common level as the normal one.
"""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest
from test_prices import sessions, walk, write

import marketwire

pytestmark = pytest.mark.unit


@pytest.fixture()
def mw(tmp_path):
    return marketwire.open(tmp_path / "home")


def flags_by_row(mw, symbol: str, days: list[date]) -> dict[int, str]:
    df = mw.prices(symbol, flags=True, output="polars").filter(pl.col("flags").is_not_null())
    index = {d: i for i, d in enumerate(days)}
    return {index[d]: f for d, f in df.select("date", "flags").iter_rows()}


def zigzag(n: int, step: float = 0.02) -> list[dict]:
    """Closes alternating by +-``step`` in log terms: every session moves by exactly ``step``, so the rules' robust
    sigma is 1.25 * ``step`` away from faults (a little more in the 63-session window around one)."""
    rows = []
    for i, d in enumerate(sessions(n)):
        c = 50.0 * math.exp(step * (i % 2))
        rows.append({"Date": d.isoformat(), "Open": round(c, 4), "High": round(c * 1.004, 4),
                     "Low": round(c * 0.996, 4), "Close": round(c, 4), "Volume": 100_000 + i, "OpenInt": 0})
    return rows


def scale(row: dict, factor: float) -> None:
    for k in ("Open", "High", "Low", "Close"):
        row[k] = round(row[k] * factor, 4)


def test_spike_flagged_above_six_sigma_and_not_below(mw, tmp_path):
    rows = zigzag(400)
    # sigma near a spike is about 1.25 * 0.0225 = 0.028: the bar is 6 sigma = 0.17 in log terms
    scale(rows[151], math.exp(0.22))  # an up day: the close moves 0.24 then reverts by 0.24 (8.5 sigma)
    scale(rows[301], math.exp(0.10))  # 0.12 and back (4.3 sigma): ordinary for this series
    days = [date.fromisoformat(r["Date"]) for r in rows]
    mw.ingest("prices-csv", [write(tmp_path / "zz.us.txt", rows)], preset="kaggle")
    f = flags_by_row(mw, "ZZ.US", days)
    assert "bar.spike" in f.get(151, ""), f
    assert 301 not in f, f
    assert set(f) == {151}, f  # nothing else in the series is flagged


def test_unit_jump_takes_the_common_level_even_when_the_series_starts_in_the_wrong_unit(mw, tmp_path):
    """A file whose first five rows are in pence: those rows (and the step back) are flagged, the 295 good rows
    are not. Taking the first row's level as the normal one would flag the 295 good rows instead."""
    rows = walk(300, seed=11)
    for i in range(5):
        scale(rows[i], 100)
    days = [date.fromisoformat(r["Date"]) for r in rows]
    mw.ingest("prices-csv", [write(tmp_path / "pence.us.txt", rows)], preset="kaggle")
    f = flags_by_row(mw, "PENCE.US", days)
    unit = {i for i, v in f.items() if "bar.unit_jump" in v}
    assert set(range(5)) <= unit <= set(range(6)), sorted(unit)
    assert len(f) <= 8, f  # the good rows stay clean but for the odd noise flag


def test_unit_jump_in_the_middle_flags_only_the_run(mw, tmp_path):
    rows = walk(300, seed=12)
    for i in range(200, 230):  # thirty sessions a hundred times too small (pounds read as pence the other way)
        scale(rows[i], 0.01)
    days = [date.fromisoformat(r["Date"]) for r in rows]
    mw.ingest("prices-csv", [write(tmp_path / "mid.us.txt", rows)], preset="kaggle")
    f = flags_by_row(mw, "MID.US", days)
    unit = {i for i, v in f.items() if "bar.unit_jump" in v}
    assert set(range(200, 230)) <= unit <= set(range(200, 231)), sorted(unit)


@pytest.mark.parametrize("factor", [1000.0, 0.001, 100.0])
def test_unit_errors_of_100x_and_1000x_are_flagged_run_and_steps(mw, tmp_path, factor):
    rows = walk(300, seed=13)
    for i in range(120, 135):
        scale(rows[i], factor)
    days = [date.fromisoformat(r["Date"]) for r in rows]
    mw.ingest("prices-csv", [write(tmp_path / "thou.us.txt", rows)], preset="kaggle")
    f = flags_by_row(mw, "THOU.US", days)
    unit = {i for i, v in f.items() if "bar.unit_jump" in v}
    assert set(range(120, 135)) <= unit <= set(range(120, 136)), sorted(unit)
