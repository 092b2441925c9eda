"""Serving realtime events through a real uvicorn server on 127.0.0.1: WebSocket /v1/stream (JSON and msgpack),
Server-Sent Events, the SDK's subscribe (remote and embedded), channel policies and counters for slow consumers.

The events are real: Binance USD-M trades and book tickers of the captured session, normalised by the live client's
adapter."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import shared_data
from marketwire.stream.hub import Hub, decode_frame, subscribe
from marketwire.stream.live import Binance

pytestmark = pytest.mark.integration

CAPTURE = shared_data() / "realtime" / "hftbacktest_binance_ws" / "usdm"


def _rows(name: str, limit: int) -> list[tuple[str, list[dict[str, Any]]]]:
    path = CAPTURE / name
    if not path.is_file():
        pytest.skip(f"Binance capture not found at {path} (set MARKETWIRE_DATA)")
    ad = Binance(["x"], market="usdm")
    out: list[tuple[str, list[dict[str, Any]]]] = []
    with gzip.open(path, "rt") as f:
        for i, line in enumerate(f):
            _, _, raw = line.partition(" ")
            if '"@depth' in raw[:60] or '"stream"' not in raw[:20]:
                continue
            out.extend(ad.parse(json.loads(raw), time.time_ns(), i))
            if len(out) >= limit:
                break
    return out


@pytest.fixture(scope="module")
def events() -> list[tuple[str, list[dict[str, Any]]]]:
    return _rows("btcusdt_20240808.gz", 3000) + _rows("ethusdt_20240808.gz", 3000)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from support.servers import LiveServer

    s = LiveServer(tmp_path_factory.mktemp("stream-serve")).start()
    try:
        yield s
    finally:
        s.stop()


def _hub(server: Any) -> Hub:
    from marketwire.serve.api_stream import stream_hub

    return server.call(lambda: stream_hub(server.app))


def _publish(server: Any, items: list[tuple[str, list[dict[str, Any]]]]) -> None:
    hub = _hub(server)
    server.call(lambda: [hub.publish_rows(k, r) for k, r in items])


async def _ws_collect(url: str, sub: dict[str, Any], until: int, publish: Any, timeout: float = 10) -> list[Any]:
    from websockets.asyncio.client import connect

    frames: list[Any] = []
    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps(sub))
        frames.append(decode_frame(await ws.recv()))  # the acknowledgement
        await asyncio.get_running_loop().run_in_executor(None, publish)
        got = 0
        deadline = time.monotonic() + timeout
        while got < until and time.monotonic() < deadline:
            try:
                f = decode_frame(await asyncio.wait_for(ws.recv(), 1.5))
            except (TimeoutError, asyncio.TimeoutError):
                break  # nothing more is coming
            frames.append(f)
            got += len(f.get("events", ()))
    return frames


def test_websocket_json_delivers_each_subscribed_event_once_in_order(server: Any, events: list[Any]) -> None:
    from marketwire.stream.hub import MAX_FRAME

    trades = [r for k, rows in events if k == "trade" for r in rows if r["listing_id"] == "binance:BTCUSDT"]
    direct = _hub(server).frames
    frames = asyncio.run(_ws_collect(server.ws, {"op": "subscribe", "channels": ["trades"],
                                                 "ids": ["binance:BTCUSDT"]}, len(trades),
                                     lambda: _publish(server, events)))
    assert frames[0] == {"subscribed": ["trades:binance:BTCUSDT"]}
    # written straight to the socket by the hub (uvicorn's websockets-sansio), never over the frame limit
    assert _hub(server).frames > direct and all(len(f["events"]) <= MAX_FRAME for f in frames[1:])
    got = [e for f in frames[1:] for e in f["events"]]
    assert [e["trade_id"] for e in got] == [t["trade_id"] for t in trades]
    assert {e["channel"] for e in got} == {"trades"}
    assert got[0]["price"] == trades[0]["price"] and got[-1]["size"] == trades[-1]["size"]
    assert all(e["listing_id"] == "binance:BTCUSDT" for e in got)


def test_websocket_msgpack_wildcard_and_every_channel(server: Any, events: list[Any]) -> None:
    n = sum(len(r) for _, r in events)
    frames = asyncio.run(_ws_collect(server.ws + "?format=msgpack", {"op": "subscribe", "channels":
                                     ["trades", "quotes"], "ids": "*"}, n, lambda: _publish(server, events)))
    assert frames[0] == {"subscribed": ["trades:*", "quotes:*"]}
    got = [e for f in frames[1:] for e in f["events"]]
    assert not any(f.get("dropped") for f in frames)
    # trades are never conflated: every one arrives, in order; quotes conflate per listing when the subscriber lags
    sent_trades = [r["trade_id"] for k, rows in events if k == "trade" for r in rows]
    assert [e["trade_id"] for e in got if e["channel"] == "trades"] == sent_trades
    n_quotes = sum(len(r) for k, r in events if k == "quote")
    got_quotes = [e for e in got if e["channel"] == "quotes"]
    assert 0 < len(got_quotes) <= n_quotes
    assert got_quotes[-1]["seq"] == [r for k, rows in events if k == "quote" for r in rows][-1]["seq"]
    assert {e["listing_id"] for e in got} == {"binance:BTCUSDT", "binance:ETHUSDT"}
    assert {e["channel"] for e in got} == {"trades", "quotes"}


def test_websocket_refuses_bad_requests_without_closing(server: Any) -> None:
    from websockets.asyncio.client import connect

    async def go() -> list[Any]:
        async with connect(server.ws) as ws:
            out = []
            await ws.send(b"\xff\xfe binary garbage")
            out_bin = decode_frame(await ws.recv())
            assert out_bin["error"]["code"] == "invalid_input"
            for msg in ('{"op":"subscribe","channels":["ticks"],"ids":["*"]}', "not json", '{"op":"nope"}',
                        '{"op":"subscribe","channels":"trades","ids":"binance:ETHUSDT"}',
                        '{"op":"unsubscribe","channels":["trades"],"ids":["binance:ETHUSDT"]}', '{"op":"stats"}'):
                await ws.send(msg)
                out.append(decode_frame(await ws.recv()))
            return out

    bad_channel, not_json, bad_op, ok, unsub, stats = asyncio.run(go())
    assert bad_channel["error"]["code"] == "invalid_input" and bad_channel["error"]["param"] == "channels"
    assert "ticks" in bad_channel["error"]["message"]
    assert not_json["error"]["code"] == "invalid_input" and "Traceback" not in json.dumps(not_json)
    assert "nope" in bad_op["error"]["message"]
    assert ok == {"subscribed": ["trades:binance:ETHUSDT"]}
    assert unsub == {"unsubscribed": ["trades:binance:ETHUSDT"]}
    assert stats["stats"]["subscriptions"] == []


def test_sse_streams_events_for_browsers(server: Any, events: list[Any]) -> None:
    import threading

    want = [r for k, rows in events if k == "trade" for r in rows if r["listing_id"] == "binance:ETHUSDT"]
    hub = _hub(server)
    before = server.call(lambda: hub.counters()["subscribers"])

    def publish_once_subscribed() -> None:
        deadline = time.monotonic() + 20
        while server.call(lambda: hub.counters()["subscribers"]) <= before and time.monotonic() < deadline:
            time.sleep(0.02)
        _publish(server, events)

    timer = threading.Thread(target=publish_once_subscribed)
    timer.start()
    got: list[dict[str, Any]] = []
    with httpx.Client(trust_env=False, timeout=10) as http, \
            http.stream("GET", f"{server.http}/v1/stream/sse", params={"channels": "trades",
                                                                       "ids": "binance:ETHUSDT",
                                                                       "seconds": "4"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "trades":
                got.append(json.loads(line[6:]))
                if len(got) == len(want):
                    break
    timer.join()
    assert [e["trade_id"] for e in got] == [t["trade_id"] for t in want]


def test_sse_refuses_an_unknown_channel_with_the_error_envelope(server: Any) -> None:
    r = httpx.get(f"{server.http}/v1/stream/sse", params={"channels": "trades,candles"}, trust_env=False)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_input"
    assert "candles" in r.json()["error"]["message"]


def test_sdk_subscribe_remote_and_embedded(server: Any, events: list[Any]) -> None:
    want = [r for k, rows in events if k == "trade" for r in rows if r["listing_id"] == "binance:BTCUSDT"][:200]

    async def remote() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        it = subscribe(None, ["trades"], ["binance:BTCUSDT"], url=server.ws, fmt="msgpack")
        first = asyncio.ensure_future(it.__anext__())
        await asyncio.sleep(0.3)  # subscribed before publishing
        await asyncio.get_running_loop().run_in_executor(None, lambda: _publish(server, events))
        out.append(await first)
        async for ev in it:
            out.append(ev)
            if len(out) == len(want):
                break
        await it.aclose()
        return out

    got = asyncio.run(remote())
    assert [e["trade_id"] for e in got] == [t["trade_id"] for t in want]

    async def embedded() -> list[dict[str, Any]]:
        hub = Hub()
        it = subscribe(hub, "trades", "*")
        task = asyncio.ensure_future(it.__anext__())
        await asyncio.sleep(0)
        for k, rows in events:
            hub.publish_rows(k, rows)
        out = [await task]
        async for ev in it:
            out.append(ev)
            if len(out) == 50:
                break
        await it.aclose()
        return out

    got = asyncio.run(embedded())
    assert [e["trade_id"] for e in got] == [r["trade_id"] for k, rows in events if k == "trade" for r in rows][:50]


def test_slow_consumer_never_slows_ingest_and_counts_what_it_lost(events: list[Any]) -> None:
    hub = Hub(maxsize=500)
    slow = hub.subscription(["trades", "quotes"], ["*"])  # never reads
    fast = hub.subscription(["trades"], ["binance:BTCUSDT"], maxsize=100_000)
    t = time.perf_counter()
    for k, rows in events:
        hub.publish_rows(k, rows)
    elapsed = time.perf_counter() - t
    n_trades = sum(len(r) for k, r in events if k == "trade")
    n_quotes = sum(len(r) for k, r in events if k == "quote")
    c = slow.counters()
    # quotes conflated per listing: at most one pending quote per listing; trades: the newest 498 or so kept
    assert c["conflated"]["quotes"] >= n_quotes - 2 - c["dropped"].get("quotes", 0)
    assert c["pending"] == 500
    assert c["dropped"]["trades"] + c["pending"] >= n_trades
    drained, dropped = slow.drain(10_000)
    assert dropped == sum(c["dropped"].values())
    trades_kept = [e.row["trade_id"] for e in drained if e.channel == "trades"]
    all_trades = [r["trade_id"] for k, rows in events if k == "trade" for r in rows]
    assert trades_kept == all_trades[-len(trades_kept):]  # drop-oldest: the newest survive, in order
    assert len([e for e in drained if e.channel == "quotes"]) <= 2
    assert fast.pending == sum(1 for k, r in events if k == "trade" for x in r if x["listing_id"] == "binance:BTCUSDT")
    assert hub.counters()["dropped"]["trades"] == c["dropped"]["trades"]
    assert elapsed < 2.0, f"publishing {sum(len(r) for _, r in events)} events took {elapsed:.2f} s"


def test_websocket_refuses_a_bad_key_before_the_handshake(server: Any) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async def go(headers: dict[str, str]) -> int:
        try:
            async with connect(server.ws, additional_headers=headers):
                return 101
        except InvalidStatus as e:
            return int(e.response.status_code)

    assert asyncio.run(go({"Authorization": "Bearer mwk_not_a_key"})) == 403
    assert asyncio.run(go({"Authorization": "Basic dXNlcjpwdw=="})) == 403
    assert asyncio.run(go({})) == 101  # loopback without --require-keys: open like REST
