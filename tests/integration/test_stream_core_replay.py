"""The realtime core end to end on real files: ``marketwire stream replay`` then ``ticks``/``bars`` (CSV), the
end-of-day roll (idempotent, also after a crash in the middle of it), answers alike from the log and the lake, and
kill -9 during replay and roll (two trials of benchmarks/stream_crash.py)."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from marketwire.cli import main
from tests.conftest import shared_data

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def realtime() -> Path:
    p = shared_data() / "realtime"
    if not (p / "lean").is_dir():
        pytest.skip(f"shared realtime data not found at {p} (set MARKETWIRE_DATA)")
    return p


def run(home: Path, *args: str, code: int = 0) -> str:
    r = CliRunner().invoke(main, ["--home", str(home), *args])
    out = r.output + (r.stderr if r.stderr_bytes else "")
    assert "Traceback" not in out, out
    assert r.exit_code == code, out
    return r.output


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    h = tmp_path_factory.mktemp("stream") / "h"
    tick = realtime() / "lean" / "equity" / "usa" / "tick" / "ibm"
    out = run(h, "stream", "replay", str(tick / "20131007_trade.zip"), str(tick / "20131007_quote.zip"),
              "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 1
    n_trades, n_quotes = (len(zipfile.ZipFile(tick / f).read(zipfile.ZipFile(tick / f).namelist()[0]).splitlines())
                          for f in ("20131007_trade.zip", "20131007_quote.zip"))
    r = rows[0]
    assert int(r["read"]) == int(r["accepted"]) == n_trades + n_quotes
    assert int(r["acknowledged_to"]) == int(r["accepted"]) and int(r["quarantined"]) == 0
    assert 0 < int(r["flagged"]) < int(r["accepted"])
    return h


def test_ticks_csv_match_the_file(home: Path) -> None:
    tick = realtime() / "lean" / "equity" / "usa" / "tick" / "ibm" / "20131007_trade.zip"
    raw = zipfile.ZipFile(tick).read(zipfile.ZipFile(tick).namelist()[0]).decode().splitlines()
    out = run(home, "ticks", "IBM", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(raw)
    first = raw[0].split(",")
    assert rows[0]["time"].startswith("2013-10-07T") and rows[0]["time"].endswith("+00:00")
    assert float(rows[0]["price"]) == int(first[1]) / 10_000 and float(rows[0]["size"]) == float(first[2])
    flagged = list(csv.DictReader(io.StringIO(run(home, "ticks", "IBM", "--type", "quotes", "--flags",
                                                  "--format", "csv"))))
    assert flagged and all(r["flags"] != "0" and r["flag_names"] for r in flagged)


def test_bars_csv_contract_and_values(home: Path) -> None:
    out = run(home, "bars", "IBM", "--interval", "1m", "--start", "2013-10-07T13:30:00Z", "--end",
              "2013-10-07T13:35:00Z", "--format", "csv")
    lines = out.splitlines()
    assert lines[0] == "time,open,high,low,close,volume,vwap,trades"
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["time"] for r in rows] == [f"2013-10-07T13:3{i}:00+00:00" for i in range(5)]
    for r in rows:
        assert float(r["low"]) <= float(r["open"]) <= float(r["high"])
        assert float(r["low"]) <= float(r["vwap"]) <= float(r["high"]) and int(r["trades"]) > 0


def test_roll_is_idempotent_after_a_crash_and_answers_stay_the_same(home: Path) -> None:
    import marketwire
    from marketwire.datasets.stream import BARS_INTRADAY, QUOTES, TRADES
    from marketwire.stream.eod import roll

    mw = marketwire.open(home)
    before = mw.ticks("IBM", output="arrow")
    bars_before = mw.bars("IBM", "1m", output="arrow")
    with pytest.raises(RuntimeError, match="simulated crash"):
        roll(mw.stream.log, mw.lake, crash_after=1)  # one table committed, the checkpoint not moved
    assert mw.stream.log.cursor("eod", 0) == 0
    rep = mw.stream.roll()
    assert rep["skipped"] > 0 and rep["end"] == mw.stream.log.acked
    again = mw.stream.roll()
    assert again["events"] == 0  # nothing left to roll
    n = {"trade": 0, "quote": 0}
    for fr in mw.stream.log.frames():
        n[fr.kind] += fr.count
    for kind, ds in (("trade", TRADES), ("quote", QUOTES)):
        off = mw.lake.dataset(ds).to_table(columns=["log_offset"]).column("log_offset").to_numpy()
        assert len(off) == n[kind] == len(np.unique(off))
    assert mw.lake.exists(BARS_INTRADAY)
    after = mw.ticks("IBM", output="arrow")  # now from the lake
    assert after.equals(before)
    assert mw.bars("IBM", "1m", output="arrow").equals(bars_before)
    out = run(home, "bars", "IBM", "--interval", "1m", "--format", "csv", "--as-of", "2000-01-01")
    assert out.splitlines() == ["time,open,high,low,close,volume,vwap,trades"]  # the lake knew nothing then


def test_bad_input_is_a_clear_error(home: Path, tmp_path: Path) -> None:
    run(home, "ticks", "NO-SUCH", code=3)
    run(home, "bars", "IBM", "--start", "yesterday-ish", code=4)
    run(home, "stream", "replay", str(tmp_path / "missing.zip"), code=3)
    run(home, "stream", "replay", str(tmp_path), "--speed", "-2", code=4)


def test_binance_capture_replays_and_resumes(tmp_path: Path) -> None:
    import marketwire

    f = realtime() / "hftbacktest_binance_ws" / "spot" / "btcusdt_20240808.gz"
    mw = marketwire.open(tmp_path / "h")
    rep = mw.stream.replay([f])
    assert rep.read > 100_000 and rep.quarantined == 0 and rep.acknowledged_to == rep.accepted
    trades = mw.ticks("BTC/USDT@BINANCE", output="arrow")
    assert trades.num_rows > 1000 and set(trades.column("side").to_pylist()) <= {1, -1}
    assert mw.stream.replay([f]).read == 0  # everything acknowledged already: nothing replayed twice
    q = mw.ticks("BTC/USDT@BINANCE", "quotes", output="arrow")
    assert q.num_rows > 1000 and all(b < a for b, a in zip(q.column("bid_price").to_pylist()[:500],
                                                            q.column("ask_price").to_pylist()[:500]))


def test_kill_9_during_replay_and_roll_loses_nothing_acknowledged(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("stream_crash", ROOT / "benchmarks" / "stream_crash.py")
    assert spec is not None and spec.loader is not None
    sc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sc)

    tick = realtime() / "lean" / "equity" / "usa" / "tick"
    files = [str(tick / "ibm" / "20131007_trade.zip"),
             str(realtime() / "hftbacktest_binance_ws" / "spot" / "ethusdt_20240808.gz")]
    ref, replay_s, roll_s = sc.calibrate(files, tmp_path, in_process=True)
    rng = random.Random(12)
    for after_first_ack in (False, True):
        r = sc.trial(files, tmp_path, ref, replay_s, roll_s, rng, after_first_ack=after_first_ack)
        assert r["acked_survived"] and r["exactly_once_after_resume"] and r["lake_exactly_once"], r


def test_unparseable_messages_are_quarantined_with_raw_bytes_and_the_stream_goes_on(tmp_path: Path) -> None:
    import gzip

    src = realtime() / "hftbacktest_binance_ws" / "spot" / "ethusdt_20240808.gz"
    lines = gzip.open(src).read().splitlines()[:3000]
    lines[100] = lines[100][: len(lines[100]) // 2]  # a message cut in half
    lines[200] = b"1723161254087896568 not json at all"
    d = tmp_path / "spot"
    d.mkdir()
    with gzip.open(d / "ethusdt_20240808.gz", "wb") as fh:
        fh.write(b"\n".join(lines) + b"\n")
    h = tmp_path / "h"
    out = run(h, "stream", "replay", str(d / "ethusdt_20240808.gz"), "--format", "csv")
    r = next(csv.DictReader(io.StringIO(out)))
    assert int(r["quarantined"]) == 2 and int(r["read"]) > 2900
    q = list(csv.DictReader(io.StringIO(run(h, "quarantine", "--rule", "stream.unparseable", "--format", "csv"))))
    assert sorted(int(x["line"]) for x in q) == [101, 201]
    assert any("not json at all" in x["raw"] for x in q) and all(x["source"] == "binance" for x in q)


@pytest.mark.parametrize("market", ["spot", "usdm", "cm"])
def test_binance_bulk_parse_equals_the_message_by_message_parse(market: str) -> None:
    """The Arrow bulk path (lines classified and split in Arrow, one JSON read per kind) gives the same events as
    the message-by-message orjson path, on a window of each market's capture with a REST snapshot line in it."""
    import gzip

    import pyarrow as pa

    from marketwire.stream.events import from_columns
    from marketwire.stream.feeds import binance

    files = sorted((realtime() / "hftbacktest_binance_ws" / market).glob("*.gz"))
    if not files:
        pytest.skip(f"no {market} capture")
    lines = [ln for ln in gzip.open(files[0]).read().split(b"\n")[:6000]]
    lines.insert(17, b"")  # a blank line is skipped by both
    fast = binance.parse_fast(lines, 1, "BINANCE", lambda k, m: k, {}, path=str(files[0]))
    slow, bad = binance.parse_lines([ln for ln in lines if ln], 1, str(files[0]), "BINANCE", lambda k, m: k, {})
    assert fast is not None and not bad
    for kind in ("trade", "quote", "book"):
        n = len(slow[kind]["ts_event"])
        if not n:
            assert kind not in fast
            continue
        f = from_columns(kind, {**fast[kind], "source": "binance", "venue": "BINANCE"})
        s = from_columns(kind, {**slow[kind], "source": "binance", "venue": "BINANCE"})
        cols = [c for c in f.schema.names if c != "position"]  # the slow path numbers lines without the blank one
        assert f.num_rows == n and pa.Table.from_batches([f]).select(cols).equals(
            pa.Table.from_batches([s]).select(cols)), kind
    assert binance.parse_fast(lines[:50] + [b"123 not json at all"], 1, "BINANCE", lambda k, m: k, {}) is None


def test_binance_bulk_parse_hands_a_message_missing_a_field_to_the_quarantining_parse() -> None:
    """A combined-stream line whose message lacks a field the event needs (a trade without its price, a depth diff
    without its update id) is not read as a null: the window goes to the message-by-message parse, which
    quarantines that line and keeps the others."""
    from marketwire.stream.feeds import binance

    ok = (b'1723161240001000000 {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161240000,"s":"BTCUSDT",'
          b'"t":1,"p":"61000.10","q":"0.5","T":1723161240000,"m":true}}')
    no_price = ok.replace(b'"p":"61000.10",', b"").replace(b'"t":1', b'"t":2')
    depth = (b'1723161240002000000 {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161240001,'
             b'"s":"BTCUSDT","U":5,"b":[["61000.0","1.5"]],"a":[["61000.2","0.25"],["61000.3","0"]]}}')
    assert binance.parse_fast([ok, no_price], 1, "BINANCE", lambda k, m: k, {}) is None
    assert binance.parse_fast([ok, depth], 1, "BINANCE", lambda k, m: k, {}) is None  # no "u"
    good = binance.parse_fast([ok, depth.replace(b'"U":5', b'"U":5,"u":7')], 1, "BINANCE", lambda k, m: k, {})
    assert good is not None and list(good["book"]["price"]) == [61000.0, 61000.2, 61000.3]
    assert list(good["book"]["side"]) == [1, -1, -1] and list(good["book"]["seq"]) == [7, 7, 7]
    assert list(good["book"]["ts_recv"]) == [1723161240002000000] * 3 and list(good["trade"]["position"]) == [1]
    cols, bad = binance.parse_lines([ok, no_price], 1, "x.gz", "BINANCE", lambda k, m: k, {})
    assert len(cols["trade"]["price"]) == 1 and [b.position for b in bad] == [2]
