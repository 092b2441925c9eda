"""A loopback WebSocket server that plays captured venue sessions, with injected drops, disconnects and garbage.

Sessions:

* :func:`binance_session`: an hftbacktest capture (``<recv ns> <raw JSON>`` lines, gzip) of Binance combined streams.
  The server answers ``SUBSCRIBE`` and plays the messages of the subscribed streams; the REST snapshot lines of the
  capture are not sent on the socket: they seed the server's reference books. ``GET /api/v3/depth`` (``/fapi/v1``,
  ``/dapi/v1``) answers a snapshot taken from the reference book, which follows the *uninterrupted* stream up to the
  message the server has reached (drops and disconnects only affect what the client receives).
* :func:`cryptofeed_session`: a cryptofeed capture (``<ts>: <json>`` received lines); played after the client's
  first subscribe message on each connection (so a client that does not resubscribe gets nothing).

Faults (indices into the session's message list): ``drops`` are skipped silently; ``disconnects`` maps an index to
how many messages are lost while the client is away (the connection is closed after sending that index and the
session moves on); ``stalls``: after sending that index the connection goes silent without closing; ``garbage`` maps an index to bytes sent instead of that message's successor.

The server keeps what it actually sent (:attr:`ReplayServer.sent`: message indices) so a test can compare.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from marketwire.stream.depth_sync import DepthSync


@dataclass
class Session:
    messages: list[str]  # raw text of each message, in order
    streams: list[str | None]  # Binance stream name of each message (None: not stream-filtered)
    snapshots: dict[int, dict[str, Any]] = field(default_factory=dict)  # index -> REST snapshot seen before it
    subscribes: list[str] = field(default_factory=list)  # what the captured client sent
    market: str = "spot"


def binance_session(path: Path, limit: int | None = None) -> Session:
    messages: list[str] = []
    streams: list[str | None] = []
    snaps: dict[int, dict[str, Any]] = {}
    market = {"spot": "spot", "usdm": "usdm", "cm": "cm"}.get(path.parent.name, "spot")
    with gzip.open(path, "rt") as f:
        for line in f:
            _, _, raw = line.rstrip("\n").partition(" ")
            head = raw[:40]
            if '"stream"' not in head:
                msg = json.loads(raw)
                if "lastUpdateId" in msg:
                    snaps[len(messages)] = msg
                continue
            stream = raw[11:raw.index('"', 11)]
            messages.append(raw)
            streams.append(stream)
            if limit is not None and len(messages) >= limit:
                break
    return Session(messages, streams, snaps, market=market)


def cryptofeed_session(path: Path) -> Session:
    messages: list[str] = []
    subs: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if " <-> " in line.split(": ", 1)[0]:
                continue
            if " <- " in line.split(": ", 1)[0]:
                subs.append(line.split(": ", 1)[1])
                continue
            ts, sep, raw = line.partition(": ")
            if sep:
                messages.append(raw)
    return Session(messages, [None] * len(messages), subscribes=subs)


class ReplayServer:
    """Plays one :class:`Session` to whoever connects (one client at a time): ``burst`` messages, then a pause of
    ``burst_pause`` seconds (or ``pace`` seconds after every message)."""

    def __init__(self, session: Session, *, drops: Iterable[int] = (), disconnects: Mapping[int, int] | None = None,
                 garbage: Mapping[int, bytes] | None = None, pace: float = 0.0, burst: int = 64,
                 burst_pause: float = 0.002, stalls: Iterable[int] = ()) -> None:
        self.session = session
        self.drops = set(drops)
        self.disconnects = dict(disconnects or {})
        self.garbage = dict(garbage or {})
        self.pace = pace
        self.burst, self.burst_pause = burst, burst_pause
        self.stalls = set(stalls)  # after sending these, the connection goes silent (no close, no data)
        self.cursor = 0  # the next message of the session (the market goes on while nobody listens)
        self.sent: list[int] = []
        self.garbage_sent: list[bytes] = []
        self.connections = 0
        self.subscribes: list[list[str]] = []  # per connection: what the client sent before play started
        self.snapshot_requests = 0
        self.done = asyncio.Event()
        self.ref: dict[str, DepthSync] = {}  # the uninterrupted books (Binance)
        self._ref_pos = 0
        self._server: Any = None
        self.port = 0

    # -- reference books (Binance)

    def _advance_ref(self, upto: int) -> None:
        """The reference books follow every message before ``upto``, dropped or not."""
        s = self.session
        while self._ref_pos < upto:
            i = self._ref_pos
            if i in s.snapshots:
                snap = s.snapshots[i]
                sym = snap.get("symbol") or self._symbol_near(i)
                ref = self.ref.setdefault(sym, DepthSync(sym))
                ref.snapshot_message(snap)
            stream = s.streams[i]
            if stream is not None and "@depth" in stream:
                d = json.loads(s.messages[i])["data"]
                self.ref.setdefault(d["s"], DepthSync(d["s"])).on_diff(d)
            self._ref_pos += 1

    def _symbol_near(self, i: int) -> str:
        for j in range(i, len(self.session.messages)):
            if self.session.streams[j] and "@depth" in (self.session.streams[j] or ""):
                return str(json.loads(self.session.messages[j])["data"]["s"])
        raise ValueError("a snapshot without depth diffs")

    def reference_book(self, symbol: str, upto: int | None = None) -> DepthSync:
        self._advance_ref(len(self.session.messages) if upto is None else upto)
        return self.ref[symbol]

    # -- HTTP (REST snapshots)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if not url.path.endswith("/depth"):
            return None
        self.snapshot_requests += 1
        symbol = parse_qs(url.query).get("symbol", [""])[0].upper()
        self._advance_ref(self.cursor)
        ref = self.ref.get(symbol)
        if ref is None or not ref.synced:
            # before the captured snapshot: answer the captured snapshot itself (the next one the session holds)
            snap = next((v for k, v in sorted(self.session.snapshots.items()) if k >= self._ref_pos
                         and (v.get("symbol", symbol) == symbol)), None)
            if snap is None:
                return self._json(503, {"code": -1, "msg": "no snapshot"})
            return self._json(200, snap)
        body = {"lastUpdateId": ref.last_update_id,
                "bids": [[repr(p), repr(q)] for p, q in sorted(ref.bids.items(), reverse=True)],
                "asks": [[repr(p), repr(q)] for p, q in sorted(ref.asks.items())]}
        return self._json(200, body)

    @staticmethod
    def _json(status: int, body: Any) -> Response:
        data = json.dumps(body).encode()
        return Response(status, "OK" if status == 200 else "Error",
                        Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))]), data)

    # -- WebSocket

    async def _handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        got: list[str] = []
        subscribed: set[str] | None = None
        first = await ws.recv()
        got.append(str(first))
        msg = json.loads(first)
        if isinstance(msg, dict) and msg.get("method") == "SUBSCRIBE":
            subscribed = {p.lower() for p in msg.get("params", [])}
            await ws.send(json.dumps({"result": None, "id": msg.get("id")}))
        self.subscribes.append(got)

        async def keep_reading() -> None:  # later subscribe messages (and the close handshake) are read too
            async for more in ws:
                got.append(str(more))

        reading = asyncio.ensure_future(keep_reading())
        s = self.session
        try:
            while self.cursor < len(s.messages):
                i = self.cursor
                self.cursor += 1
                if i in self.garbage:
                    await ws.send(self.garbage[i])
                    self.garbage_sent.append(self.garbage[i])
                if i in self.drops:
                    continue
                stream = s.streams[i]
                if subscribed is not None and stream is not None and stream.lower() not in subscribed:
                    continue
                await ws.send(s.messages[i])
                self.sent.append(i)
                if self.pace:
                    await asyncio.sleep(self.pace)
                if i in self.stalls:
                    self.stalls.discard(i)
                    await ws.wait_closed()  # silent until the client gives up on it (its idle timeout)
                    return
                if i in self.disconnects:
                    self.cursor += self.disconnects.pop(i)  # lost while the client is away
                    await ws.close()
                    return
                if not self.pace and len(self.sent) % self.burst == 0:
                    await asyncio.sleep(self.burst_pause)  # a market's pace, and the REST handler gets its turn
            self.done.set()
            await ws.wait_closed()
        except Exception:  # noqa: BLE001 - the client went away: the session goes on without it
            return
        finally:
            reading.cancel()

    async def start(self) -> str:
        self._server = await serve(self._handler, "127.0.0.1", 0, process_request=self._process_request,
                                   compression=None, max_size=None, ping_interval=None)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
