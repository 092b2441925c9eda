"""The realtime core without data files: event model, books, the durable log (recovery, group commit, retention),
in-stream rules and bar values."""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from marketwire.stream import events as E
from marketwire.stream.bars import bars_of
from marketwire.stream.books import L2Book, L3Book
from marketwire.stream.log import HEADER_SIZE, Log
from marketwire.stream.verify import Verifier

pytestmark = pytest.mark.unit


def trades(n: int, listing: str = "L1", t0: int = 1_000, price: float = 10.0) -> pa.RecordBatch:
    return E.batch("trade", [{"listing_id": listing, "ts_event": t0 + i, "price": price, "size": 1.0,
                              "source": "t", "position": i} for i in range(n)])


# -- events ---------------------------------------------------------------------------------------------------------
def test_event_batches_round_trip_and_know_their_kind() -> None:
    b = E.batch("quote", [{"listing_id": "X", "ts_event": 5, "bid_price": 1.5, "ask_price": 1.6, "source": "s"}])
    assert E.kind_of(b) == "quote" and b.schema.equals(E.QUOTE)
    row = E.to_rows(b)[0]
    assert row["ts_recv"] == 5 and row["flags"] == 0 and row["bid_size"] is None and row["ask_price"] == 1.6
    c = E.from_columns("trade", {"listing_id": "X", "ts_event": np.array([1, 2]), "price": [1.0, 2.0],
                                 "size": [3.0, 4.0], "source": "s"})
    assert c.column("listing_id").to_pylist() == ["X", "X"] and c.column("flags").to_pylist() == [0, 0]
    assert E.flag_names(E.FLAGS["seq_gap"] | E.FLAGS["price_band"]) == ["seq_gap", "price_band"]
    with pytest.raises(ValueError):
        E.flag_mask(["nope"])


# -- books ----------------------------------------------------------------------------------------------------------
def test_l2_book_levels_delete_snapshot_and_equality() -> None:
    b = L2Book()
    b.apply("b", 100.0, 2)
    b.apply("b", 101.0, 1)
    b.apply("a", 103.0, 5)
    b.apply("a", 102.0, 4)
    assert b.top() == (101.0, 1.0, 102.0, 4.0)
    assert b.bids() == [(101.0, 1.0), (100.0, 2.0)] and b.asks() == [(102.0, 4.0), (103.0, 5.0)]
    b.apply("bid", 101.0, 0)  # qty 0 deletes the level
    assert b.top()[0] == 100.0 and len(b) == 3
    c = L2Book()
    c.load([(100.0, 2)], [(103.0, 5), (102.0, 4)])
    assert b == c
    c.apply("a", 102.0, 3)
    assert b != c
    with pytest.raises(ValueError):
        b.apply("x", 1.0, 1)


def test_l3_book_orders_aggregate_to_levels() -> None:
    b = L3Book()
    b.add(1, "b", 10.0, 5)
    b.add(2, "b", 10.0, 3)
    b.add(3, "a", 11.0, 2)
    assert b.top() == (10.0, 8.0, 11.0, 2.0)
    b.fill(1, 2)
    assert b.top() == (10.0, 6.0, 11.0, 2.0) and b.orders("b", 10.0) == [(1, 3.0), (2, 3.0)]
    b.modify(1, 10.5, 3)  # price change: new level, back of the queue
    assert b.top() == (10.5, 3.0, 11.0, 2.0)
    b.cancel(3)
    assert b.top() == (10.5, 3.0, None, None)
    b.cancel(1)
    b.cancel(2)
    assert b.top() == (None, None, None, None) and len(b) == 0
    with pytest.raises(KeyError):
        b.cancel(99)


# -- the log --------------------------------------------------------------------------------------------------------
def test_log_offsets_reads_and_reopen(tmp_path: Path) -> None:
    with Log(tmp_path) as log:
        assert log.append(trades(3), b"m1") == (0, 3)
        assert log.append(trades(4, t0=10)) == (3, 7)
        assert log.acked == 7
    log = Log(tmp_path)
    assert log.end == 7 and log.truncated_bytes == 0
    got = list(log.read(2))
    assert [(o, b.num_rows) for o, b in got] == [(2, 1), (3, 4)]
    assert got[1][1].column("ts_event").to_pylist() == [10, 11, 12, 13]
    assert [m for _, m in log.last_meta()] == [b"m1"]
    assert log.append(trades(1)) == (7, 8)
    log.close()


def test_log_recovery_truncates_a_torn_tail(tmp_path: Path) -> None:
    with Log(tmp_path) as log:
        log.append(trades(5))
        log.append(trades(6))
    seg = sorted(tmp_path.glob("*.seg"))[0]
    size = seg.stat().st_size
    with open(seg, "ab") as fh:  # a crash in the middle of a frame: a header and half a body
        fh.write(b"MWL1" + struct.pack("<I", 0) + os.urandom(HEADER_SIZE))
    log = Log(tmp_path)
    assert log.end == 11 and log.truncated_bytes > 0 and seg.stat().st_size == size
    assert sum(b.num_rows for _, b in log.read()) == 11
    assert log.append(trades(2)) == (11, 13)
    log.close()


def test_log_recovery_drops_a_last_frame_whose_crc_fails(tmp_path: Path) -> None:
    with Log(tmp_path) as log:
        log.append(trades(5))
        log.append(trades(6))
    seg = sorted(tmp_path.glob("*.seg"))[0]
    data = bytearray(seg.read_bytes())
    data[-3] ^= 0xFF  # one flipped bit in the last frame's body
    seg.write_bytes(bytes(data))
    log = Log(tmp_path)
    assert log.end == 5 and [b.num_rows for _, b in log.read()] == [5]
    log.close()


def test_log_group_commit_acknowledges_every_concurrent_append(tmp_path: Path) -> None:
    log = Log(tmp_path)
    ranges: list[tuple[int, int]] = []
    lock = threading.Lock()

    def writer() -> None:
        for _ in range(20):
            r = log.append(trades(3))
            assert log.acked >= r[1]  # acknowledged (fsynced) before append returned
            with lock:
                ranges.append(r)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ranges) == [(i, i + 3) for i in range(0, 240, 3)]
    assert log.fsyncs <= 80
    log.close()


def test_log_rotation_retention_and_cursors(tmp_path: Path) -> None:
    log = Log(tmp_path, segment_bytes=1)  # every frame opens a new segment
    for i in range(5):
        log.append(trades(2, t0=i * 10))
    assert len(log.segments()) == 5
    removed = log.retain(before=4, protect_from=4)
    assert len(removed) == 2 and log.segments()[0].name == f"{4:020d}.seg"
    assert [o for o, _ in log.read()] == [4, 6, 8]
    assert log.retain(before=10, protect_from=6) and [o for o, _ in log.read()] == [6, 8]
    log.set_cursor("eod", 6)
    log.close()
    log = Log(tmp_path)
    assert log.cursor("eod") == 6 and log.end == 10
    log.close()


# -- rules ----------------------------------------------------------------------------------------------------------
def test_rules_flag_and_never_drop() -> None:
    v = Verifier()
    rows = [{"listing_id": "L", "ts_event": 100 + i, "price": 50.0 + 0.01 * (i % 3), "size": 10.0, "source": "t",
             "venue": "V", "seq": i, "trade_id": str(i)} for i in range(60)]
    rows[40]["price"] = 75.0  # a 50 % spike
    rows[41]["price"] = 0.0
    rows[42]["size"] = -1.0
    rows[43]["trade_id"] = "5"  # seen before
    rows[44]["ts_event"] = 50  # back in time
    rows[45]["seq"] = 70  # jump: 25 lost
    out = v.check(E.batch("trade", rows), contiguous_seq=True)
    assert out.num_rows == 60
    names = [E.flag_names(f) for f in out.column("flags").to_pylist()]
    assert names[40] == ["price_band"] and names[41] == ["price_nonpositive"]
    assert names[42] == ["size_nonpositive"] and names[43] == ["trade_duplicate"]
    assert names[44] == ["seq_out_of_order"] and "seq_gap" in names[45] and "seq_out_of_order" in names[46]
    assert all(not n for i, n in enumerate(names) if i not in (40, 41, 42, 43, 44, 45, 46))
    # state carries over batches: the next batch continues the sequence and the price window
    nxt = v.check(E.batch("trade", [{"listing_id": "L", "ts_event": 200, "price": 50.01, "size": 1.0,
                                     "source": "t", "venue": "V", "seq": 71, "trade_id": "x"}]), contiguous_seq=True)
    assert nxt.column("flags").to_pylist() == [0]


def test_quote_rules_crossed_and_locked_per_venue() -> None:
    v = Verifier()
    q = E.batch("quote", [
        {"listing_id": "L", "ts_event": 1, "venue": "A", "bid_price": 10.0, "bid_size": 1.0, "source": "t"},
        {"listing_id": "L", "ts_event": 2, "venue": "A", "ask_price": 10.5, "ask_size": 1.0, "source": "t"},
        {"listing_id": "L", "ts_event": 3, "venue": "B", "bid_price": 11.0, "bid_size": 1.0, "source": "t",
         "ask_price": 12.0, "ask_size": 1.0},
        {"listing_id": "L", "ts_event": 4, "venue": "A", "bid_price": 10.5, "bid_size": 1.0, "source": "t"},
        {"listing_id": "L", "ts_event": 5, "venue": "A", "bid_price": 10.6, "bid_size": 1.0, "source": "t"},
    ])
    names = [E.flag_names(f) for f in v.check(q).column("flags").to_pylist()]
    assert names == [[], [], [], ["quote_locked"], ["quote_crossed"]]  # B's 11 bid never compares with A's ask


# -- bars -----------------------------------------------------------------------------------------------------------
def test_bars_values_and_excluded_outliers() -> None:
    t = E.batch("trade", [
        {"listing_id": "L", "ts_event": 0, "price": 10.0, "size": 1.0, "source": "t"},
        {"listing_id": "L", "ts_event": 30 * 10**9, "price": 12.0, "size": 3.0, "source": "t"},
        {"listing_id": "L", "ts_event": 40 * 10**9, "price": 99.0, "size": 1.0, "source": "t",
         "flags": E.FLAGS["price_band"]},
        {"listing_id": "L", "ts_event": 61 * 10**9, "price": 11.0, "size": 2.0, "source": "t"},
    ])
    rows = bars_of(t, "1m").to_pylist()
    assert [(r["start"], r["open"], r["high"], r["low"], r["close"], r["volume"], r["trades"]) for r in rows] == [
        (0, 10.0, 12.0, 10.0, 12.0, 4.0, 2), (60 * 10**9, 11.0, 11.0, 11.0, 11.0, 2.0, 1)]
    assert rows[0]["vwap"] == pytest.approx((10 + 36) / 4)


def test_dense_rebuilds_one_value_dictionaries_as_constants_and_casts_the_rest() -> None:
    import pyarrow as pa

    from marketwire.stream.service import _const_str, _dense

    assert _const_str("MWL:IBM", 3).to_pylist() == ["MWL:IBM"] * 3 and _const_str("x", 0).to_pylist() == []
    assert _const_str("", 2).to_pylist() == ["", ""]
    one = pa.chunked_array([pa.array(["lean", "lean"]).dictionary_encode(), pa.array(["lean"]).dictionary_encode()])
    assert _dense(one, pa.string()).to_pylist() == ["lean"] * 3 and _dense(one, pa.string()).type == pa.string()
    two = pa.chunked_array([pa.array(["P", "Q", None]).dictionary_encode()])
    assert _dense(two, pa.string()).to_pylist() == ["P", "Q", None]
    ints = pa.chunked_array([pa.array([1, 2], pa.int32())])
    assert _dense(ints, pa.int64()).type == pa.int64() and _dense(ints, pa.int32()) is ints


def test_constant_columns_come_from_exact_footer_statistics(tmp_path: Path) -> None:
    """A listing-day read skips columns whose Parquet statistics show every row null or one value: only integer and
    string columns (a float column's statistics leave NaN out), and only when every row group agrees."""
    import pyarrow.parquet as pq

    from marketwire.stream.service import _constant_columns, _repeat

    t = pa.table({"seq": pa.nulls(4, pa.int64()), "flags": pa.array([0, 0, 0, 0], pa.int32()),
                  "source": ["lean"] * 4, "venue": ["P", "P", "Q", "P"], "size": [1.0, 1.0, float("nan"), 1.0],
                  "pos": pa.array([1, 2, 3, 4], pa.int64()), "lag": pa.array([5, 5, None, 5], pa.int64())})
    pq.write_table(t, tmp_path / "a.parquet")
    c = _constant_columns(pq.ParquetFile(tmp_path / "a.parquet").metadata)
    assert c == {"seq": (False, None), "flags": (True, 0), "source": (True, "lean")}
    assert _repeat(c["flags"], pa.uint32(), 3).to_pylist() == [0, 0, 0] and \
        _repeat(c["flags"], pa.uint32(), 3).type == pa.uint32()
    assert _repeat(c["seq"], pa.int64(), 2).to_pylist() == [None, None]
    assert _repeat(c["source"], pa.string(), 2).to_pylist() == ["lean", "lean"]
    # two row groups: flags 0 in one and 1 in the other is no constant; all-null in both still is
    t2 = pa.table({"seq": pa.nulls(4, pa.int64()), "flags": pa.array([0, 0, 1, 1], pa.int32())})
    pq.write_table(t2, tmp_path / "b.parquet", row_group_size=2)
    assert _constant_columns(pq.ParquetFile(tmp_path / "b.parquet").metadata) == {"seq": (False, None)}


def test_prefetch_yields_every_chunk_in_file_order_with_bounded_read_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two readers parse ahead of the consumer -- files read whole, and files cut into windows that both threads
    parse at once, finishing out of order; the consumer sees every chunk in file and window order, and the readers
    stop at the budget while the consumer is slow."""
    import random
    import time

    from marketwire.stream import service as S
    from marketwire.stream.feeds.base import Chunk

    made = {"n": 0}

    def whole(path: str, listing_of: object, **_: object):  # type: ignore[no-untyped-def]
        for i in range(20):
            made["n"] += 1
            yield Chunk(None, path, i + 1)

    def windows(path: str, listing_of: object, **_: object) -> list:  # type: ignore[type-arg]
        def win(w: int) -> list[Chunk]:
            time.sleep(random.random() / 200)  # windows finish out of order
            made["n"] += 2
            return [Chunk(None, path, 10 * (w + 1), part=0, parts=2), Chunk(None, path, 10 * (w + 1), part=1, parts=2)]
        return [lambda w=w: win(w) for w in range(7)]

    monkeypatch.setattr(S, "reader", lambda fmt: whole)
    monkeypatch.setattr(S, "detect", lambda p: "w" if p.endswith(".w") else "x")
    monkeypatch.setattr(S, "windower", lambda fmt: windows if fmt == "w" else None)
    files = [f"/nowhere/{k}.{'w' if k % 2 else 'x'}" for k in range(6)]
    want = []
    for k, f in enumerate(files):
        want += [(k, i + 1, 0) for i in range(20)] if k % 2 == 0 else \
            [(k, 10 * (w + 1), p) for w in range(7) for p in (0, 1)]
    got = []
    for _key, path, _start, chunk in S._prefetch(files, {}, lambda k, m: k, None, None, workers=2, ahead=2,
                                                 budget=5):
        if not got:
            time.sleep(0.3)  # the readers run ahead meanwhile, up to the budget
            assert made["n"] <= 1 + 2 + 5 + 2 * 2  # taken, file 0's ahead, the budget, one window in hand each
        got.append((int(Path(path).stem), chunk.position, chunk.part))
    assert got == want
    # a reader's error reaches the consumer after the chunks before it
    def broken(path: str, listing_of: object, **_: object):  # type: ignore[no-untyped-def]
        yield Chunk(None, path, 1)
        raise OSError("disk gone")

    monkeypatch.setattr(S, "reader", lambda fmt: broken)
    seen = []
    with pytest.raises(OSError, match="disk gone"):
        for item in S._prefetch(files[:1], {}, lambda k, m: k, None, None):
            seen.append(item[3].position)
    assert seen == [1]


def test_log_cursor_read_again_after_another_writer_replaced_it(tmp_path: Path) -> None:
    a, b = Log(tmp_path / "log"), Log(tmp_path / "log")
    assert a.cursor("eod", 0) == 0
    b.set_cursor("eod", 7)
    assert a.cursor("eod", 0) == 7
    b.set_cursor("eod", 9)  # same size, new file (rename): seen
    assert a.cursor("eod", 0) == 9 and a.cursor("eod", 0) == 9
    a.set_cursor("eod", {"at": 12})
    assert b.cursor("eod") == {"at": 12}
