"""The live feed client against a loopback WebSocket server playing captured sessions (Binance spot and USD-M,
Coinbase, Kraken, Bitstamp) with injected drops, disconnects and garbage; and the Binance depth rules on the captured
depth streams with injected drops.

What must hold: a disconnect is followed by a reconnect with backoff and a resubscription, and is recorded as a
gap; a dropped depth diff is detected as a gap and the book is resynced from a snapshot, after which it equals the
book of the uninterrupted stream; a dropped trade is a trade-id gap; garbage is quarantined with its raw bytes, the
feed and the position, and the stream goes on; every message the server sent becomes events (nothing lost)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import shared_data
from marketwire.stream.depth_sync import capture_session, replay_with_drops
from marketwire.stream.live import Backoff, Binance, Bitstamp, Coinbase, Kraken, LiveFeed, http_snapshot, position_text

pytestmark = pytest.mark.integration

REALTIME = shared_data() / "realtime"
BINANCE = REALTIME / "hftbacktest_binance_ws"
CRYPTOFEED = REALTIME / "cryptofeed_ws_captures"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"capture not found at {path} (set MARKETWIRE_DATA)")
    return path


# -- the depth rules on the captured streams -----------------------------------------------------------------------

@pytest.mark.parametrize("market,name", [("spot", "btcusdt_20240808.gz"), ("usdm", "ethusdt_20240808.gz"),
                                         ("cm", "btcusd_perp_20240808.gz")])
def test_depth_drops_are_detected_and_the_resynced_book_equals_the_uninterrupted_one(market: str, name: str) -> None:
    session = capture_session(need(BINANCE / market / name))
    diffs = sum(1 for k, _ in session if k == "diff")
    if market != "spot":
        session = session[:3000]  # futures: the first 3,000 messages (the snapshot is among them)
        diffs = sum(1 for k, _ in session if k == "diff")
    rng = random.Random(12)
    drops = set(rng.sample(range(diffs), max(5, diffs // 150)))
    rep = replay_with_drops(session, drops, delay=4)
    assert rep.dropped == len(drops)
    # every run of drops while in sync was detected, once; a drop while a resync was pending may add one more gap
    assert rep.drop_runs_while_synced <= rep.gaps <= rep.dropped and rep.drop_runs_while_synced > 0
    assert rep.resyncs == rep.gaps
    assert rep.mismatches == 0 and rep.checks == rep.resyncs + 1
    assert rep.equal_at_end and rep.levels_at_end > 100


def test_without_drops_nothing_is_resynced_and_a_stale_snapshot_is_refused() -> None:
    from marketwire.stream.depth_sync import DepthSync

    session = capture_session(need(BINANCE / "spot" / "btcusdt_20240808.gz"))
    rep = replay_with_drops(session, set())
    assert (rep.gaps, rep.resyncs, rep.snapshots, rep.mismatches) == (0, 0, 1, 0) and rep.equal_at_end
    diffs = [d for k, d in session if k == "diff"]
    book = DepthSync("BTCUSDT")
    for d in diffs[100:110]:
        book.on_diff(d)
    # a snapshot older than every buffered diff cannot be bridged: refused, the buffer is kept
    assert book.on_snapshot(int(diffs[50]["u"]), [], []) is False and book.buffered == 10 and not book.synced
    assert book.on_snapshot(int(diffs[104]["u"]), [["1", "1"]], [["2", "1"]]) is True
    assert book.last_update_id == int(diffs[109]["u"]) and book.stale == 5 and book.applied == 5


# -- the live client against a loopback server ---------------------------------------------------------------------

async def _run(server: Any, feed: LiveFeed, expect: Any, timeout: float = 30) -> None:
    task = asyncio.ensure_future(feed.run())
    deadline = time.monotonic() + timeout
    while not expect():
        assert time.monotonic() < deadline, (feed.stats.to_dict(), len(server.sent))
        assert not task.done(), task.exception()
        await asyncio.sleep(0.02)
    feed.stop()
    await asyncio.wait_for(task, 5)
    await server.stop()


def test_binance_client_reconnects_resubscribes_records_gaps_and_resyncs_the_book() -> None:
    from support.ws_replay import ReplayServer, binance_session

    session = binance_session(need(BINANCE / "spot" / "btcusdt_20240808.gz"), limit=6000)
    depth = [i for i, s in enumerate(session.streams) if s and "@depth" in s]
    trades = [i for i, s in enumerate(session.streams) if s and s.endswith("@trade")]
    first_snapshot = min(session.snapshots)
    late = [i for i in depth if i > first_snapshot + 200]
    drops = {late[10], late[11], late[200], trades[-100]}
    disconnect_at = late[400]
    garbage_at = late[300]
    server = ReplayServer(session, drops=drops, disconnects={disconnect_at: 40},
                          garbage={garbage_at: b"\xff{not json"})
    events: dict[str, list[dict[str, Any]]] = {"trade": [], "quote": [], "book": []}
    gaps: list[dict[str, Any]] = []

    async def go() -> LiveFeed:
        url = await server.start()
        adapter = Binance(sorted({s for s in session.streams if s}), market="spot",
                          snapshot=http_snapshot(server.http, "spot"))
        feed = LiveFeed(url, adapter, on_events=lambda k, rows: events[k].extend(rows), on_gap=gaps.append,
                        backoff=Backoff(initial=0.02, maximum=0.2), idle_timeout=5)

        def finished() -> bool:
            book = adapter.books.get("BTCUSDT")
            return (server.done.is_set() and feed.stats.messages >= len(server.sent) + 1 + 2
                    and book is not None and book.synced)

        await _run(server, feed, finished)
        return feed

    feed = asyncio.run(go())
    # reconnected once, with backoff, and resubscribed on the new connection
    assert feed.stats.connects == 2 and feed.stats.disconnects == 1 and len(feed.stats.waits) == 1
    assert 0.01 <= feed.stats.waits[0] <= 0.02
    assert [json.loads(s[0])["method"] for s in server.subscribes] == ["SUBSCRIBE", "SUBSCRIBE"]
    # every gap recorded: the disconnect, the book broken by it, the dropped diffs, the dropped trade
    reasons = [(g["kind"], g["reason"].split(":")[0]) for g in gaps]
    assert ("connection", "disconnected") in reasons and ("book", "disconnected") in reasons
    book_gaps = [g for g in gaps if g["kind"] == "book" and g["reason"] != "disconnected"]
    assert len(book_gaps) == 2, book_gaps  # late[10..11] is one run, late[200] another
    assert any(g["kind"] == "trade" for g in gaps)
    assert gaps == feed.gaps
    # garbage quarantined with raw bytes, feed and position; the stream went on
    [ref] = feed.refusals
    assert ref.rule == "stream.unparseable" and ref.raw == "\\xff{not json" and ref.file == feed.url
    assert position_text(ref.line or 0).startswith("1:") and ref.source == "binance"
    # nothing the server sent was lost: every trade it sent is an event, in order
    sent_trades = [json.loads(session.messages[i])["data"]["t"] for i in server.sent if i in set(trades)]
    assert [int(r["trade_id"]) for r in events["trade"]] == sent_trades
    assert len(events["quote"]) == sum(1 for i in server.sent if session.streams[i].endswith("@bookTicker"))
    # the book resynced after every gap equals the uninterrupted book at the end
    book = feed.adapter.books["BTCUSDT"]  # type: ignore[attr-defined]
    ref_book = server.reference_book("BTCUSDT")
    assert book.synced and book.last_update_id == ref_book.last_update_id
    assert (book.bids, book.asks) == (ref_book.bids, ref_book.asks) and len(book.bids) > 100
    assert book.snapshots >= 3 and server.snapshot_requests == book.snapshots
    resyncs = [r for r in events["book"] if r["snapshot"] and r["action"] == "R"]
    assert len(resyncs) == book.snapshots


@pytest.mark.parametrize("name,make", [
    ("COINBASE.ws.28.0", lambda subs: Coinbase(
        json.loads(subs[0])["product_ids"], [c for s in subs for c in json.loads(s)["channels"]])),
    ("KRAKEN.ws.50.0", lambda subs: Kraken(json.loads(subs[0])["pair"],
                                           [json.loads(s)["subscription"] for s in subs])),
    ("BITSTAMP.ws.1.0", lambda subs: Bitstamp([json.loads(s)["data"]["channel"] for s in subs])),
])
def test_cryptofeed_sessions_through_drops_and_disconnects(name: str, make: Any) -> None:
    from support.ws_replay import ReplayServer, cryptofeed_session

    session = cryptofeed_session(need(CRYPTOFEED / name))
    n = len(session.messages)
    disconnect_at, lost = n // 2, 25
    garbage_at = n // 3
    server = ReplayServer(session, disconnects={disconnect_at: lost}, garbage={garbage_at: b'{"truncated":'})
    events: list[tuple[str, dict[str, Any]]] = []
    adapter = make(session.subscribes)

    async def go() -> LiveFeed:
        url = await server.start()
        feed = LiveFeed(url, adapter, on_events=lambda k, rows: events.extend((k, r) for r in rows),
                        backoff=Backoff(initial=0.02, maximum=0.2), idle_timeout=5)
        await _run(server, feed, lambda: server.done.is_set() and feed.stats.messages >= len(server.sent) + 1)
        return feed

    feed = asyncio.run(go())
    assert feed.stats.connects == 2
    # the client resubscribed: the server plays nothing to a connection before its subscribe message
    assert len(server.subscribes) == 2 and all(s for s in server.subscribes)
    assert any(g["reason"].startswith("disconnected") for g in feed.gaps)
    assert len(server.sent) == n - lost
    [ref] = feed.refusals
    assert ref.raw == '{"truncated":' and ref.source == adapter.venue
    # every message sent was read: the client refused nothing but the garbage
    assert feed.stats.messages == len(server.sent) + 1
    kinds = {k for k, _ in events}
    assert "book" in kinds
    assert all(r["venue"] == adapter.venue and r["listing_id"].startswith(adapter.venue + ":") for _, r in events)
    prices = [r["price"] for k, r in events if k == "trade"]
    assert all(p > 0 for p in prices)
    if name.startswith("COINBASE"):
        sent_matches = sum(1 for i in server.sent if '"type":"match"' in session.messages[i]
                           or '"type":"last_match"' in session.messages[i])
        assert len(prices) == sent_matches > 0


def test_a_silent_connection_is_dropped_after_the_idle_timeout_and_reconnected() -> None:
    from support.ws_replay import ReplayServer, cryptofeed_session

    session = cryptofeed_session(need(CRYPTOFEED / "KRAKEN.ws.50.0"))
    server = ReplayServer(session, stalls={100})
    adapter = Kraken(json.loads(session.subscribes[0])["pair"], [json.loads(s)["subscription"]
                                                               for s in session.subscribes])

    async def go() -> LiveFeed:
        url = await server.start()
        feed = LiveFeed(url, adapter, on_events=lambda k, rows: None, backoff=Backoff(initial=0.02, maximum=0.2),
                        idle_timeout=0.3)
        await _run(server, feed, lambda: server.done.is_set() and feed.stats.messages >= len(server.sent))
        return feed

    feed = asyncio.run(go())
    assert feed.stats.connects == 2 and len(server.sent) == len(session.messages)
    [gap] = [g for g in feed.gaps if g["kind"] == "connection"]
    assert "no message for 0.3 s" in gap["reason"]


def test_stream_connect_cli_reads_a_live_feed_into_the_log(tmp_path: Path) -> None:
    """``marketwire stream connect`` against the loopback server: events verified into the log and queryable with
    ``marketwire ticks``; the garbage is in the quarantine; the disconnect is counted."""
    import subprocess
    import sys
    import threading

    from support.ws_replay import ReplayServer, binance_session

    session = binance_session(need(BINANCE / "usdm" / "btcusdt_20240808.gz"), limit=2500)
    server = ReplayServer(session, disconnects={1500: 20}, garbage={1000: b"\x00oops"})
    loop = asyncio.new_event_loop()
    urls: list[str] = []
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        urls.append(loop.run_until_complete(server.start()))
        started.set()
        loop.run_forever()

    threading.Thread(target=serve, daemon=True).start()
    assert started.wait(10)
    cli = [sys.executable, "-c", "from marketwire.cli import run; run()", "--home", str(tmp_path / "home")]
    try:
        run = subprocess.run([*cli, "stream", "connect", urls[0], "--venue", "binance", "--market", "usdm",
                              "--subscribe", "btcusdt@trade", "--subscribe", "btcusdt@bookTicker",
                              "--subscribe", "btcusdt@depth@0ms", "--rest", server.http, "--seconds", "5",
                              "--format", "json"], capture_output=True, text=True, timeout=120)
    finally:
        loop.call_soon_threadsafe(loop.stop)
    assert run.returncode == 0, run.stderr[-2000:]
    rep = json.loads(run.stdout)
    assert rep["connects"] == 2 and rep["disconnects"] == 1 and rep["refused"] == 1
    assert rep["acknowledged"] == rep["events"] > 0
    ticks = subprocess.run([*cli, "ticks", "BTC/USDT:PERP@BINANCE-USDM", "--format", "csv"], capture_output=True,
                           text=True, timeout=120)
    assert ticks.returncode == 0, ticks.stderr[-2000:]
    trade_ids = [line.split(",")[12] for line in ticks.stdout.splitlines()[1:]]
    sent = [str(json.loads(session.messages[i])["data"]["t"]) for i in server.sent
            if session.streams[i].endswith("@trade")]
    assert trade_ids == sent and len(sent) > 50
    quarantine = subprocess.run([*cli, "quarantine", "--format", "json"], capture_output=True, text=True,
                                timeout=120)
    assert quarantine.returncode == 0 and "stream.unparseable" in quarantine.stdout and "oops" in quarantine.stdout
