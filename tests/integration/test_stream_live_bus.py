"""NATS JetStream mode against the real server on 127.0.0.1:4222: one stream per event type, subjects by listing,
batches acknowledged by JetStream, consumers resuming from a sequence, and the bridge into the hub. Each test uses
its own stream names and subject root and deletes its streams afterwards."""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import Any

import pytest

from marketwire.stream.bus import Bus, bridge, listing_of_subject, subject_token
from marketwire.stream.hub import Hub

pytestmark = pytest.mark.integration

NATS = "nats://127.0.0.1:4222"


def _nats_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=1):
            return True
    except OSError:
        return False


def _rows(listing: str, n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"listing_id": listing, "ts_event": 1_700_000_000_000_000_000 + i, "ts_recv": 0, "seq": i,
             "venue": "binance", "flags": 0, "source": "test", "position": i, "price": 100.0 + i / 100,
             "size": 1.0 + i, "side": 1, "trade_id": str(i), "conditions": None} for i in range(start, start + n)]


@pytest.fixture()
def bus() -> Any:
    if not _nats_up():
        pytest.skip("NATS is not listening on 127.0.0.1:4222 (.ci/run starts it)")
    tag = uuid.uuid4().hex[:10]
    return Bus(NATS, prefix=f"MWTEST{tag}", subject_root=f"mwtest{tag}")


def test_subject_tokens_escape_what_nats_reserves() -> None:
    for listing in ("binance:BTC/USDT", "BRK.B@US", "a b*c>d~e", "MWL0001"):
        token = subject_token(listing)
        assert not set(".*> ") & set(token)
        assert listing_of_subject(token) == listing


def test_publish_acknowledged_then_resume_from_a_sequence(bus: Bus) -> None:
    async def go() -> tuple[Any, ...]:
        await bus.connect()
        try:
            seqs = []
            for k in range(5):  # 5 batches of 2 listings x 10 rows: 10 messages in MW_TRADES
                seqs.append(await bus.publish_rows("trade", _rows("binance:BTC.USDT", 10, k * 10)
                                                   + _rows("kraken:XBT/USD", 10, k * 10)))
            got: list[tuple[int, str, str, int]] = []
            subs = await bus.consume(["trades"], lambda s, c, li, rows: got.append((s, c, li, len(rows))),
                                     start_seq=1)
            await _until(lambda: len(got) == 10)
            for s in subs:
                await s.unsubscribe()
            resumed: list[tuple[int, str, list[dict[str, Any]]]] = []
            subs = await bus.consume(["trades"], lambda s, c, li, rows: resumed.append((s, li, rows)),
                                     start_seq=seqs[2] + 1)
            await _until(lambda: len(resumed) == 4)
            await asyncio.sleep(0.1)
            for s in subs:
                await s.unsubscribe()
            info = await bus.js.stream_info(bus.stream_name("trades"))
            return seqs, got, resumed, info.state.messages
        finally:
            await bus.delete_streams()
            await bus.close()

    seqs, got, resumed, stored = asyncio.run(go())
    assert seqs == [2, 4, 6, 8, 10] and stored == 10
    assert [g[0] for g in got] == list(range(1, 11))
    assert {g[2] for g in got} == {"binance:BTC.USDT", "kraken:XBT/USD"} and all(g[3] == 10 for g in got)
    # resumed after the third batch: exactly the last two batches, nothing before, nothing twice
    assert [r[0] for r in resumed] == [7, 8, 9, 10]
    assert [r["trade_id"] for s, li, rows in resumed if li == "binance:BTC.USDT" for r in rows] == \
        [str(i) for i in range(30, 50)]


def test_bridge_feeds_the_hub(bus: Bus) -> None:
    async def go() -> list[str]:
        await bus.connect()
        try:
            hub = Hub()
            sub = hub.subscription(["trades"], ["kraken:XBT/USD"])
            subs = await bridge(bus, hub, ["trades"])
            await bus.publish_rows("trade", _rows("binance:BTCUSDT", 5) + _rows("kraken:XBT/USD", 7))
            await _until(lambda: sub.pending == 7)
            for s in subs:
                await s.unsubscribe()
            events, _ = sub.drain()
            return [e.row["trade_id"] for e in events]
        finally:
            await bus.delete_streams()
            await bus.close()

    assert asyncio.run(go()) == [str(i) for i in range(7)]


def test_many_listings_share_messages_and_consumers_still_see_each_listing(bus: Bus) -> None:
    """A call over more than MULTI_AT listings is one message (subject ``~ALL``); a consumer of everything gets each
    listing's rows with that message's sequence, and a consumer of one listing (its subject + ``~ALL``) only its
    rows, in order, together with its own per-listing messages."""
    from marketwire.stream.bus import MULTI_AT

    listings = [f"venue:L{i}.X" for i in range(MULTI_AT + 3)]

    async def go() -> tuple[Any, ...]:
        await bus.connect()
        try:
            rows = [r for k in range(3) for li in listings for r in _rows(li, 1, k)]  # interleaved listings
            seq_all = await bus.publish_rows("trade", rows)
            seq_one = await bus.publish_rows("trade", _rows(listings[1], 2, 3))  # one listing: its own subject
            seq_two = await bus.publish_rows("trade", _rows(listings[2], 1, 5))
            everything: list[tuple[int, str, list[str]]] = []
            subs = await bus.consume(["trades"], lambda s, c, li, rs: everything.append(
                (s, li, [r["trade_id"] for r in rs])), start_seq=1)
            one: list[tuple[int, str, list[str]]] = []
            subs += await bus.consume(["trades"], lambda s, c, li, rs: one.append(
                (s, li, [r["trade_id"] for r in rs])), start_seq=1, listing=listings[1])
            await _until(lambda: len(everything) == len(listings) + 2 and len(one) == 2)
            await asyncio.sleep(0.1)
            for s in subs:
                await s.unsubscribe()
            info = await bus.js.stream_info(bus.stream_name("trades"))
            return seq_all, seq_one, seq_two, everything, one, info.state.messages
        finally:
            await bus.delete_streams()
            await bus.close()

    seq_all, seq_one, seq_two, everything, one, stored = asyncio.run(go())
    assert (seq_all, seq_one, seq_two, stored) == (1, 2, 3, 3)
    assert [e[1] for e in everything[:len(listings)]] == listings
    assert all(e[0] == 1 and e[2] == ["0", "1", "2"] for e in everything[:len(listings)])
    assert everything[len(listings):] == [(2, listings[1], ["3", "4"]), (3, listings[2], ["5"])]
    assert one == [(1, listings[1], ["0", "1", "2"]), (2, listings[1], ["3", "4"])]


def test_an_unreachable_bus_is_a_clear_error() -> None:
    from marketwire.errors import MarketwireError

    with pytest.raises(MarketwireError, match="cannot connect to NATS at nats://127.0.0.1:1"):
        asyncio.run(Bus("nats://127.0.0.1:1").connect())


async def _until(cond: Any, timeout: float = 10) -> None:
    from marketwire.stream.bus import wait_for

    await wait_for(cond, timeout)


def test_a_replay_through_the_stream_service_lands_on_the_bus(bus: Bus, tmp_path: Any) -> None:
    """The blocking publisher as a listener of the stream service: every batch a replay acknowledges is on the bus."""
    from conftest import shared_data

    import marketwire
    from marketwire.stream.bus import BlockingPublisher

    capture = shared_data() / "realtime" / "hftbacktest_binance_ws" / "spot" / "ethusdt_20240809.gz"
    if not capture.is_file():
        pytest.skip(f"capture not found at {capture}")
    publisher = BlockingPublisher(NATS, prefix=bus.prefix, subject_root=bus.root)
    try:
        mw = marketwire.open(tmp_path / "home")
        mw.stream.on_batch(publisher.publish_batch)
        rep = mw.stream.replay([str(capture)]).as_dict()
        assert rep["accepted"] > 1000

        async def count() -> tuple[int, int]:
            info_t = await publisher.bus.js.stream_info(bus.stream_name("trades"))
            info_q = await publisher.bus.js.stream_info(bus.stream_name("quotes"))
            return int(info_t.state.messages), int(info_q.state.messages)

        trades, quotes = publisher._call(count())
        assert trades > 0 and quotes > 0
        # every accepted event (trades, quotes, book levels) went to the bus, acknowledged by JetStream
        assert publisher.bus.published == rep["accepted"]
    finally:
        publisher._call(publisher.bus.delete_streams())
        publisher.close()


def test_cli_replay_with_bus_puts_every_accepted_trade_on_jetstream(tmp_path: Any) -> None:
    """`marketwire stream replay FILE --bus nats://...`: the trades JetStream stream grows by the accepted events
    of the replay (each batch acknowledged by JetStream before the replay goes on); an unreachable bus is a clear
    error, not a traceback."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from conftest import shared_data  # type: ignore[import-not-found]

    if not _nats_up():
        pytest.fail("NATS is not running on 127.0.0.1:4222 (the CI starts it)")
    zips = sorted((shared_data() / "realtime" / "lean" / "equity" / "usa" / "tick" / "ibm").glob("*_trade.zip"))
    if not zips:
        pytest.skip(f"no Lean trade files under {shared_data()}/realtime (set MARKETWIRE_DATA)")
    src = Path(__file__).resolve().parents[2] / "src"
    env = {**os.environ, "PYTHONPATH": str(src)}

    async def last_seq() -> int:
        b = Bus()
        await b.connect()
        try:
            return int((await b.js.stream_info(b.stream_name("trades"))).state.last_seq)
        finally:
            await b.close()

    async def events_after(seq: int, want: int) -> int:
        """How many trade events the stream holds after sequence ``seq`` (read back until ``want`` or 10 s)."""
        b = Bus()
        await b.connect()
        got = [0]
        try:
            subs = await b.consume(["trades"], lambda s, c, l, rows: got.__setitem__(0, got[0] + len(rows)),
                                   start_seq=seq + 1)
            for _ in range(200):
                if got[0] >= want:
                    break
                await asyncio.sleep(0.05)
            for sub in subs:
                await sub.unsubscribe()
            return got[0]
        finally:
            await b.close()

    before = asyncio.run(last_seq())
    r = subprocess.run([sys.executable, "-m", "marketwire.cli", "--home", str(tmp_path / "home"), "stream", "replay",
                        str(zips[0]), "--bus", "nats://127.0.0.1:4222", "--format", "json"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["accepted"] > 1000
    # batches per listing on the bus; every accepted event of the replay is in them, nothing else is
    assert asyncio.run(events_after(before, rep["accepted"])) == rep["accepted"]
    r = subprocess.run([sys.executable, "-m", "marketwire.cli", "--home", str(tmp_path / "home2"), "stream", "replay",
                        str(zips[0]), "--bus", "nats://127.0.0.1:4299"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0 and "4299" in r.stderr and "Traceback" not in r.stderr


def test_live_tail_speaks_the_protocol_to_the_real_server(bus: Bus) -> None:
    """The live tail (a connection of its own speaking the NATS protocol) gets each message as published: a
    JSON-lines message as its listings' rows (one call per listing), or undecoded to ``on_encoded``; a message of an
    earlier version (msgpack rows, here sent with headers: ``HMSG``) as rows, a many-listing one under ``None``;
    after ``unsubscribe`` nothing more arrives."""
    import msgpack
    import orjson

    async def go() -> tuple[list[Any], list[Any], int]:
        await bus.connect()
        try:
            got: list[tuple[str, str | None, list[str]]] = []
            encoded: list[tuple[str, list[tuple[str, list[bytes]]]]] = []
            subs = await bus.tail(["trades", "quotes"], lambda ch, li, rows: got.append(
                (ch, li, [r.get("trade_id", r.get("seq")) for r in rows])))
            enc_subs = await bus.tail(["trades"], lambda ch, li, rows: None,
                                      lambda ch, sections: encoded.append((ch, sections)))
            assert bus._tails and bus._tails[0].transport is not None  # the direct protocol path, not the library's
            await bus.publish_rows("trade", _rows("kraken:XBT/USD", 3))
            await bus.publish_rows("trade", [r for i in range(6) for r in _rows(f"v:L{i}", 1, i)])  # over MULTI_AT
            await bus.nc.publish(f"{bus.root}.quotes.{subject_token('BRK.B@US')}",
                                 msgpack.packb([{"listing_id": "BRK.B@US", "seq": 7}]), headers={"X-Test": "1"})
            await bus.nc.publish(f"{bus.root}.quotes.~ALL", msgpack.packb([{"listing_id": "A", "seq": 8},
                                                                            {"listing_id": "B", "seq": 9}]))
            await _until(lambda: len(got) == 9 and len(encoded) == 2)
            for s in subs + enc_subs:
                await s.unsubscribe()
            await bus.publish_rows("trade", _rows("kraken:XBT/USD", 2))
            await asyncio.sleep(0.2)
            return got, encoded, bus._tails[0].messages
        finally:
            await bus.delete_streams()
            await bus.close()

    got, encoded, messages = asyncio.run(go())
    assert got == [("trades", "kraken:XBT/USD", ["0", "1", "2"])] + [("trades", f"v:L{i}", [str(i)]) for i in range(6)] \
        + [("quotes", "BRK.B@US", [7]), ("quotes", None, [8, 9])]
    assert messages == 4
    # undecoded: each event's JSON as a frame carries it, grouped by listing
    assert [ch for ch, _ in encoded] == ["trades", "trades"]
    assert [li for li, _ in encoded[0][1]] == ["kraken:XBT/USD"]
    assert [li for li, _ in encoded[1][1]] == [f"v:L{i}" for i in range(6)]
    assert [orjson.loads(e) for e in encoded[0][1][0][1]] == _rows("kraken:XBT/USD", 3)
