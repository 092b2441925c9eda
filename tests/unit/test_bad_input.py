"""Bad price input, one test per case: each is refused or flagged with a named rule, file and line, never an
internal error, and a refused series leaves nothing behind (no listing, no provisional id)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import marketwire
from marketwire.errors import InvalidInput, ParseError

pytestmark = pytest.mark.unit

HEADER = "Date,Open,High,Low,Close,Volume,OpenInt\n"
GOOD = ["2017-01-03,10,11,9,10.5,100,0", "2017-01-04,10.5,11,10,10.8,200,0", "2017-01-05,10.8,11.2,10.5,11,150,0"]


@pytest.fixture()
def mw(tmp_path: Path) -> Any:
    return marketwire.open(tmp_path / "home")


def kaggle(tmp_path: Path, name: str, lines: list[str], tail: str = "\n") -> str:
    p = tmp_path / name
    p.write_text(HEADER + "\n".join(lines) + tail, encoding="utf-8")
    return str(p)


def refused(mw: Any) -> list[tuple[str, str | None, int | None, str]]:
    return sorted((q["rule"], q["field"], q["line"], q["message"]) for q in mw.quarantine())


def listings(mw: Any) -> list[str]:
    if not mw.lake.exists("price_listings"):
        return []
    return sorted(r["symbol"] for r in mw.dataset("price_listings"))


def test_trailing_blank_line_is_the_end_of_the_file_not_an_error(mw, tmp_path):
    rep = mw.ingest("prices-csv", [kaggle(tmp_path, "abc.us.txt", GOOD, tail="\n\n\n")], preset="kaggle")
    assert (rep.accepted, rep.quarantined) == (3, 0)


def test_blank_line_inside_the_data_is_a_named_refusal_with_its_line(mw, tmp_path):
    rep = mw.ingest("prices-csv", [kaggle(tmp_path, "abc.us.txt", [GOOD[0], "", GOOD[1], GOOD[2]])], preset="kaggle")
    assert (rep.accepted, rep.quarantined) == (3, 1)
    [(rule, _, line, msg)] = refused(mw)
    assert (rule, line) == ("row.blank", 3) and "blank line" in msg
    # the rows after the blank line keep their own line numbers
    lines = sorted(r["line"] for r in mw.dataset("bars_daily"))
    assert lines == [2, 4, 5]


def test_nan_close_is_a_missing_price(mw, tmp_path):
    rep = mw.ingest("prices-csv", [kaggle(tmp_path, "abc.us.txt", [*GOOD, "2017-01-06,11,11.5,10.9,NaN,100,0"])],
                    preset="kaggle")
    assert rep.accepted == 3
    assert refused(mw) == [("bar.missing_price", "close", 5, "no close")]


def test_infinite_price_is_non_finite(mw, tmp_path):
    mw.ingest("prices-csv", [kaggle(tmp_path, "abc.us.txt", [*GOOD, "2017-01-06,11,inf,10.9,11,100,0"])],
              preset="kaggle")
    assert refused(mw) == [("bar.non_finite", "high", 5, "high: inf is not a finite number")]


def test_1e308_is_out_of_range_and_the_limit_has_a_test_on_each_side(mw, tmp_path):
    rows = ["2017-01-03,1000000000,1000000000,1000000000,1000000000,100,0",     # 1e9: the largest price stored
            "2017-01-04,1000000001,1000000001,1000000001,1000000001,100,0",     # just above
            "2017-01-05,10,11,9,1e308,100,0"]
    rep = mw.ingest("prices-csv", [kaggle(tmp_path, "big.us.txt", rows)], preset="kaggle")
    assert rep.accepted == 1
    got = sorted(refused(mw), key=lambda r: r[2])
    assert [(r, f, ln) for r, f, ln, _ in got] == [("bar.out_of_range", "open", 3), ("bar.out_of_range", "close", 4)]
    assert "1e+308" in got[1][3]
    # the 1e9 close round-trips exactly (no tick overflow)
    assert mw.prices("BIG.US", output="polars").get_column("close").to_list() == [1e9]


def test_sub_tick_price_is_refused_not_stored_as_zero(mw, tmp_path):
    rows = ["2017-01-03,0.000001,0.000001,0.000001,0.000001,100,0",   # 1e-6: the smallest price stored
            "2017-01-04,1e-15,1e-15,1e-15,1e-15,100,0"]
    rep = mw.ingest("prices-csv", [kaggle(tmp_path, "tiny.us.txt", rows)], preset="kaggle")
    assert (rep.accepted, rep.quarantined) == (1, 1)
    [(rule, fld, line, msg)] = refused(mw)
    assert (rule, fld, line) == ("bar.sub_tick", "open", 3) and "1e-15" in msg
    assert mw.prices("TINY.US", output="polars").get_column("close").to_list() == [1e-6]


def test_sub_tick_borderline_just_below_the_floor(mw, tmp_path):
    mw.ingest("prices-csv", [kaggle(tmp_path, "tiny.us.txt", ["2017-01-03,9e-7,9e-7,9e-7,9e-7,100,0"])],
              preset="kaggle")
    assert [r[0] for r in refused(mw)] == ["bar.sub_tick"]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1799-12-31"])
def test_dates_out_of_range_are_refused(mw, tmp_path, day):
    mw.ingest("prices-csv", [kaggle(tmp_path, "abc.us.txt", [*GOOD, f"{day},11,11.5,10.9,11,100,0"])],
              preset="kaggle")
    [(rule, fld, line, msg)] = refused(mw)
    assert (rule, fld, line) == ("bar.date_out_of_range", "date", 5) and day in msg


def test_first_day_in_range_is_kept(mw, tmp_path):
    rep = mw.ingest("prices-csv", [kaggle(tmp_path, "old.us.txt", ["1800-01-02,11,11.5,10.9,11,100,0"])],
                    preset="kaggle")
    assert not [r for r in refused(mw) if r[0] == "bar.date_out_of_range"]
    assert rep.accepted == 1


def test_two_digit_year_is_named_not_read_as_year_17(mw, tmp_path):
    rep = mw.ingest("prices-csv", [kaggle(tmp_path, "abc.us.txt", [*GOOD, "17-01-06,11,11.5,10.9,11,100,0"])],
                    preset="kaggle")
    assert rep.accepted == 3
    [(rule, fld, line, msg)] = refused(mw)
    assert (rule, fld, line) == ("bar.two_digit_year", "date", 5)
    assert "17-01-06" in msg
    assert json.loads(mw.quarantine()[0]["raw"])["date"] == "17-01-06"
    assert min(r["date"] for r in mw.dataset("bars_daily")) == date(2017, 1, 3)


def test_a_series_refused_whole_leaves_no_listing_and_no_id(mw, tmp_path):
    bad = kaggle(tmp_path, "gone.us.txt", ["2017-01-03,10,11,9,inf,100,0", "2017-01-04,10,11,9,1e308,100,0"])
    good = kaggle(tmp_path, "kept.us.txt", GOOD)
    rep = mw.ingest("prices-csv", [bad, good], preset="kaggle")
    assert (rep.accepted, rep.quarantined) == (3, 2)
    assert listings(mw) == ["KEPT.US"]
    ids = [r["key"] for r in mw.dataset("id_registry")]
    assert ids == ["prices:KEPT@US"]
    assert rep.by_rule.get("listing.provisional") == 1


def test_typed_parquet_with_float_columns(mw, tmp_path):
    p = tmp_path / "zl.parquet"
    pl.DataFrame({"date": [date(2017, 1, 3), date(2017, 1, 4)], "open": [10.0, 10.0], "high": [11.0, 11.0],
                  "low": [9.0, 9.0], "close": [10.5, 10.6], "volume": [100.0, 200.0], "dividend": [0.0, 0.1],
                  "split": [1.0, 1.0]}).write_parquet(p)
    rep = mw.ingest("prices-csv", [str(p)], preset="zipline-csvdir", symbol="ZL")
    assert (rep.accepted, rep.quarantined, rep.actions) == (2, 0, 1)


def test_zipline_csv_with_a_bad_number_names_it(mw, tmp_path):
    p = tmp_path / "zl.csv"
    p.write_text("date,open,high,low,close,volume,dividend,split\n2017-01-03,10,11,9,10.5,100,0,1\n"
                 "2017-01-04,10,11,9,ten,100,0,1\n", encoding="utf-8")
    rep = mw.ingest("prices-csv", [str(p)], preset="zipline-csvdir", symbol="ZL")
    assert rep.accepted == 1
    assert refused(mw) == [("bar.unparseable", "close", 3, "close: 'ten' is not a number")]


def test_truncated_row_names_file_line_and_column(mw, tmp_path):
    with pytest.raises(ParseError) as e:
        mw.ingest("prices-csv", [kaggle(tmp_path, "abc.us.txt", [GOOD[0], "2017-01-04,10,11"])], preset="kaggle")
    assert (e.value.fields["line"], e.value.fields["column"]) == (3, 4)
    assert "abc.us.txt" in e.value.message
    assert not mw.lake.exists("bars_daily") and not mw.lake.exists("price_listings")


@pytest.mark.parametrize(("option", "value"), [("mic", "ZZZZ"), ("currency", "NOTACCY")])
def test_unknown_mic_or_currency_is_refused_before_any_work(mw, tmp_path, option, value):
    with pytest.raises(InvalidInput) as e:
        mw.ingest("prices-csv", [kaggle(tmp_path, "abc.us.txt", GOOD)], preset="kaggle", **{option: value})
    assert e.value.fields["param"] == option and value in e.value.message
    assert not mw.lake.exists("bars_daily") and not mw.lake.exists("price_listings")


@pytest.mark.parametrize(("option", "value"), [("mic", "XNYS"), ("currency", "USD"), ("currency", "GBX")])
def test_known_mic_or_currency_is_taken(mw, tmp_path, option, value):
    rep = mw.ingest("prices-csv", [kaggle(tmp_path, "abc.us.txt", GOOD)], preset="kaggle", **{option: value})
    assert rep.accepted == 3


def junk(tmp_path: Path, bad: int) -> str:
    return kaggle(tmp_path, "junk.us.txt", GOOD + [f"2017-02-{k + 1:02d},x{k},1,1,1,1,0" for k in range(bad)])


def test_a_file_over_the_refusal_cap_is_refused_whole_with_a_summary(mw, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETWIRE_MAX_REFUSALS_PER_FILE", "3")
    rep = mw.ingest("prices-csv", [junk(tmp_path, 4)], preset="kaggle")
    assert (rep.accepted, rep.quarantined) == (0, 1)
    [q] = mw.quarantine()
    assert q["rule"] == "file.too_many_refusals" and q["line"] is None
    assert "4 of 7 rows refused" in q["message"] and "line 5: [bar.unparseable]" in q["message"]
    assert listings(mw) == []


def test_a_file_at_the_refusal_cap_keeps_its_good_rows(mw, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETWIRE_MAX_REFUSALS_PER_FILE", "3")
    rep = mw.ingest("prices-csv", [junk(tmp_path, 3)], preset="kaggle")
    assert (rep.accepted, rep.quarantined) == (3, 3)
    assert {q["rule"] for q in mw.quarantine()} == {"bar.unparseable"}


def test_refusal_cap_that_is_not_a_number_is_named(mw, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETWIRE_MAX_REFUSALS_PER_FILE", "many")
    with pytest.raises(InvalidInput) as e:
        mw.ingest("prices-csv", [junk(tmp_path, 1)], preset="kaggle")
    assert "MARKETWIRE_MAX_REFUSALS_PER_FILE" in e.value.message


def test_quarantine_pages_are_bounded(mw, tmp_path):
    mw.ingest("prices-csv", [junk(tmp_path, 5)], preset="kaggle")
    assert len(mw.quarantine()) == 5
    page = mw.quarantine(limit=2)
    rest = mw.quarantine(limit=10, offset=2)
    assert len(page) == 2 and len(rest) == 3
    assert sorted(q["line"] for q in page + rest) == [5, 6, 7, 8, 9]
    with pytest.raises(InvalidInput) as e:
        mw.quarantine(limit=0)
    assert e.value.fields["param"] == "limit"
    with pytest.raises(InvalidInput) as e:
        mw.quarantine(limit=10, offset=2**63)
    assert e.value.fields["param"] == "offset"


# -- directories: a snapshot that would delist most of a venue ----------------------------------------------------

def directory(tmp_path: Path, name: str, symbols: list[str]) -> str:
    p = tmp_path / name
    p.write_text("Symbol,Company Name\n" + "".join(f"{s},{s} Holdings Inc.\n" for s in symbols), encoding="utf-8")
    return str(p)


SYMBOLS = [f"T{chr(65 + k // 26)}{chr(65 + k % 26)}" for k in range(40)]


def test_a_one_row_directory_is_held_instead_of_delisting_the_venue(mw, tmp_path):
    from marketwire.errors import Conflict

    mw.ingest("nasdaqtrader", [directory(tmp_path, "nasdaqlisted_2015-01-10.csv", SYMBOLS)])
    before = len(mw.dataset("ref_observations"))
    with pytest.raises(Conflict) as e:
        mw.ingest("nasdaqtrader", [directory(tmp_path, "nasdaqlisted_2015-02-10.csv", SYMBOLS[:1])])
    msg = e.value.message
    assert "would delist 39 of the 40 listings on XNAS" in msg and "--allow-mass-delisting" in msg
    assert "nasdaqlisted_2015-02-10.csv" in msg
    assert len(mw.dataset("ref_observations")) == before  # nothing written
    rep = mw.ingest("nasdaqtrader", [directory(tmp_path, "nasdaqlisted_2015-02-10.csv", SYMBOLS[:1])],
                    allow_mass_delisting=True)
    assert rep.accepted == 1


def test_half_of_a_venue_may_go_without_confirmation(mw, tmp_path):
    mw.ingest("nasdaqtrader", [directory(tmp_path, "nasdaqlisted_2015-01-10.csv", SYMBOLS)])
    rep = mw.ingest("nasdaqtrader", [directory(tmp_path, "nasdaqlisted_2015-02-10.csv", SYMBOLS[:20])])  # 20 of 40
    assert rep.accepted == 20  # applied: 20 of 40 is not more than half


def test_one_more_than_half_is_held(mw, tmp_path):
    from marketwire.errors import Conflict

    mw.ingest("nasdaqtrader", [directory(tmp_path, "nasdaqlisted_2015-01-10.csv", SYMBOLS)])
    with pytest.raises(Conflict):
        mw.ingest("nasdaqtrader", [directory(tmp_path, "nasdaqlisted_2015-02-10.csv", SYMBOLS[:19])])  # 21 of 40


def test_the_real_nasdaq_directory_cut_to_one_row_is_held(mw, tmp_path, securities_master):
    from marketwire.errors import Conflict

    full = securities_master / "nasdaq-listed-symbols_2015-01-10.csv"
    mw.ingest("nasdaqtrader", [str(full)])
    lines = full.read_text(encoding="utf-8").splitlines()
    one = tmp_path / "nasdaq-listed-symbols_2015-03-10.csv"
    one.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    with pytest.raises(Conflict) as e:
        mw.ingest("nasdaqtrader", [str(one)])
    assert e.value.fields["mic"] == "XNAS" and e.value.fields["delisted"] > 2000


def test_quarantine_pages_span_deliveries_in_stored_order(mw, tmp_path):
    first = kaggle(tmp_path, "one.us.txt", GOOD + [f"2017-02-{k + 1:02d},x{k},1,1,1,1,0" for k in range(3)])
    second = kaggle(tmp_path, "two.us.txt", GOOD + ["2017-02-01,1,1,1,inf,1,0", "2017-02-02,1,1,1,-inf,1,0"])
    mw.ingest("prices-csv", [first], preset="kaggle")
    mw.ingest("prices-csv", [second], preset="kaggle")
    pages = [mw.quarantine(limit=2, offset=k) for k in (0, 2, 4)]
    got = [(q["file"].rsplit("/", 1)[-1], q["line"]) for p in pages for q in p]
    assert sorted(got[:3]) == [("one.us.txt", 5), ("one.us.txt", 6), ("one.us.txt", 7)]  # the first delivery first
    assert sorted(got[3:]) == [("two.us.txt", 5), ("two.us.txt", 6)]
    assert [len(p) for p in pages] == [2, 2, 1]
    only = mw.quarantine(rule="bar.non_finite", limit=10)
    assert sorted(q["line"] for q in only) == [5, 6]
    assert mw.quarantine(rule="bar.no_such_rule", limit=10) == []


def test_turnover_of_a_whole_venue_by_a_directory_of_the_same_size_is_applied(mw, tmp_path):
    mw.ingest("nasdaqtrader", [directory(tmp_path, "nasdaqlisted_2015-01-10.csv", SYMBOLS)])
    others = [f"U{s[1:]}" for s in SYMBOLS]  # 40 delisted, 40 new: a venue that turned over, not a cut file
    rep = mw.ingest("nasdaqtrader", [directory(tmp_path, "nasdaqlisted_2025-01-10.csv", others)])
    assert rep.accepted == 40


def test_the_real_2015_and_2026_nasdaq_directories_load_in_turn(mw, securities_master):
    # 1,845 of the 2,967 XNAS listings of 2015 are gone in 2026 (62%), but the 2026 file lists 5,571
    mw.ingest("nasdaqtrader", [str(securities_master / "nasdaq-listed-symbols_2015-01-10.csv")])
    rep = mw.ingest("nasdaqtrader", [str(securities_master / "nasdaq-listed-symbols_2026-08-01.csv")])
    assert rep.accepted > 5000
