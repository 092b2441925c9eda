"""Daily prices on small synthetic files: rules, adjustment, ticks, point-in-time, idempotence, bad input."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

import marketwire
from marketwire.errors import ParseError
from marketwire.prices.read import adjustment_factors

pytestmark = pytest.mark.unit


def sessions(n: int, start: date = date(2021, 1, 4)) -> list[date]:
    """``n`` NYSE sessions from ``start`` (weekdays that are not NYSE holidays)."""
    from marketwire.prices import calendars

    days = calendars.sessions("XNYS")
    first = (start - date(1970, 1, 1)).days
    picked = days[days >= first][:n]
    return [date(1970, 1, 1) + timedelta(days=int(d)) for d in picked]


def walk(n: int, seed: int = 7, start: float = 50.0, first: date = date(2021, 1, 4)) -> list[dict]:
    rng = np.random.default_rng(seed)
    closes = start * np.exp(np.cumsum(rng.normal(0, 0.015, n)))
    rows = []
    for d, c in zip(sessions(n, first), closes):
        o = c * (1 + rng.normal(0, 0.004))
        rows.append({"Date": d.isoformat(), "Open": round(o, 4), "High": round(max(o, c) * 1.006, 4),
                     "Low": round(min(o, c) * 0.994, 4), "Close": round(c, 4),
                     "Volume": int(rng.integers(1e5, 1e6)), "OpenInt": 0})
    return rows


def write(path, rows: list[dict]) -> str:
    cols = list(rows[0])
    path.write_text(",".join(cols) + "\n" + "".join(",".join(str(r[c]) for c in cols) + "\n" for r in rows))
    return str(path)


@pytest.fixture()
def mw(tmp_path):
    return marketwire.open(tmp_path / "home")


def flagged(mw, symbol: str) -> dict[date, str]:
    df = mw.prices(symbol, flags=True, output="polars")
    return dict(df.filter(pl.col("flags").is_not_null()).select("date", "flags").iter_rows())


def quarantined(mw) -> list[tuple[str, str, int]]:
    return [(q["rule"], json.loads(q["raw"])["date"], q["line"]) for q in mw.quarantine()]


def test_clean_series_round_trips_exactly_and_is_not_flagged(mw, tmp_path):
    rows = walk(500)
    rep = mw.ingest("prices-csv", [write(tmp_path / "abc.us.txt", rows)], preset="kaggle")
    assert (rep.accepted, rep.quarantined, rep.flagged) == (500, 0, 0)
    df = mw.prices("ABC.US", output="polars")
    assert df.columns == ["date", "open", "high", "low", "close", "volume"]
    assert df.get_column("close").to_list() == [r["Close"] for r in rows]  # ticks reproduce the file exactly
    assert df.get_column("volume").to_list() == [r["Volume"] for r in rows]
    assert mw.prices("ABC.US").attrs["basis"] == "adjusted"


def test_refusals_name_rule_file_and_line(mw, tmp_path):
    rows = walk(300)
    rows[100]["High"], rows[100]["Low"] = rows[100]["Low"], rows[100]["High"]  # high below low
    rows[120]["Close"] = 0  # non-positive
    rows[140]["Volume"] = -5
    dup = dict(rows[160])
    rows.insert(161, dup)  # the same date twice
    sat = dict(rows[200])
    d = date.fromisoformat(sat["Date"])
    sat["Date"] = (d + timedelta(days=(5 - d.weekday()) % 7)).isoformat()  # the following Saturday
    rows.insert(201, sat)
    path = write(tmp_path / "abc.us.txt", rows)
    rep = mw.ingest("prices-csv", [path], preset="kaggle")
    q = quarantined(mw)
    rules = {r for r, _, _ in q}
    assert rules == {"bar.ohlc_inconsistent", "bar.non_positive_price", "bar.negative_volume",
                     "bar.duplicate_date", "bar.weekend"}
    assert rep.quarantined == 5 and rep.accepted == len(rows) - 5
    line_of = {r: line for r, _, line in q}
    assert line_of["bar.ohlc_inconsistent"] == 102  # header is line 1
    assert line_of["bar.weekend"] == 203
    row = next(x for x in mw.quarantine() if x["rule"] == "bar.negative_volume")
    assert row["field"] == "volume" and row["value"] == "-5.0" and row["file"] == path
    assert json.loads(row["raw"])["volume"] == -5


def test_flag_rules_on_injected_faults(mw, tmp_path):
    rows = walk(600, seed=3)
    days = [r["Date"] for r in rows]
    for k in ("Open", "High", "Low", "Close"):
        rows[150][k] = round(rows[150][k] * 1.6, 4)  # a one-day spike
    for i in range(300, 306):  # six days in pence instead of pounds
        for k in ("Open", "High", "Low", "Close"):
            rows[i][k] = round(rows[i][k] * 100, 4)
    for i in range(450, 600):  # an unrecorded 2:1 split
        for k in ("Open", "High", "Low", "Close"):
            rows[i][k] = round(rows[i][k] / 2, 4)
    for i in range(520, 524):  # a stale feed
        for k in ("Open", "High", "Low", "Close"):
            rows[i][k] = rows[519]["Close"]
        rows[i]["Volume"] = 0
    mw.ingest("prices-csv", [write(tmp_path / "abc.us.txt", rows)], preset="kaggle")
    f = {d.isoformat(): v for d, v in flagged(mw, "ABC.US").items()}
    assert "bar.spike" in f[days[150]]
    assert all("bar.unit_jump" in f[days[i]] for i in range(300, 306))
    assert "bar.unrecorded_split" in f[days[450]]
    assert all("bar.stale" in f[days[i]] for i in range(520, 524))
    noise = [d for d in f if d not in {days[150], days[449], days[450], days[306], *days[300:306], *days[520:524]}]
    assert len(noise) <= 2, noise


def test_recorded_split_explains_the_jump_and_adjustment_is_exact(mw, tmp_path):
    rows = walk(60, seed=5)
    text = "date,open,high,low,close,volume,dividend,split\n"
    for i, r in enumerate(rows):
        f = 0.5 if i >= 30 else 1.0
        split = 2.0 if i == 30 else 1.0
        div = 0.25 if i == 45 else 0.0
        text += (f"{r['Date']},{r['Open'] * f:.4f},{r['High'] * f:.4f},{r['Low'] * f:.4f},{r['Close'] * f:.4f},"
                 f"{r['Volume']},{div},{split}\n")
    (tmp_path / "XYZ.csv").write_text(text)
    rep = mw.ingest("prices-csv", [str(tmp_path / "XYZ.csv")], preset="zipline-csvdir")
    assert rep.flagged == 0 and rep.actions == 2
    raw = mw.prices("XYZ", output="polars")
    spl = mw.prices("XYZ", adjust="splits", output="polars", factors=True)
    tr = mw.prices("XYZ", adjust="total_return", output="polars")
    c, s, t = (x.get_column("close").to_numpy() for x in (raw, spl, tr))
    assert np.array_equal(s[:30], c[:30] / 2.0) and np.array_equal(s[30:], c[30:])
    assert spl.get_column("volume").to_list()[:30] == [v * 2 for v in raw.get_column("volume").to_list()[:30]]
    f = 1 - 0.25 / c[44]  # CRSP: 1 - D / close before the ex date
    assert math.isclose(t[0], c[0] / 2 * f, rel_tol=1e-12) and math.isclose(t[44], c[44] * f, rel_tol=1e-12)
    assert t[45] == c[45]
    ex = mw.prices("XYZ", adjust="total_return", convention="ex_close", output="polars").get_column("close")
    assert math.isclose(ex[44], c[44] * c[45] / (c[45] + 0.25), rel_tol=1e-12)


def test_adjustment_factors_conventions():
    dates = np.array(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"], dtype="datetime64[D]")
    close = np.array([100.0, 102.0, 51.0, 50.0])
    acts = pl.DataFrame({"ex_date": [date(2024, 1, 4), date(2024, 1, 5)], "type": ["split", "dividend"],
                         "value": [2.0, 1.0], "flags": [None, None]})
    fp, fv, table = adjustment_factors(dates, close, acts, "raw", "total_return")
    assert list(fv) == [2.0, 2.0, 1.0, 1.0]
    assert np.allclose(fp, [0.5 * (1 - 1 / 51), 0.5 * (1 - 1 / 51), 1 - 1 / 51, 1.0], rtol=1e-15)
    assert [a["type"] for a in table] == ["split", "dividend"]
    fp_adj, _, _ = adjustment_factors(dates, close, acts, "adjusted", "total_return")
    assert list(fp_adj) == [1.0] * 4  # a vendor-adjusted series is never adjusted twice


def test_point_in_time_and_idempotence(mw, tmp_path):
    rows = walk(100)
    path = write(tmp_path / "abc.us.txt", rows)
    t1 = datetime(2024, 1, 10, tzinfo=timezone.utc)
    assert mw.ingest("prices-csv", [path], preset="kaggle", as_of=t1).accepted == 100
    again = mw.ingest("prices-csv", [path], preset="kaggle")
    assert (again.accepted, again.unchanged) == (0, 100)  # the same file adds nothing
    old = rows[50]["Close"]
    rows[50]["Close"] = round(old * 1.01, 4)  # a vendor correction, still inside [low, high]
    rows[50]["High"] = max(rows[50]["High"], rows[50]["Close"])
    t2 = datetime(2024, 2, 1, tzinfo=timezone.utc)
    corr = mw.ingest("prices-csv", [write(tmp_path / "abc.us.txt", rows)], preset="kaggle", as_of=t2)
    assert (corr.accepted, corr.unchanged) == (1, 99)
    day = date.fromisoformat(rows[50]["Date"])

    def close_on(**kw):
        df = mw.prices("ABC.US", output="polars", **kw)
        return df.filter(pl.col("date") == day).get_column("close").item()

    assert close_on() == rows[50]["Close"]
    assert close_on(as_of="2024-01-20") == old  # what was known then
    assert close_on(as_of="2024-02-01T00:00:00Z") == rows[50]["Close"]
    with pytest.raises(marketwire.errors.NotFound):
        mw.prices("ABC.US", as_of="2023-12-31")


def test_unparseable_value_is_quarantined_and_ragged_file_names_line_and_column(mw, tmp_path):
    rows = walk(20)
    rows[7]["Close"] = "12,5"  # a comma decimal: two fields where one was expected
    path = tmp_path / "bad.us.txt"
    write(path, rows)
    with pytest.raises(ParseError) as e:
        mw.ingest("prices-csv", [str(path)], preset="kaggle")
    assert e.value.fields["line"] == 9 and "bad.us.txt" in e.value.message and e.value.fields["column"]
    rows[7]["Close"] = "n/a?"
    write(path, rows)
    rep = mw.ingest("prices-csv", [str(path)], preset="kaggle")
    assert (rep.accepted, rep.quarantined) == (19, 1)
    q = mw.quarantine()[0]
    assert (q["rule"], q["field"], q["value"], q["line"]) == ("bar.unparseable", "Close", "n/a?", 9)


def test_an_empty_or_unreadable_date_cell_is_quarantined_with_a_message_naming_it(mw, tmp_path):
    rows = walk(20)
    rows[5]["Date"] = ""
    rows[9]["Date"] = "2021-13-45"
    path = write(tmp_path / "dates.us.txt", rows)
    rep = mw.ingest("prices-csv", [str(path)], preset="kaggle")
    assert (rep.accepted, rep.quarantined) == (18, 2)
    got = {q["line"]: (q["rule"], q["field"], q["message"]) for q in mw.quarantine()}
    assert got == {7: ("bar.unparseable", "date", "date: the cell is empty; every bar needs its date"),
                   11: ("bar.unparseable", "date", "date: 2021-13-45 is not a date")}


def test_unknown_symbol_gets_a_provisional_listing_with_a_stable_id(mw, tmp_path):
    rows = walk(30)
    path = write(tmp_path / "zzz.us.txt", rows)
    rep = mw.ingest("prices-csv", [path], preset="kaggle")
    assert rep.provisional == 1
    lid = mw.price_listing("ZZZ.US")
    assert lid.startswith("MWL") and mw.price_listing("ZZZ") == lid
    other = marketwire.open(tmp_path / "other")
    other.ingest("prices-csv", [path], preset="kaggle")
    assert other.price_listing("ZZZ.US") == lid  # ids derive from the evidence, not the order of loading
    assert mw.quality("ZZZ.US")["provisional"] is True


def test_fx_conversion_uses_each_dates_rate(mw, tmp_path):
    (tmp_path / "fx.csv").write_text("Date,USD,JPY,GBP,\n2021-01-05,1.2,126.0,0.9,\n2021-01-04,1.25,N/A,0.91,\n")
    rep = mw.ingest("ecb-fx", [str(tmp_path / "fx.csv")])
    assert rep.accepted == 5
    rows = walk(2)
    mw.ingest("prices-csv", [write(tmp_path / "abc.us.txt", rows)], preset="kaggle")
    eur = mw.prices("ABC.US", currency="EUR", output="polars").get_column("close").to_list()
    assert eur == pytest.approx([rows[0]["Close"] / 1.25, rows[1]["Close"] / 1.2], rel=1e-12)
    usdjpy = mw.fx("USD", "JPY")
    assert usdjpy.get_column("rate").to_list() == pytest.approx([126.0 / 1.2])  # no JPY rate on the 4th


def test_stooq_downloads_one_symbol_over_http(mw, tmp_path, monkeypatch):
    """The public end-of-day source, pointed at a loopback server standing in for stooq.com."""
    import http.server
    import threading

    rows = walk(40)
    body = ("Date,Open,High,Low,Close,Volume\n" + "".join(
        f"{r['Date']},{r['Open']},{r['High']},{r['Low']},{r['Close']},{r['Volume']}\n" for r in rows)).encode()
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("MARKETWIRE_STOOQ_URL", f"http://127.0.0.1:{srv.server_port}/q/d/l/?s={{symbol}}&i=d")
        rep = mw.ingest("stooq", [], symbol="IBM.US")
    finally:
        srv.shutdown()
    assert asked == ["/q/d/l/?s=ibm.us&i=d"]
    assert rep.accepted == 40
    df = mw.prices("IBM.US")
    assert df.attrs["source"] == "stooq" and df.attrs["basis"] == "adjusted" and len(df) == 40


def test_provisional_listing_is_merged_into_the_master_listing_that_arrives_later(mw, tmp_path):
    rows = walk(30, first=date(2026, 8, 3))  # bars after the directory's snapshot: the master knows ADBE then
    mw.ingest("prices-csv", [write(tmp_path / "adbe.us.txt", rows)], preset="kaggle")
    provisional = mw.price_listing("ADBE.US")
    (tmp_path / "nasdaqlisted.csv").write_text(
        "Symbol,Security Name,Market Category,Test Issue,Financial Status,Round Lot Size,ETF,NextShares\n"
        "ADBE,Adobe Inc. - Common Stock,Q,N,N,100,N,N\nFile Creation Time: 0801202621:31,,,,,,,\n")
    mw.ingest("nasdaqtrader", [tmp_path / "nasdaqlisted.csv"])  # the master is derived, then adopts
    master = mw.resolve("ADBE@XNAS")[0]["listing_id"]
    assert master != provisional
    assert mw.successor("listing", provisional) == master
    assert len(mw.prices(master)) == 30 and len(mw.prices("ADBE@XNAS")) == 30
    assert len(mw.prices("ADBE.US")) == 30  # the provisional id still answers
    assert mw.adopt_provisional() == 0  # done once


def test_generic_file_with_a_column_mapping(mw, tmp_path):
    (tmp_path / "mine.csv").write_text("Ticker;Day;Px;Qty\n".replace(";", ",")
                                       + "ZZ,2024-01-02,10.5,100\nZZ,2024-01-03,10.75,200\nYY,2024-01-02,3.25,5\n")
    rep = mw.ingest("prices-csv", [tmp_path / "mine.csv"],
                    columns={"symbol": "Ticker", "date": "Day", "close": "Px", "volume": "Qty"})
    assert (rep.accepted, rep.listings) == (3, 2)
    df = mw.prices("ZZ", output="polars")
    assert df.get_column("close").to_list() == [10.5, 10.75] and df.get_column("open").null_count() == 2
    assert mw.prices("ZZ").attrs["basis"] == "raw"
    with pytest.raises(marketwire.errors.InvalidInput):
        mw.ingest("prices-csv", [tmp_path / "mine.csv"], columns={"price": "Px"})


def test_calendars_built_once_under_concurrent_first_use(tmp_path, monkeypatch):
    """Deliveries are verified on several threads: the first use of a calendar must not race on its cache file."""
    from concurrent.futures import ThreadPoolExecutor

    from marketwire.prices import calendars

    monkeypatch.setattr(calendars, "_cache_dir", tmp_path)
    calendars._sessions.cache_clear()
    calendars._names_cached.cache_clear()
    try:
        with ThreadPoolExecutor(6) as pool:
            got = list(pool.map(lambda n: calendars.sessions(n), ["XNAS", "XNAS", "XLON", "XNAS", "XLON", "XNAS"]))
        assert all(len(g) > 15_000 for g in got)
        assert sorted(p.name.split("-")[0] for p in tmp_path.glob("*.npy")) == ["XLON", "XNAS"]
        assert not list(tmp_path.glob("*.tmp*"))
    finally:
        calendars._sessions.cache_clear()
        calendars._names_cached.cache_clear()


def test_weekly_file_is_refused_whole_and_daily_files_beside_it_pass(mw, tmp_path):
    from marketwire.errors import InvalidInput

    folder = tmp_path / "w"
    folder.mkdir()
    write(folder / "ibm.us.txt", walk(80))
    weekly = [r for k, r in enumerate(walk(80, seed=3)) if k % 5 == 0]  # one bar every fifth session: 7 days apart
    write(folder / "aapl.us.txt", weekly)
    with pytest.raises(InvalidInput, match=r"aapl\.us\.txt: holds weekly bars \(median gap 7 days\)"):
        mw.ingest("prices-csv", [str(folder)], preset="kaggle")
    # the same file with one bar in four sessions kept daily (gaps 1 and 3 days: median below 6) passes
    (folder / "aapl.us.txt").unlink()
    write(folder / "aapl.us.txt", [r for k, r in enumerate(walk(80, seed=3)) if k % 4 != 1])
    rep = mw.ingest("prices-csv", [str(folder)], preset="kaggle")
    assert rep.accepted == 80 + 60


def test_daily_check_reads_the_first_rows_of_each_file_as_a_pass_over_the_delivery_would():
    from marketwire.prices.ingest import DAILY_HEAD, _check_daily, _file_heads

    days = [date(2020, 1, 6) + timedelta(days=7 * k) for k in range(DAILY_HEAD + 20)]
    daily = pl.DataFrame({"file": ["a"] * 100, "date": [date(2020, 1, 6) + timedelta(days=k) for k in range(100)]})
    weekly = pl.DataFrame({"file": ["b"] * len(days), "date": days})
    heads = _file_heads([daily, weekly])
    assert heads is not None and heads.height == 2 * DAILY_HEAD
    assert heads.get_column("file").to_list() == ["a"] * DAILY_HEAD + ["b"] * DAILY_HEAD
    # a null date among the first rows, or one file's rows in two parts: the pass over the whole delivery
    with_null = weekly.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("date"))
                                    .alias("date"))
    assert _file_heads([daily, with_null]) is None
    assert _file_heads([daily, weekly.head(30), weekly.tail(50)]) is None
    for parts in ([daily, weekly], [daily, with_null], [daily, weekly.head(30), weekly.tail(50)], None):
        bars = pl.concat(parts) if parts else pl.concat([daily, weekly])
        with pytest.raises(Exception, match="b: holds weekly bars"):
            _check_daily(bars, parts)
    _check_daily(daily, [daily])  # daily bars pass


def test_bar_on_a_weekday_holiday_is_flagged_non_session(mw, tmp_path):
    rows = walk(40)
    holiday = {**rows[9], "Date": "2021-01-18"}  # Martin Luther King Jr. Day: a Monday without an NYSE session
    assert rows[9]["Date"] == "2021-01-15" and rows[10]["Date"] == "2021-01-19"
    rows.insert(10, holiday)
    mw.ingest("prices-csv", [write(tmp_path / "ibm.us.txt", rows)], preset="kaggle")
    assert flagged(mw, "IBM") == {date(2021, 1, 18): "bar.non_session"}
