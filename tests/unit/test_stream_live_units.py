"""Unit checks of the live path's rules: backoff bounds, Binance depth rules on hand-made diffs, the hub's channel
policies and frame encodings, the adapters' refusals."""

from __future__ import annotations

import asyncio
import json
import random

import msgpack
import pytest

from marketwire.stream.depth_sync import APPLIED, BUFFERED, GAP, STALE, DepthSync
from marketwire.stream.hub import Event, Hub, decode_frame, encode_frame
from marketwire.stream.live import Backoff, Binance, Coinbase, Unparseable

pytestmark = pytest.mark.unit


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    b = Backoff(initial=0.1, maximum=2.0, factor=2.0, rng=random.Random(1))
    for attempt, cap in [(0, 0.1), (1, 0.2), (3, 0.8), (4, 1.6), (5, 2.0), (40, 2.0)]:
        waits = [b.delay(attempt) for _ in range(200)]
        assert all(cap / 2 <= w <= cap for w in waits), (attempt, min(waits), max(waits))
        assert max(waits) - min(waits) > cap / 4  # jittered, not a constant


def spot(first: int, last: int, bids: list[list[str]] | None = None) -> dict:
    return {"e": "depthUpdate", "s": "BTCUSDT", "U": first, "u": last, "b": bids or [], "a": []}


def fut(first: int, last: int, prev: int, bids: list[list[str]] | None = None) -> dict:
    return {**spot(first, last, bids), "pu": prev}


def test_spot_rules_buffer_drop_stale_straddle_continue_and_gap() -> None:
    book = DepthSync("BTCUSDT")
    assert book.on_diff(spot(95, 99)) == BUFFERED and book.on_diff(spot(100, 104, [["10", "1"]])) == BUFFERED
    assert book.on_diff(spot(105, 106, [["11", "2"]])) == BUFFERED
    assert book.on_snapshot(101, [["9", "5"]], []) is True  # 95-99 dropped (u <= 101), 100-104 straddles 102
    assert book.bids == {9.0: 5.0, 10.0: 1.0, 11.0: 2.0} and book.last_update_id == 106
    assert book.stale == 1 and book.applied == 2
    assert book.on_diff(spot(107, 107, [["10", "0"]])) == APPLIED and 10.0 not in book.bids
    assert book.on_diff(spot(100, 105)) == STALE
    assert book.on_diff(spot(109, 110)) == GAP  # 108 missing
    [gap] = book.gaps
    assert (gap.expected, gap.got) == (108, 109) and book.needs_snapshot and book.buffered == 1


def test_futures_rules_use_pu() -> None:
    book = DepthSync("BTCUSDT")
    book.on_diff(fut(90, 100, 89))
    assert book.on_snapshot(95, [], []) is True and book.last_update_id == 100  # U <= 95 <= u
    assert book.on_diff(fut(101, 120, 100)) == APPLIED
    assert book.on_diff(fut(130, 140, 125)) == GAP and book.gaps[0].previous == 125
    book.on_diff(fut(141, 150, 140))
    assert book.on_snapshot(140, [["1", "1"]], []) is True  # the diff with pu == 140 continues the snapshot
    assert book.last_update_id == 150 and book.synced


def test_a_snapshot_older_than_the_buffer_is_refused_and_the_buffer_is_bounded() -> None:
    book = DepthSync("BTCUSDT", max_buffer=3)
    for i in range(5):
        book.on_diff(spot(100 + 10 * i, 109 + 10 * i))
    assert book.buffered == 3 and book.overflowed == 2
    assert book.on_snapshot(110, [], []) is False and not book.synced  # oldest kept diff starts at 120
    assert book.on_snapshot(125, [], []) is True and book.last_update_id == 149


def test_hub_conflates_bars_per_bar_and_drops_oldest_trades() -> None:
    hub = Hub(maxsize=4)
    sub = hub.subscription(["bars_1m", "trades"], ["X:A"])
    for close in (1.0, 2.0, 3.0):
        hub.publish_bar("1m", {"listing_id": "X:A", "start": 60, "close": close})
    hub.publish_bar("1m", {"listing_id": "X:A", "start": 120, "close": 4.0})
    events, dropped = sub.drain()
    assert [(e.row["start"], e.row["close"]) for e in events] == [(60, 3.0), (120, 4.0)] and dropped == 0
    assert sub.conflated == {"bars_1m": 2}
    hub.publish_rows("trade", [{"listing_id": "X:A", "trade_id": str(i)} for i in range(10)])
    events, dropped = sub.drain()
    assert [e.row["trade_id"] for e in events] == ["6", "7", "8", "9"] and dropped == 6
    other = hub.subscription(["trades"], ["X:B"])
    hub.publish_rows("trade", [{"listing_id": "X:A", "trade_id": "x"}])
    assert other.pending == 0 and sub.pending == 1
    sub.close()
    assert hub.counters()["subscribers"] == 1


def test_frames_encode_each_event_once_and_decode_in_both_formats() -> None:
    evs = [Event("trades", "X:A", {"listing_id": "X:A", "price": 1.5, "size": float("nan")}) for _ in range(20)]
    j = decode_frame(encode_frame(evs, "json", dropped=3))
    m = decode_frame(encode_frame(evs, "msgpack", dropped=3))
    assert j == m == {"dropped": 3, "events": [{"channel": "trades", "listing_id": "X:A", "price": 1.5,
                                                 "size": None}] * 20}
    assert decode_frame(encode_frame(evs[:1], "msgpack")) == {"events": [evs[0].to_dict()]}
    assert evs[0].json() is evs[0].json() and msgpack.unpackb(evs[0].msgpack())["price"] == 1.5


def test_adapters_refuse_what_they_cannot_read() -> None:
    b = Binance(["btcusdt@trade"])
    with pytest.raises(Unparseable, match="data"):
        b.parse({"stream": "x"}, 0, 1)
    with pytest.raises(Unparseable, match="unknown Binance event"):
        b.parse({"stream": "x", "data": {"e": "kline"}}, 0, 1)
    with pytest.raises(KeyError):
        b.parse({"stream": "x", "data": {"e": "trade", "s": "BTCUSDT"}}, 0, 1)
    assert b.parse({"result": None, "id": 1}, 0, 1) == []
    c = Coinbase(["BTC-USD"])
    rows = c.parse({"type": "match", "product_id": "BTC-USD", "trade_id": 7, "sequence": 70, "side": "sell",
                    "price": "100.5", "size": "0.1", "time": "2021-04-17T16:43:37.241117Z"}, 5, 1)
    [(kind, [row])] = rows
    assert kind == "trade" and row["ts_event"] == 1618677817241117000 and row["side"] == 1
    c.parse({"type": "match", "product_id": "BTC-USD", "trade_id": 9, "sequence": 90, "side": "buy",
             "price": "100.5", "size": "0.1", "time": "2021-04-17T16:43:38Z"}, 6, 2)
    assert c.gaps[-1]["expected"] == 8 and c.gaps[-1]["got"] == 9
    assert json.loads(c.subscribe_messages()[0])["type"] == "subscribe"


def test_hub_chunks_keep_the_policies_per_event_and_encode_like_single_events() -> None:
    """publish_rows queues one chunk per listing and call; drains split a chunk at the frame limit, a newer quote
    chunk of a listing replaces a pending one (counted per event), and the frame bytes equal those of events."""
    from marketwire.stream.hub import Chunk

    hub = Hub(maxsize=100)
    sub = hub.subscription(["quotes", "trades"], ["X:A", "X:B"])
    wild = hub.subscription(["quotes"], ["*"])
    q = [{"listing_id": li, "bid_price": float(i), "ask_price": float("nan"), "seq": i}
         for i in range(6) for li in ("X:A", "X:B", "X:C")]
    assert hub.publish_rows("quote", q) == 12 + 18
    assert sub.pending == 12 and wild.pending == 18
    hub.publish_rows("quote", [{"listing_id": "X:A", "bid_price": 9.0, "seq": 9}])  # replaces A's 6 pending
    assert sub.conflated == {"quotes": 6} and sub.pending == 7
    body, n, dropped = sub.drain_json(limit=4)  # A's slot keeps its place with the newer chunk; B's is split
    assert n == 4 and dropped == 0
    events, _ = sub.drain(limit=10)
    assert [(e.listing, e.row["seq"]) for e in events] == [("X:B", 3), ("X:B", 4), ("X:B", 5)]
    assert sub.pending == 0
    frame = decode_frame(b'{"events":[' + body + b"]}")
    assert frame == {"events": [{"channel": "quotes", "listing_id": "X:A", "bid_price": 9.0, "seq": 9}] + [
        {"channel": "quotes", "listing_id": "X:B", "bid_price": float(i), "ask_price": None, "seq": i}
        for i in range(3)]}
    c = Chunk("quotes", "X:C", [r for r in q if r["listing_id"] == "X:C"])
    assert c.json() == b",".join(e.json() for e in c.events())
    assert sub.delivered == {"quotes": 7} and hub.published == {"quotes": 19}


def test_a_connection_written_directly_conflates_quotes_only_while_behind() -> None:
    """Quotes pending for a connection the hub writes itself all go out once the loop iteration's publishes are done:
    none is superseded until a write could not be taken (the socket's buffer full); then a newer quote of a listing
    replaces the pending one until everything pending went out. The connections are written in the order they were
    woken, starting one further at each flush."""
    asyncio.run(_direct_writes())


async def _direct_writes() -> None:
    hub = Hub(maxsize=100)
    written: list[bytes] = []
    full = [False]
    sub = hub.subscription(["quotes"], ["X:A"])

    def sink() -> bool:
        if full[0]:
            return False
        body, n, _ = sub.drain_json()
        written.append(body)
        return True

    sub.sink = sink
    for i in range(3):
        hub.publish_rows("quote", [{"listing_id": "X:A", "seq": i}])
    assert sub.pending == 3 and sub.conflated == {} and not sub.behind
    await asyncio.sleep(0)  # the flush
    assert [json.loads(b"[" + b + b"]") for b in written] == [[{"channel": "quotes", "listing_id": "X:A", "seq": i}
                                                             for i in range(3)]]
    assert hub.frames == 1 and hub.flushes == 1 and sub.pending == 0
    full[0] = True
    hub.publish_rows("quote", [{"listing_id": "X:A", "seq": 3}])
    await asyncio.sleep(0)
    assert sub.behind and sub.pending == 1 and hub.frames == 1 and hub.flushes == 2
    for i in (4, 5):
        hub.publish_rows("quote", [{"listing_id": "X:A", "seq": i}])
    assert sub.conflated == {"quotes": 2} and sub.pending == 1
    full[0] = False
    assert sub.write_out() and not sub.behind
    assert json.loads(b"[" + written[-1] + b"]") == [{"channel": "quotes", "listing_id": "X:A", "seq": 5}]
    hub.publish_rows("quote", [{"listing_id": "X:A", "seq": 6}])
    hub.publish_rows("quote", [{"listing_id": "X:A", "seq": 7}])
    assert sub.pending == 2 and sub.conflated == {"quotes": 2}
    # fairness: three connections woken in one order are written starting one further at each flush
    order: list[str] = []
    hub2 = Hub()
    for li in ("X:A", "X:B", "X:C"):
        s = hub2.subscription(["trades"], [li])
        s.sink = (lambda s=s, li=li: (order.append(li), s.drain_json())[0] is None)
    for _ in range(3):
        hub2.publish_rows("trade", [{"listing_id": li} for li in ("X:A", "X:B", "X:C")])
        await asyncio.sleep(0)
    assert order == ["X:A", "X:B", "X:C", "X:B", "X:C", "X:A", "X:C", "X:A", "X:B"]
    assert hub2.frames == 9 and hub2.flushes == 3


def test_the_live_bridge_publishes_the_messages_of_one_loop_iteration_together() -> None:
    """The NATS bridge queues the rows of the messages it reads in one loop iteration and publishes them together
    once they are in, at the start of the hub's flush that writes them: one chunk per listing and channel for all of
    them, so that a server behind (many messages waiting) pays less per event, not more."""
    from marketwire.stream.bus import bridge

    class Tail:
        async def tail(self, channels: list[str], on_rows: object, on_encoded: object = None) -> list[object]:
            self.on_rows, self.on_encoded = on_rows, on_encoded
            return []

    async def go() -> None:
        hub = Hub()
        sub = hub.subscription(["trades", "quotes"], ["X:A"])
        wild = hub.subscription(["trades"], ["*"])
        direct = hub.subscription(["trades"], ["X:B"])
        written: list[bytes] = []
        direct.sink = lambda: written.append(direct.drain_json()[0]) is None
        bus = Tail()
        await bridge(bus, hub, ["trades", "quotes"])  # type: ignore[arg-type]
        bus.on_rows("trades", None, [{"listing_id": "X:A", "trade_id": "1"}, {"listing_id": "X:B", "trade_id": "2"}])
        bus.on_rows("trades", "X:A", [{"listing_id": "X:A", "trade_id": "3"}])
        bus.on_rows("quotes", "X:A", [{"listing_id": "X:A", "seq": 1}])
        # a JSON-lines message: its sections go to the frames undecoded, in the same flush
        bus.on_encoded("trades", [("X:B", [b'{"listing_id":"X:B","trade_id":"4"}']),
                                  ("X:A", [b'{"listing_id":"X:A","trade_id":"5"}'])])
        assert sub.pending == 0 and hub.published == {}
        await asyncio.sleep(0)  # one loop iteration: published at the start of the hub's flush, and written in it
        assert hub.published == {"trades": 5, "quotes": 1}
        assert written == [b'{"channel":"trades","listing_id":"X:B","trade_id":"2"},'
                           b'{"channel":"trades","listing_id":"X:B","trade_id":"4"}'] and hub.flushes == 1
        assert sub.pending == 4 and len(sub._q) == 3  # X:A's two trades in one chunk, its quote, the encoded trade
        assert wild.pending == 5 and len(wild._q) == 4  # one chunk per listing and message kind
        events, _ = sub.drain()
        assert [e.row.get("trade_id", e.row.get("seq")) for e in events] == ["1", "3", 1, "5"]

    asyncio.run(go())
