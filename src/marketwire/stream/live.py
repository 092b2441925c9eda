"""The live WebSocket feed client: connect, subscribe, read, normalise; reconnect with backoff; record every gap.

One :class:`LiveFeed` holds one connection to one venue endpoint and a venue adapter (:class:`Binance`,
:class:`Coinbase`, :class:`Kraken`, :class:`Bitstamp`) that knows the venue's subscribe messages, turns each message
into event rows of the one event model (:mod:`marketwire.stream.events`: ``trade``, ``quote``, ``book`` rows with the
common columns) and checks the venue's sequence:

* **Reconnect**: a closed connection, a refused connect, a missed pong (``ping_interval`` / ``ping_timeout``) or no
  message for ``idle_timeout`` seconds ends the connection; the client waits an exponential backoff with jitter
  (:class:`Backoff`: ``initial * factor**attempt`` capped at ``maximum``, the wait drawn uniformly from its upper
  half) and connects again; the attempt count resets once a connection delivers a message.
* **Resubscription**: every connection sends the adapter's subscribe messages again.
* **Gaps**: a disconnect is recorded as a gap (``reason="disconnected"``: what arrived while the client was away is
  lost); so is a break in a venue sequence: Binance depth update ids (:mod:`marketwire.stream.depth_sync`, which then
  resyncs the book from a REST snapshot), Binance trade ids, Coinbase trade ids. Gaps go to ``on_gap`` as dicts and
  are kept in :attr:`LiveFeed.gaps`; the next events of the affected listing carry the ``seq_gap`` flag.
* **Bad input**: a message that is not JSON, or not a shape the adapter knows, is a :class:`~marketwire.sources.base.
  Refusal` (rule ``stream.unparseable``) with the raw text (bytes decoded with backslash escapes), the feed (URL)
  and the position (``connection:message``); it goes to ``on_refusal`` and the stream goes on.

Events go to ``on_events(kind, rows)`` in arrival order, one call per message; the caller appends them to the log
(where "acknowledged" means fsynced) or publishes them to the hub. Listing ids: ``listing_of(venue, symbol)``,
by default the provisional ``<venue>:<SYMBOL>`` (the identity service maps it where the master knows the pair).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from marketwire.sources.base import Refusal
from marketwire.stream.depth_sync import GAP, DepthSync

#: event flag bits (the values of marketwire.stream.events.FLAGS; repeated so this module needs no pyarrow)
SEQ_GAP = 1 << 3
BOOK_RESYNC = 1 << 9

Row = dict[str, Any]
Emit = Callable[[str, list[Row]], None]


def provisional_listing(venue: str, symbol: str) -> str:
    return f"{venue}:{symbol.upper()}"


@dataclass
class Backoff:
    """Exponential backoff with jitter: attempt ``n`` (0-based) waits between half and all of
    ``min(maximum, initial * factor**n)`` seconds."""

    initial: float = 0.25
    maximum: float = 30.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        cap = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return cap / 2 + self.rng.uniform(0, cap / 2)


class Unparseable(ValueError):
    """A message the adapter cannot read; ``field`` names what was missing or wrong."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# -- venue adapters ------------------------------------------------------------------------------------------

class Adapter:
    """A venue's subscribe messages, message normaliser and sequence checks. ``parse`` returns ``(kind, rows)``
    pairs; it raises :class:`Unparseable` (or ``KeyError``/``ValueError``/``TypeError``) for a message it cannot read."""

    venue = "?"

    def __init__(self, listing_of: Callable[[str, str], str] = provisional_listing) -> None:
        self.listing_of = listing_of
        self.gaps: list[dict[str, Any]] = []
        self._gapped: set[str] = set()

    def subscribe_messages(self) -> list[str]:
        raise NotImplementedError

    def parse(self, msg: Any, recv_ns: int, position: int) -> list[tuple[str, list[Row]]]:
        raise NotImplementedError

    def on_connect(self, reconnect: bool) -> None:
        """A connection opened; after a reconnect every sequence starts over (what was missed is a gap)."""

    # helpers
    def _gap(self, listing: str, kind: str, expected: int | None, got: int | None, reason: str) -> None:
        self.gaps.append({"kind": kind, "listing_id": listing, "venue": self.venue, "expected": expected, "got": got,
                          "reason": reason, "at_ns": time.time_ns()})
        self._gapped.add(listing)

    def _flags(self, listing: str) -> int:
        if listing in self._gapped:
            self._gapped.discard(listing)
            return SEQ_GAP
        return 0

    def _row(self, listing: str, ts_event: int, recv_ns: int, position: int, seq: int | None, **kw: Any) -> Row:
        return {"listing_id": listing, "ts_event": ts_event, "ts_recv": recv_ns, "seq": seq, "venue": self.venue,
                "flags": self._flags(listing), "source": self.venue, "position": position, **kw}


def _f(x: Any) -> float:
    return float(x)


class Binance(Adapter):
    """Binance combined streams (spot, USD-M, COIN-M): ``<symbol>@trade``, ``@bookTicker``, ``@depth@100ms`` /
    ``@depth@0ms``. Depth books are synced by :class:`~marketwire.stream.depth_sync.DepthSync`; ``snapshot`` is an
    async callable ``(symbol) -> REST depth answer`` used when a book needs one (see :func:`http_snapshot`)."""

    venue = "binance"

    def __init__(self, streams: Sequence[str], *, market: str = "spot",
                 snapshot: Callable[[str], Any] | None = None, venue: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.streams = [s.lower() for s in streams]
        self.market = market
        if venue:
            self.venue = venue
        self.snapshot = snapshot
        self.books: dict[str, DepthSync] = {}
        self._trade_ids: dict[str, int] = {}
        self._pending: dict[str, asyncio.Task[Any]] = {}
        self.emit: Emit | None = None  # set by LiveFeed: resync snapshots are emitted out of band

    def subscribe_messages(self) -> list[str]:
        return [json.dumps({"method": "SUBSCRIBE", "params": self.streams, "id": 1})]

    def on_connect(self, reconnect: bool) -> None:
        if reconnect:
            self._trade_ids.clear()
            for sym, book in self.books.items():
                if book.synced:  # what arrived while away is lost: the book needs a fresh snapshot
                    book.synced = False
                    self._gap(self.listing_of(self.venue, sym), "book", book.last_update_id, None, "disconnected")

    def parse(self, msg: Any, recv_ns: int, position: int) -> list[tuple[str, list[Row]]]:
        if isinstance(msg, dict) and "result" in msg and "id" in msg:
            return []  # the subscribe acknowledgement
        if not isinstance(msg, dict) or "data" not in msg:
            raise Unparseable("not a combined-stream message (no `data`)", "data")
        d = msg["data"]
        e = d.get("e") if isinstance(d, dict) else None
        if e == "trade":
            sym = d["s"]
            listing = self.listing_of(self.venue, sym)
            tid = int(d["t"])
            prev = self._trade_ids.get(sym)
            if prev is not None and tid != prev + 1 and tid > prev:
                self._gap(listing, "trade", prev + 1, tid, "trade id skipped")
            self._trade_ids[sym] = tid if prev is None else max(prev, tid)
            side = -1 if d.get("m") else 1  # m: the buyer was the maker, so the seller was the aggressor
            return [("trade", [self._row(listing, int(d["T"]) * 1_000_000, recv_ns, position, tid, price=_f(d["p"]),
                                         size=_f(d["q"]), side=side, trade_id=str(tid), conditions=d.get("X"))])]
        if e == "bookTicker" or (e is None and isinstance(d, dict) and {"b", "a", "u", "s"} <= d.keys()):
            listing = self.listing_of(self.venue, d["s"])
            ts = int(d.get("T") or d.get("E") or recv_ns // 1_000_000) * 1_000_000
            return [("quote", [self._row(listing, ts, recv_ns, position, int(d["u"]), bid_price=_f(d["b"]),
                                         bid_size=_f(d["B"]), ask_price=_f(d["a"]), ask_size=_f(d["A"]),
                                         conditions=None)])]
        if e == "depthUpdate":
            return self._depth(d, recv_ns, position)
        raise Unparseable(f"unknown Binance event {e!r}", "e")

    def _depth(self, d: Mapping[str, Any], recv_ns: int, position: int) -> list[tuple[str, list[Row]]]:
        sym = d["s"]
        int(d["U"]), int(d["u"])  # noqa: B018 - refuse a diff without its update ids before it touches the book
        book = self.books.get(sym)
        if book is None:
            book = self.books[sym] = DepthSync(sym, "futures" if "pu" in d else "spot")
        listing = self.listing_of(self.venue, sym)
        was = book.synced
        result = book.on_diff(d)
        if result == GAP:
            g = book.gaps[-1]
            self._gap(listing, "book", g.expected, g.got, g.reason)
        if book.needs_snapshot:
            self._want_snapshot(sym)
            return []
        if not was:
            return []
        if result != "applied":
            return []
        ts = int(d.get("T") or d["E"]) * 1_000_000
        flags = self._flags(listing)
        rows = [{"listing_id": listing, "ts_event": ts, "ts_recv": recv_ns, "seq": int(d["u"]), "venue": self.venue,
                 "flags": flags, "source": self.venue, "position": position, "side": side, "price": _f(p),
                 "size": _f(q), "action": "S", "order_id": None, "snapshot": False}
                for side, key in ((1, "b"), (-1, "a")) for p, q in d.get(key, ())]
        return [("book", rows)] if rows else []

    def _want_snapshot(self, sym: str) -> None:
        if self.snapshot is None or sym in self._pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._pending[sym] = loop.create_task(self._fetch(sym))

    async def _fetch(self, sym: str) -> None:
        book = self.books[sym]
        try:
            for _attempt in range(20):
                assert self.snapshot is not None
                answer = await self.snapshot(sym)
                if book.snapshot_message(answer):
                    self._emit_snapshot(sym, book)
                    return
                if book.synced:
                    return
                await asyncio.sleep(0.05)  # the snapshot was older than the buffered diffs: ask again
        finally:
            self._pending.pop(sym, None)

    def _emit_snapshot(self, sym: str, book: DepthSync) -> None:
        if self.emit is None:
            return
        listing = self.listing_of(self.venue, sym)
        now = time.time_ns()
        base = {"listing_id": listing, "ts_event": now, "ts_recv": now, "seq": book.last_update_id,
                "venue": self.venue, "flags": BOOK_RESYNC, "source": self.venue, "position": None,
                "order_id": None, "snapshot": True}
        rows = [{**base, "side": 0, "price": None, "size": None, "action": "R"}]
        rows += [{**base, "side": 1, "price": p, "size": q, "action": "S"} for p, q in book.bids.items()]
        rows += [{**base, "side": -1, "price": p, "size": q, "action": "S"} for p, q in book.asks.items()]
        self.emit("book", rows)


def _iso_ns(t: str) -> int:
    from datetime import datetime

    # Coinbase: 2021-04-17T16:43:37.241117Z (microseconds)
    dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


class Coinbase(Adapter):
    """Coinbase Exchange feed: ``matches`` (trades; trade ids per product are consecutive, a skip is a gap),
    ``ticker`` (best bid/ask), ``level2`` (book snapshot and updates)."""

    venue = "coinbase"

    def __init__(self, products: Sequence[str], channels: Sequence[str] = ("level2", "ticker", "matches"),
                 **kw: Any) -> None:
        super().__init__(**kw)
        self.products, self.channels = list(products), list(channels)
        self._trade_ids: dict[str, int] = {}

    def subscribe_messages(self) -> list[str]:
        return [json.dumps({"type": "subscribe", "product_ids": self.products, "channels": [c]})
                for c in self.channels]

    def on_connect(self, reconnect: bool) -> None:
        self._trade_ids.clear()

    def parse(self, msg: Any, recv_ns: int, position: int) -> list[tuple[str, list[Row]]]:
        if not isinstance(msg, dict) or "type" not in msg:
            raise Unparseable("no `type`", "type")
        t = msg["type"]
        if t in ("subscriptions", "heartbeat"):
            return []
        if t == "error":
            raise Unparseable(f"venue error: {msg.get('message')}", "message")
        product = msg["product_id"]
        listing = self.listing_of(self.venue, product)
        if t in ("match", "last_match"):
            tid = int(msg["trade_id"])
            prev = self._trade_ids.get(product)
            if prev is not None and tid > prev + 1:
                self._gap(listing, "trade", prev + 1, tid, "trade id skipped")
            self._trade_ids[product] = tid if prev is None else max(prev, tid)
            side = 1 if msg["side"] == "sell" else -1  # Coinbase names the maker's side
            return [("trade", [self._row(listing, _iso_ns(msg["time"]), recv_ns, position, int(msg["sequence"]),
                                         price=_f(msg["price"]), size=_f(msg["size"]), side=side,
                                         trade_id=str(tid), conditions=t)])]
        if t == "ticker":
            ts = _iso_ns(msg["time"]) if msg.get("time") else recv_ns
            nan = float("nan")
            return [("quote", [self._row(listing, ts, recv_ns, position, int(msg["sequence"]),
                                         bid_price=_f(msg["best_bid"]), bid_size=_f(msg.get("best_bid_size") or nan),
                                         ask_price=_f(msg["best_ask"]), ask_size=_f(msg.get("best_ask_size") or nan),
                                         conditions=None)])]
        if t == "snapshot":
            rows = [self._row(listing, recv_ns, recv_ns, position, None, side=0, price=None, size=None, action="R",
                              order_id=None, snapshot=True)]
            rows += [self._row(listing, recv_ns, recv_ns, position, None, side=s, price=_f(p), size=_f(q),
                               action="S", order_id=None, snapshot=True)
                     for s, key in ((1, "bids"), (-1, "asks")) for p, q in msg[key]]
            return [("book", rows)]
        if t == "l2update":
            ts = _iso_ns(msg["time"])
            return [("book", [self._row(listing, ts, recv_ns, position, None, side=1 if s == "buy" else -1,
                                        price=_f(p), size=_f(q), action="S", order_id=None, snapshot=False)
                              for s, p, q in msg["changes"]])]
        raise Unparseable(f"unknown Coinbase message type {t!r}", "type")


class Kraken(Adapter):
    """Kraken websocket v1: ``trade``, ``spread`` (best bid/ask) and ``book-N`` (snapshot ``as``/``bs``, updates
    ``a``/``b``). Kraken v1 carries no sequence: only disconnects are gaps."""

    venue = "kraken"

    def __init__(self, pairs: Sequence[str], subscriptions: Sequence[Mapping[str, Any]] = ({"name": "trade"},),
                 **kw: Any) -> None:
        super().__init__(**kw)
        self.pairs, self.subscriptions = list(pairs), list(subscriptions)

    def subscribe_messages(self) -> list[str]:
        return [json.dumps({"event": "subscribe", "pair": self.pairs, "subscription": dict(s)})
                for s in self.subscriptions]

    def parse(self, msg: Any, recv_ns: int, position: int) -> list[tuple[str, list[Row]]]:
        if isinstance(msg, dict):
            if msg.get("event") in ("heartbeat", "systemStatus", "subscriptionStatus", "pong"):
                if msg.get("status") == "error":
                    raise Unparseable(f"venue error: {msg.get('errorMessage')}", "errorMessage")
                return []
            raise Unparseable(f"unknown Kraken event {msg.get('event')!r}", "event")
        if not isinstance(msg, list) or len(msg) < 4:
            raise Unparseable("not a Kraken channel message [id, payload, name, pair]", None)
        name, pair = msg[-2], msg[-1]
        listing = self.listing_of(self.venue, str(pair))
        if name == "trade":
            return [("trade", [self._row(listing, int(float(t[2]) * 1e9), recv_ns, position, None, price=_f(t[0]),
                                         size=_f(t[1]), side=1 if t[3] == "b" else -1, trade_id=None,
                                         conditions=t[4]) for t in msg[1]])]
        if name == "spread":
            s = msg[1]
            return [("quote", [self._row(listing, int(float(s[2]) * 1e9), recv_ns, position, None,
                                         bid_price=_f(s[0]), bid_size=_f(s[3]), ask_price=_f(s[1]),
                                         ask_size=_f(s[4]), conditions=None)])]
        if str(name).startswith("book"):
            rows: list[Row] = []
            for payload in msg[1:-2]:
                snap = "as" in payload or "bs" in payload
                if snap:
                    rows.append(self._row(listing, recv_ns, recv_ns, position, None, side=0, price=None, size=None,
                                          action="R", order_id=None, snapshot=True))
                for key, side in (("as", -1), ("bs", 1), ("a", -1), ("b", 1)):
                    for lvl in payload.get(key, ()):
                        rows.append(self._row(listing, int(float(lvl[2]) * 1e9), recv_ns, position, None, side=side,
                                              price=_f(lvl[0]), size=_f(lvl[1]), action="S", order_id=None,
                                              snapshot=snap))
            return [("book", rows)]
        raise Unparseable(f"unknown Kraken channel {name!r}", "channelName")


class Bitstamp(Adapter):
    """Bitstamp websocket v2: ``live_trades_<pair>``, ``diff_order_book_<pair>``. No sequence: only disconnects are
    gaps; ``bts:request_reconnect`` makes the client reconnect."""

    venue = "bitstamp"

    def __init__(self, channels: Sequence[str], **kw: Any) -> None:
        super().__init__(**kw)
        self.channels = list(channels)

    def subscribe_messages(self) -> list[str]:
        return [json.dumps({"event": "bts:subscribe", "data": {"channel": c}}) for c in self.channels]

    def parse(self, msg: Any, recv_ns: int, position: int) -> list[tuple[str, list[Row]]]:
        if not isinstance(msg, dict) or "event" not in msg:
            raise Unparseable("no `event`", "event")
        ev, channel = msg["event"], str(msg.get("channel", ""))
        if ev in ("bts:subscription_succeeded", "bts:heartbeat"):
            return []
        if ev == "bts:request_reconnect":
            raise Reconnect("the venue asked for a reconnect")
        pair = channel.rsplit("_", 1)[-1]
        listing = self.listing_of(self.venue, pair)
        d = msg["data"]
        if ev == "trade":
            return [("trade", [self._row(listing, int(d["microtimestamp"]) * 1000, recv_ns, position, None,
                                         price=_f(d["price_str"]), size=_f(d["amount_str"]),
                                         side=1 if d["type"] == 0 else -1, trade_id=str(d["id"]), conditions=None)])]
        if ev == "data" and channel.startswith("diff_order_book_"):
            ts = int(d["microtimestamp"]) * 1000
            return [("book", [self._row(listing, ts, recv_ns, position, None, side=s, price=_f(p), size=_f(q),
                                        action="S", order_id=None, snapshot=False)
                              for s, key in ((1, "bids"), (-1, "asks")) for p, q in d[key]])]
        raise Unparseable(f"unknown Bitstamp event {ev!r} on {channel!r}", "event")


class Reconnect(Exception):
    """The venue asked the client to reconnect."""


def http_snapshot(base: str, market: str = "spot", limit: int = 1000, timeout: float = 5.0) -> Callable[[str], Any]:
    """An async snapshot fetcher for :class:`Binance`: ``GET {base}/api/v3/depth`` (spot), ``/fapi/v1/depth``
    (USD-M) or ``/dapi/v1/depth`` (COIN-M)."""
    import httpx

    path = {"spot": "/api/v3/depth", "usdm": "/fapi/v1/depth", "cm": "/dapi/v1/depth"}[market]
    client = httpx.AsyncClient(base_url=base, timeout=timeout, trust_env=False)

    async def fetch(symbol: str) -> Any:
        r = await client.get(path, params={"symbol": symbol.upper(), "limit": limit})
        r.raise_for_status()
        return r.json()

    return fetch


# -- the client ------------------------------------------------------------------------------------------------

@dataclass
class FeedStats:
    connects: int = 0
    disconnects: int = 0
    messages: int = 0
    events: int = 0
    refused: int = 0
    subscribe_sent: int = 0
    waits: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"connects": self.connects, "disconnects": self.disconnects, "messages": self.messages,
                "events": self.events, "refused": self.refused, "subscribe_sent": self.subscribe_sent,
                "backoff_waits": [round(w, 4) for w in self.waits]}


class LiveFeed:
    """A reconnecting WebSocket client for one venue endpoint (see the module docstring)."""

    def __init__(self, url: str, adapter: Adapter, *, on_events: Emit,
                 on_gap: Callable[[dict[str, Any]], None] | None = None,
                 on_refusal: Callable[[Refusal], None] | None = None, backoff: Backoff | None = None,
                 idle_timeout: float = 30.0, ping_interval: float | None = 10.0, ping_timeout: float | None = 10.0,
                 max_connects: int | None = None) -> None:
        self.url, self.adapter = url, adapter
        self.on_events, self.on_gap, self.on_refusal = on_events, on_gap, on_refusal
        self.backoff = backoff or Backoff()
        self.idle_timeout, self.ping_interval, self.ping_timeout = idle_timeout, ping_interval, ping_timeout
        self.max_connects = max_connects
        self.stats = FeedStats()
        self.refusals: list[Refusal] = []
        self._stop = asyncio.Event()
        if isinstance(adapter, Binance):
            adapter.emit = self._emit

    @property
    def gaps(self) -> list[dict[str, Any]]:
        return self.adapter.gaps

    def stop(self) -> None:
        self._stop.set()

    def _emit(self, kind: str, rows: list[Row]) -> None:
        self.stats.events += len(rows)
        self.on_events(kind, rows)

    def _drain_gaps(self, seen: int) -> int:
        gaps = self.adapter.gaps
        if self.on_gap is not None:
            for g in gaps[seen:]:
                self.on_gap(g)
        return len(gaps)

    async def run(self) -> FeedStats:
        """Connect and read until :meth:`stop` (or ``max_connects`` connections have ended)."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        attempt, conn_no, gaps_seen = 0, 0, 0
        while not self._stop.is_set():
            if self.max_connects is not None and self.stats.connects >= self.max_connects:
                break
            delivered = False
            try:
                async with connect(self.url, ping_interval=self.ping_interval, ping_timeout=self.ping_timeout,
                                   max_size=None, compression=None, open_timeout=10,
                                   close_timeout=1) as ws:
                    conn_no += 1
                    self.stats.connects += 1
                    self.adapter.on_connect(conn_no > 1)
                    gaps_seen = self._drain_gaps(gaps_seen)
                    for m in self.adapter.subscribe_messages():
                        await ws.send(m)
                        self.stats.subscribe_sent += 1
                    index = 0
                    while not self._stop.is_set():
                        recv = asyncio.ensure_future(ws.recv())
                        stop = asyncio.ensure_future(self._stop.wait())
                        done, _ = await asyncio.wait({recv, stop}, timeout=self.idle_timeout,
                                                     return_when=asyncio.FIRST_COMPLETED)
                        if recv not in done:
                            recv.cancel()
                            stop.cancel()
                            if self._stop.is_set():
                                break
                            raise TimeoutError(f"no message for {self.idle_timeout:g} s")
                        stop.cancel()
                        raw = recv.result()
                        index += 1
                        delivered = True
                        attempt = 0
                        self._handle(raw, conn_no, index)
                        if len(self.adapter.gaps) > gaps_seen:
                            gaps_seen = self._drain_gaps(gaps_seen)
            except (OSError, TimeoutError, WebSocketException, Reconnect, asyncio.TimeoutError) as e:
                if self._stop.is_set():
                    break
                self.stats.disconnects += 1
                self.adapter._gap(f"{self.adapter.venue}:*", "connection", None, None,
                                  f"disconnected: {type(e).__name__}: {e}"[:300])
                gaps_seen = self._drain_gaps(gaps_seen)
                if not delivered:
                    attempt += 1
                wait = self.backoff.delay(attempt)
                self.stats.waits.append(wait)
                try:
                    await asyncio.wait_for(self._stop.wait(), wait)
                except (TimeoutError, asyncio.TimeoutError):
                    pass
        return self.stats

    def _handle(self, raw: str | bytes, conn_no: int, index: int) -> None:
        self.stats.messages += 1
        recv_ns = time.time_ns()
        position = conn_no * 1_000_000_000 + index
        try:
            msg = json.loads(raw)
            out = self.adapter.parse(msg, recv_ns, position)
        except Reconnect:
            raise
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
            text = raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes) else raw
            ref = Refusal(rule="stream.unparseable", message=f"{type(e).__name__}: {e}"[:500], file=self.url,
                          line=position, raw=text, field=getattr(e, "field", None), dataset="stream_messages",
                          source=self.adapter.venue)
            self.stats.refused += 1
            self.refusals.append(ref)
            if self.on_refusal is not None:
                self.on_refusal(ref)
            return
        for kind, rows in out:
            if rows:
                self._emit(kind, rows)


def position_text(position: int) -> str:
    """``connection:message`` of a live position."""
    return f"{position // 1_000_000_000}:{position % 1_000_000_000}"


# -- into the stream service (``marketwire stream connect``) -----------------------------------------------------

VENUE_CODES = {"binance": {"spot": "BINANCE", "usdm": "BINANCE-USDM", "cm": "BINANCE-COINM"}, "coinbase": "COINBASE",
               "kraken": "KRAKEN", "bitstamp": "BITSTAMP"}


def instrument_key(venue: str, symbol: str, market: str = "spot") -> tuple[str, dict[str, Any]]:
    """The stream instrument key of a venue symbol (the scheme of :mod:`marketwire.stream.instruments`):
    ``BTCUSDT`` on Binance spot -> ``BTC/USDT@BINANCE``, ``BTC-USD`` on Coinbase -> ``BTC/USD@COINBASE``,
    ``XBT/USD`` on Kraken -> ``XBT/USD@KRAKEN``, ``btcusd`` on Bitstamp -> ``BTCUSD@BITSTAMP``."""
    if venue == "binance":
        from marketwire.stream.feeds.binance import instrument

        return instrument(symbol, VENUE_CODES["binance"][market])  # type: ignore[index]
    code = str(VENUE_CODES[venue])
    pair = symbol.upper().replace("-", "/")
    return f"{pair}@{code}", {"kind": "crypto_spot", "symbol": pair, "venue": code, "venue_symbol": symbol}


def make_adapter(venue: str, subscriptions: Sequence[str], *, market: str = "spot", rest: str | None = None,
                 listing_of: Callable[[str, str], str] = provisional_listing) -> Adapter:
    """An adapter from the CLI's words: Binance streams (``btcusdt@trade``), Coinbase products (channels level2,
    ticker, matches), Kraken pairs (trade, spread, book), Bitstamp channels (``live_trades_btcusd``)."""
    if venue == "binance":
        return Binance(subscriptions, market=market, listing_of=listing_of,
                       snapshot=http_snapshot(rest, market) if rest else None)
    if venue == "coinbase":
        return Coinbase(subscriptions, listing_of=listing_of)
    if venue == "kraken":
        return Kraken(subscriptions, [{"name": "trade"}, {"name": "spread"}, {"name": "book", "depth": 10}],
                      listing_of=listing_of)
    if venue == "bitstamp":
        return Bitstamp(subscriptions, listing_of=listing_of)
    from marketwire.errors import InvalidInput

    raise InvalidInput(f"`venue`: {venue!r} is not binance, coinbase, kraken or bitstamp", param="venue")


async def run_into(service: Any, url: str, venue: str, subscriptions: Sequence[str], *, market: str = "spot",
                   rest: str | None = None, seconds: float | None = None, sync_every: float = 0.05,
                   flush_every: float = 0.01, on_events: Emit | None = None) -> dict[str, Any]:
    """Read a live feed into a stream service (``mw.stream``): the events are verified and appended to the log
    (``service.ingest``) in batches of at most ``flush_every`` seconds of messages, acknowledged -- fsynced -- at
    least every ``sync_every`` seconds and at the end;
    unparseable messages go to the quarantine with their raw bytes, the feed and the position; gaps are counted.
    Runs until ``seconds`` have passed (or forever). Returns the feed's counters."""
    from marketwire.stream.events import batch as make_batch
    from marketwire.stream.verify import Unparseable as Bad

    cache: dict[str, str] = {}

    def listing_of(v: str, symbol: str) -> str:
        lid = cache.get(symbol)
        if lid is None:
            key, meta = instrument_key(venue, symbol, market)
            lid = cache[symbol] = service.listing_of(key, meta)
        return lid

    adapter = make_adapter(venue, subscriptions, market=market, rest=rest, listing_of=listing_of)
    buffered: dict[str, list[Row]] = {}
    clock = {"flush": time.monotonic(), "sync": time.monotonic()}
    ingested = [0]

    def flush(force_sync: bool = False) -> None:
        for kind, rows in list(buffered.items()):
            if rows:
                service.ingest(make_batch(kind, rows), sync=False)
                ingested[0] += len(rows)
        buffered.clear()
        now = time.monotonic()
        clock["flush"] = now
        if force_sync or now - clock["sync"] >= sync_every:
            service.log.sync()
            clock["sync"] = now

    def events(kind: str, rows: list[Row]) -> None:
        buffered.setdefault(kind, []).extend(rows)
        if on_events is not None:
            on_events(kind, rows)
        if time.monotonic() - clock["flush"] >= flush_every or sum(map(len, buffered.values())) >= 20_000:
            flush()

    def refused(r: Refusal) -> None:
        raw = r.raw if isinstance(r.raw, str) else json.dumps(r.raw)
        service.quarantine([Bad(venue, url, int(r.line or 0), raw.encode("utf-8", "backslashreplace"), r.message)])

    async def ticker() -> None:  # a quiet feed still gets its events ingested and acknowledged
        while True:
            await asyncio.sleep(flush_every)
            if buffered or time.monotonic() - clock["sync"] >= sync_every:
                flush()

    feed = LiveFeed(url, adapter, on_events=events, on_refusal=refused)
    task = asyncio.ensure_future(feed.run())
    tick = asyncio.ensure_future(ticker())
    try:
        if seconds is None:
            await task
        else:
            done, _ = await asyncio.wait({task}, timeout=seconds)
            if task in done:
                task.result()
    finally:
        feed.stop()
        tick.cancel()
        if not task.done():
            await asyncio.wait({task}, timeout=5)
        flush(force_sync=True)
    return {**feed.stats.to_dict(), "gaps": len(feed.gaps), "acknowledged": ingested[0]}


__all__ = ["Adapter", "Backoff", "Binance", "Bitstamp", "Coinbase", "FeedStats", "Kraken", "LiveFeed", "Reconnect",
           "Unparseable", "http_snapshot", "instrument_key", "make_adapter", "position_text",
           "provisional_listing", "run_into"]
