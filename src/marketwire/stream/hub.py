"""The fan-out hub: events in from the ingest path, out to any number of subscribers, and a slow one never slows
ingest.

``Hub.publish*`` is synchronous and never waits: it appends each event to the bounded queue of every subscriber that
asked for its channel and listing (an index by ``(channel, listing)`` plus one for the ``*`` wildcard) and wakes the
subscriber. Each subscriber has one queue of ``maxsize`` pending events; what happens when it is full, or when a newer
value supersedes a pending one, is the channel's policy (:data:`POLICY`):

===========  ================  ==============================================================================
channel      policy            what a slow subscriber sees
===========  ================  ==============================================================================
trades       ``drop_oldest``   the oldest pending events are dropped (counted in ``dropped``); never reordered
book         ``drop_oldest``   as trades; after a drop the next frame says so (``dropped``): refetch the book
quotes       ``conflate``      a pending quote of the same listing is replaced by the newer one (``conflated``)
bars_1s/1m   ``conflate``      a pending update of the same bar (listing, start) is replaced (``conflated``)
===========  ================  ==============================================================================

A conflated event keeps its place in the queue (the order of listings is kept); a full queue drops its oldest entry
whatever its channel. A subscriber the hub writes directly (a ``sink``: a server's WebSocket connection) conflates only
while it is *behind* -- from a write its connection could not take until everything pending went out; until then
every pending event is written at the end of the loop iteration, so none is superseded. Counters per subscriber
(``delivered``, ``dropped``, ``conflated``, by channel) and for the hub (``published``, ``fanned_out``, ``frames``
and the direct writes' ``flushes``, ``flush_ms_mean``, ``flush_wait_ms_mean``/``_max``) are exposed by
:meth:`Hub.counters` and ``GET /v1/stream/stats``.

Events on the wire (:mod:`marketwire.serve.api_stream`) are the event rows of :mod:`marketwire.stream.events` plus
``channel``; each event is encoded once (JSON or msgpack, cached on the event) and a frame is the concatenation of
its events' bytes, so the cost of encoding does not grow with the number of subscribers.

:func:`subscribe` is the SDK's async iterator: embedded (this process's hub) or remote (a WebSocket client of
``/v1/stream``).
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from time import perf_counter as _perf
from typing import Any

CHANNELS = ("trades", "quotes", "book", "bars_1s", "bars_1m")
POLICY = {"trades": "drop_oldest", "book": "drop_oldest", "quotes": "conflate", "bars_1s": "conflate",
          "bars_1m": "conflate"}
#: event kind of the event model -> channel
CHANNEL_OF = {"trade": "trades", "quote": "quotes", "book": "book"}
WILDCARD = "*"
#: pending events per subscriber before the policy drops
MAXSIZE = 10_000
#: the most events one frame carries
MAX_FRAME = 2_000


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


try:
    import orjson as _orjson

    _OPT = _orjson.OPT_PASSTHROUGH_DATETIME | _orjson.OPT_PASSTHROUGH_DATACLASS

    def dumps_row(row: Mapping[str, Any]) -> bytes:
        """An event row's JSON object, as every frame carries it (NaN and infinities as null; other types as
        ``str()``)."""
        return _orjson.dumps(row, default=str, option=_OPT)
except ImportError:  # pragma: no cover - orjson is a dependency
    _orjson = None

    def dumps_row(row: Mapping[str, Any]) -> bytes:
        return json.dumps({k: _clean(v) for k, v in row.items()}, separators=(",", ":"), default=str).encode()

#: ``{"channel":"<ch>",`` -- the head every event of a channel's JSON starts with
_HEAD = {c: b'{"channel":"' + c.encode() + b'",' for c in CHANNELS}


class Event:
    """One event on its way to subscribers: its channel, listing and row; its encodings are made once, on first
    use, and shared by every subscriber's frames."""

    __slots__ = ("channel", "listing", "row", "key", "_json", "_msgpack")

    def __init__(self, channel: str, listing: str, row: Mapping[str, Any], key: Any = None) -> None:
        self.channel, self.listing, self.row, self.key = channel, listing, row, key
        self._json: bytes | None = None
        self._msgpack: bytes | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, **{k: _clean(v) for k, v in self.row.items()}}

    def json(self) -> bytes:
        if self._json is None:
            body = dumps_row(self.row) if "channel" not in self.row else b""
            if len(body) > 2:
                head = _HEAD.get(self.channel) or b'{"channel":' + dumps_row({"c": self.channel})[5:-1] + b","
                self._json = head + body[1:]
            else:
                self._json = json.dumps(self.to_dict(), separators=(",", ":"), default=str).encode()
        return self._json

    def msgpack(self) -> bytes:
        if self._msgpack is None:
            import msgpack

            self._msgpack = msgpack.packb(self.to_dict(), default=str)
        return self._msgpack

    # the queue's item protocol, shared with Chunk
    n = 1

    def events(self) -> list[Event]:
        return [self]

    def split(self, k: int) -> tuple[Any, Any]:  # pragma: no cover - one event is never split
        return self, None


class Chunk:
    """The events of one channel and one listing published by one call (:meth:`Hub.publish_rows`): one queue entry
    for all of them, so the hub's work per event is a dict append and an encoding, and its work per subscriber is
    per listing and call, not per event. Its JSON (the events' encodings joined by commas) is made once, on first
    use, and shared by every subscriber's frames; :class:`Event` objects are made only for a consumer that asks
    for them (:meth:`Subscription.drain`)."""

    __slots__ = ("channel", "listing", "rows", "key", "n", "_json")

    def __init__(self, channel: str, listing: str, rows: list[Mapping[str, Any]], key: Any = None) -> None:
        self.channel, self.listing, self.rows, self.key = channel, listing, rows, key
        self.n = len(rows)
        self._json: bytes | None = None

    def json(self) -> bytes:
        j = self._json
        if j is None:
            head = _HEAD.get(self.channel)
            rows = self.rows
            if len(rows) == 1 and head is not None and "channel" not in rows[0]:
                # the usual chunk at tens of thousands of events/s over a hundred listings
                body = dumps_row(rows[0])
                j = head + body[1:] if len(body) > 2 else head[:-1] + b"}"
            elif head is None or any("channel" in r for r in rows):
                j = b",".join([e.json() for e in self.events()])
            else:
                dumps = dumps_row
                parts = []
                for r in rows:
                    body = dumps(r)
                    parts.append(head + body[1:] if len(body) > 2 else head[:-1] + b"}")
                j = b",".join(parts)
            self._json = j
        return j

    def events(self) -> list[Event]:
        ch, li, key = self.channel, self.listing, self.key
        return [Event(ch, li, r, key) for r in self.rows]

    def split(self, k: int) -> tuple[Chunk, Chunk]:
        return Chunk(self.channel, self.listing, self.rows[:k], self.key), \
            Chunk(self.channel, self.listing, self.rows[k:], self.key)


class EncodedChunk:
    """As :class:`Chunk`, for events that arrive already encoded (the bus's JSON-lines messages: each event's JSON
    object as :func:`dumps_row` made it): the frame's JSON is the encodings with the channel put in front, no row
    decoded; the rows are decoded only for a consumer that asks for them (:meth:`events`: an embedded subscriber,
    msgpack frames)."""

    __slots__ = ("channel", "listing", "encoded", "key", "n", "_json")

    def __init__(self, channel: str, listing: str, encoded: list[bytes], key: Any = None) -> None:
        self.channel, self.listing, self.encoded, self.key = channel, listing, encoded, key
        self.n = len(encoded)
        self._json: bytes | None = None

    def json(self) -> bytes:
        j = self._json
        if j is None:
            head = _HEAD.get(self.channel) or b'{"channel":' + dumps_row({"c": self.channel})[5:-1] + b","
            enc = self.encoded
            if len(enc) == 1:
                e = enc[0]
                j = head + e[1:] if len(e) > 2 else head[:-1] + b"}"
            else:
                j = b",".join([head + e[1:] if len(e) > 2 else head[:-1] + b"}" for e in enc])
            self._json = j
        return j

    @property
    def rows(self) -> list[dict[str, Any]]:
        loads = _orjson.loads if _orjson is not None else json.loads
        return [loads(e) for e in self.encoded]

    def events(self) -> list[Event]:
        ch, li, key = self.channel, self.listing, self.key
        return [Event(ch, li, r, key) for r in self.rows]

    def split(self, k: int) -> tuple[EncodedChunk, EncodedChunk]:
        return EncodedChunk(self.channel, self.listing, self.encoded[:k], self.key), \
            EncodedChunk(self.channel, self.listing, self.encoded[k:], self.key)


def encode_frame(events: Sequence[Event], fmt: str = "json", dropped: int = 0) -> bytes:
    """One frame: JSON ``{"events":[...]}`` (``"dropped": n`` when events were dropped since the last frame), or
    msgpack: a map of the same keys whose ``events`` array holds each event's cached encoding."""
    if fmt == "msgpack":
        import msgpack

        n = len(events)
        head = msgpack.packb({"dropped": dropped} if dropped else {})
        # a map with one more entry: rewrite the fixmap header (maps here hold at most 15 entries)
        head = bytes([head[0] + 1]) + head[1:]
        arr = bytes([0x90 | n]) if n < 16 else (b"\xdc" + n.to_bytes(2, "big") if n < 65536
                                               else b"\xdd" + n.to_bytes(4, "big"))
        return head + msgpack.packb("events") + arr + b"".join(e.msgpack() for e in events)
    body = b",".join(e.json() for e in events)
    if dropped:
        return b'{"dropped":' + str(dropped).encode() + b',"events":[' + body + b"]}"
    return b'{"events":[' + body + b"]}"


def decode_frame(data: bytes | str) -> dict[str, Any]:
    if isinstance(data, (bytes, bytearray)) and data[:1] not in (b"{", b"["):
        import msgpack

        return dict(msgpack.unpackb(data, raw=False))
    return dict(json.loads(data))


class Subscription:
    """One subscriber: what it asked for and its bounded queue (see the module docstring)."""

    def __init__(self, hub: Hub, maxsize: int = MAXSIZE) -> None:
        self.hub = hub
        self.maxsize = maxsize
        self.keys: set[tuple[str, str]] = set()
        self._q: deque[list[Any]] = deque()  # slots: [item, key]; a conflated slot is updated in place
        self._n = 0
        self._slots: dict[Any, list[Any]] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.delivered: dict[str, int] = {}
        self.dropped: dict[str, int] = {}
        self.conflated: dict[str, int] = {}
        self._dropped_since = 0
        self.closed = False
        #: ``sink() -> bool``: writes the pending events out at once (a server's connection); called by the hub once
        #: per loop iteration in which events arrived; ``False`` (the connection's buffer is full) wakes the waiter
        self.sink: Callable[[], bool] | None = None
        #: a subscriber with a sink is *behind* from a write its connection could not take (``sink()`` answered
        #: ``False``) until everything pending went out; only then do its quotes and bars conflate -- until then
        #: every pending event is written at the end of the loop iteration, so none is superseded
        self.behind = False

    # -- what it wants
    def add(self, channels: Iterable[str], listings: Iterable[str]) -> list[tuple[str, str]]:
        added = [(c, li) for c in channels for li in listings]
        for k in added:
            if k not in self.keys:
                self.keys.add(k)
                self.hub._index.setdefault(k, []).append(self)
        return added

    def remove(self, channels: Iterable[str], listings: Iterable[str]) -> list[tuple[str, str]]:
        removed = [(c, li) for c in channels for li in listings if (c, li) in self.keys]
        for k in removed:
            self.keys.discard(k)
            subs = self.hub._index.get(k, [])
            if self in subs:
                subs.remove(self)
            if not subs:
                self.hub._index.pop(k, None)
        return removed

    def close(self) -> None:
        self.remove({c for c, _ in self.keys}, {li for _, li in self.keys})
        if not self.closed and self in self.hub._subs:  # the hub's totals keep what this subscriber lost
            for total, mine in ((self.hub._gone_dropped, self.dropped), (self.hub._gone_conflated, self.conflated)):
                for ch, n in mine.items():
                    total[ch] = total.get(ch, 0) + n
        self.closed = True
        self.hub._subs.discard(self)
        if self._wake is not None:
            self._wake.set()

    # -- the queue (called by the hub, on the hub's loop); entries are [item, conflation key], an item an Event or
    # a Chunk; ``_n`` counts pending events
    def _put(self, ev: Any) -> None:
        ch = ev.channel
        if POLICY[ch] == "conflate":
            key = (ch, ev.listing, ev.key)
            if self.sink is None or self.behind:
                slot = self._slots.get(key)
                if slot is not None:
                    old = slot[0]
                    slot[0] = ev
                    self._n += ev.n - old.n
                    self.conflated[ch] = self.conflated.get(ch, 0) + old.n
                    return
            # the newest pending slot of the key is the one a later event replaces
            slot = [ev, key]
            self._slots[key] = slot
        else:
            slot = [ev, None]
        q = self._q
        q.append(slot)
        self._n += ev.n
        if self._n > self.maxsize:
            self._overflow()

    def _overflow(self) -> None:
        """Drop the oldest pending events until ``maxsize`` remain (the oldest part of a chunk, when only part of
        it must go)."""
        q = self._q
        while self._n > self.maxsize and q:
            excess = self._n - self.maxsize
            slot = q[0]
            old = slot[0]
            if old.n > excess:
                gone, slot[0] = old.split(excess)
            else:
                gone = old
                q.popleft()
                if slot[1] is not None and self._slots.get(slot[1]) is slot:
                    del self._slots[slot[1]]
            och = gone.channel
            self.dropped[och] = self.dropped.get(och, 0) + gone.n
            self._dropped_since += gone.n
            self._n -= gone.n

    def _notify(self) -> None:
        if self._wake is not None and not self._wake.is_set():
            self._wake.set()

    @property
    def pending(self) -> int:
        return self._n

    def _take(self, limit: int) -> list[Any]:
        """Pop queue items holding at most ``limit`` events (a larger first item is split)."""
        q, slots, delivered = self._q, self._slots, self.delivered
        out: list[Any] = []
        room = limit
        while q and room > 0:
            slot = q[0]
            item = slot[0]
            if item.n > room:
                head, rest = item.split(room)
                slot[0] = rest
                item = head
            else:
                q.popleft()
                if slot[1] is not None and slots.get(slot[1]) is slot:
                    del slots[slot[1]]
            out.append(item)
            room -= item.n
            delivered[item.channel] = delivered.get(item.channel, 0) + item.n
        self._n -= limit - room
        return out

    def drain(self, limit: int = MAX_FRAME) -> tuple[list[Event], int]:
        """Up to ``limit`` pending events, oldest first, and how many were dropped since the last drain."""
        out: list[Event] = []
        for item in self._take(limit):
            out.extend(item.events())
        dropped, self._dropped_since = self._dropped_since, 0
        return out, dropped

    def drain_json(self, limit: int = MAX_FRAME) -> tuple[bytes, int, int]:
        """Up to ``limit`` pending events as the JSON of a frame's ``events`` array without its brackets (each
        event's encoding made once and shared), how many events, and how many were dropped since the last drain."""
        q = self._q
        if self._n <= limit:  # everything pending fits one frame (the usual case): no split, every slot goes
            items = [slot[0] for slot in q]
            q.clear()
            self._slots.clear()
            taken, self._n = self._n, 0
            delivered = self.delivered
            for item in items:
                ch = item.channel
                delivered[ch] = delivered.get(ch, 0) + item.n
        else:
            items = self._take(limit)
            taken = sum(item.n for item in items)
        dropped, self._dropped_since = self._dropped_since, 0
        if not items:
            return b"", 0, dropped
        body = items[0].json() if len(items) == 1 else b",".join([item.json() for item in items])
        return body, taken, dropped

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until an event is pending (or the subscription closed); ``False`` on timeout."""
        if self._q or self.closed:
            return True
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.clear()
        if self._q or self.closed:
            return True
        try:
            if timeout is None:
                await self._wake.wait()
            else:
                await asyncio.wait_for(self._wake.wait(), timeout)
        except (TimeoutError, asyncio.TimeoutError):
            return bool(self._q)
        return True

    def write_out(self) -> bool:
        """Call the sink (the hub after a loop iteration's publishes, a connection's writer after its buffer drained):
        ``False`` when the connection could not take everything pending (the subscriber is then behind, and its
        quotes and bars conflate until it caught up)."""
        try:
            ok = bool(self.sink()) if self.sink is not None else False
        except Exception:  # noqa: BLE001 - a connection that broke: its waiter sees it
            ok = False
        self.behind = not ok or self._n > 0
        return ok

    def counters(self) -> dict[str, Any]:
        return {"pending": self._n, "delivered": dict(self.delivered), "dropped": dict(self.dropped),
                "conflated": dict(self.conflated), "subscriptions": sorted(f"{c}:{li}" for c, li in self.keys)}


class Hub:
    """The in-process fan-out hub (see the module docstring). ``resolve(id) -> listing id`` maps the ids a
    subscriber names (ticker, ISIN, FIGI, a listing id...) to listing ids; default: the id as given."""

    def __init__(self, resolve: Callable[[str], str] | None = None, maxsize: int = MAXSIZE,
                 linger: float | None = None) -> None:
        self.resolve_id = resolve or (lambda s: s)
        self.maxsize = maxsize
        self._index: dict[tuple[str, str], list[Subscription]] = {}
        self._subs: set[Subscription] = set()
        self.published: dict[str, int] = {}
        self.fanned_out = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._dirty: dict[Subscription, None] = {}  # insertion-ordered: subscribers in the order they were woken
        self._flush_at: Any = None  # while a flush is scheduled or running: the loop it is on (or the hub)
        self._rotate = 0
        self._deferred: list[Callable[[], Any]] = []
        self.frames = 0  # frames written by subscribers' sinks
        #: perf counters of the direct writes: flushes, the seconds they took, and the wait from the first publish
        #: of a loop iteration to its flush (sum and most)
        self.flushes = 0
        self.flush_s = 0.0
        self.flush_wait_s = 0.0
        self.flush_wait_max = 0.0
        self._first_at = 0.0
        self._gone_dropped: dict[str, int] = {}  # what subscribers that have left lost, by channel
        self._gone_conflated: dict[str, int] = {}
        #: seconds a connection's first pending event may wait for more before its frame is written (0: written once
        #: the loop iteration that published it is done). ``MARKETWIRE_STREAM_LINGER_MS`` sets it.
        self.linger = linger if linger is not None else _env_linger()

    # -- subscribers
    def subscription(self, channels: Iterable[str] = (), ids: Iterable[str] = (),
                     maxsize: int | None = None) -> Subscription:
        sub = Subscription(self, maxsize or self.maxsize)
        self._subs.add(sub)
        if channels and ids:
            sub.add(check_channels(channels), self.resolve(ids))
        return sub

    def resolve(self, ids: Iterable[str]) -> list[str]:
        out = []
        for i in ids:
            i = str(i).strip()
            out.append(WILDCARD if i == WILDCARD else self.resolve_id(i))
        return out

    # -- ingest side: never waits
    def publish(self, events: Iterable[Event]) -> int:
        """Queue ``events`` for their subscribers and wake them. Call it on the hub's event loop (or use
        :meth:`publish_threadsafe`). Returns how many deliveries were queued."""
        index = self._index
        woken: dict[Subscription, None] = {}
        n = 0
        pub = self.published
        for ev in events:
            ch = ev.channel
            pub[ch] = pub.get(ch, 0) + 1
            subs = index.get((ch, ev.listing))
            if subs:
                for s in subs:
                    s._put(ev)
                    woken[s] = None
                    n += 1
            subs = index.get((ch, WILDCARD))
            if subs:
                for s in subs:
                    s._put(ev)
                    woken[s] = None
                    n += 1
        self._wake_all(woken)
        self.fanned_out += n
        return n

    def _wake_all(self, woken: dict[Subscription, None]) -> None:
        dirty = None
        for s in woken:
            if s.sink is None or s.behind:  # behind: its writer sends once the connection's buffer drained
                s._notify()
            else:
                if dirty is None:
                    dirty = self._dirty
                dirty[s] = None
        if dirty:
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        """Write the subscribers with a sink once this loop iteration's publishes are done: one frame per
        subscriber for everything published meanwhile (no timer, no event held back on purpose)."""
        if self._flush_at is not None:
            return
        self._first_at = _perf()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another thread: sockets are written on the hub's loop only
            if self.loop is not None and self.loop.is_running():
                self._flush_at = self.loop
                self.loop.call_soon_threadsafe(self._flush)
            else:
                self._flush()
            return
        self._flush_at = loop
        if self.linger > 0:
            loop.call_later(self.linger, self._flush)
        else:
            loop.call_soon(self._flush)

    def defer(self, publish: Callable[[], Any]) -> None:
        """Run ``publish`` (a function that publishes what a source has gathered) at the start of the next flush,
        and schedule one: what a source read during a loop iteration is published and written in the same callback,
        one loop iteration sooner than a ``call_soon`` of its own and then a flush."""
        self._deferred.append(publish)
        self._schedule_flush()

    def _flush(self) -> None:
        t0 = _perf()
        deferred = self._deferred
        if deferred:  # publishes made here join this flush (_flush_at set: none schedules another)
            self._deferred = []
            if self._flush_at is None:  # called directly (no running loop)
                self._flush_at = self
            for publish in deferred:
                publish()
        self._flush_at = None
        dirty, self._dirty = list(self._dirty), {}
        # the connections are written one after the other: start one further each time, so that no subscriber is
        # always the last one written
        k = self._rotate % len(dirty) if dirty else 0
        self._rotate += 1
        frames = 0
        for s in dirty[k:] + dirty[:k] if k else dirty:
            if s.closed or not s._n and not s._dropped_since:
                continue
            if s.write_out():
                frames += 1
            else:
                if s._wake is None:
                    s._wake = asyncio.Event()
                s._wake.set()
        self.frames += frames
        t1 = _perf()
        wait = t0 - self._first_at
        self.flushes += 1
        self.flush_s += t1 - t0
        self.flush_wait_s += wait
        if wait > self.flush_wait_max:
            self.flush_wait_max = wait

    def publish_rows(self, kind: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Publish event rows of one kind (``trade``, ``quote``, ``book``; see :mod:`marketwire.stream.events`) or
        channel: one :class:`Chunk` per listing, queued for that listing's subscribers and the wildcard's."""
        ch = CHANNEL_OF.get(kind, kind)
        if ch not in POLICY:
            raise KeyError(kind)
        groups: dict[str, list[Mapping[str, Any]]] = {}
        get = groups.get
        count = 0
        for r in rows:
            li = r["listing_id"]
            g = get(li)
            if g is None:
                groups[li] = [r]
            else:
                g.append(r)
            count += 1
        return self._fan_out(ch, groups.items(), count, Chunk)

    def publish_encoded(self, kind: str, sections: Iterable[tuple[str, list[bytes]]]) -> int:
        """Publish events that arrive encoded: ``(listing, [event JSON, ...])`` per listing (the bus's JSON-lines
        messages, :func:`marketwire.stream.bus.decode_sections`), one :class:`EncodedChunk` per listing; frames carry
        the encodings as they are."""
        ch = CHANNEL_OF.get(kind, kind)
        if ch not in POLICY:
            raise KeyError(kind)
        sections = list(sections)
        return self._fan_out(ch, sections, sum(len(e) for _, e in sections), EncodedChunk)

    def _fan_out(self, ch: str, groups: Iterable[tuple[str, Any]], count: int, chunk: Any) -> int:
        """Queue one chunk per listing for the listing's subscribers and the wildcard's, and wake them."""
        pub = self.published
        pub[ch] = pub.get(ch, 0) + count
        index = self._index
        wild = index.get((ch, WILDCARD))
        woken: dict[Subscription, None] = {}
        n = 0
        for li, g in groups:
            subs = index.get((ch, li))
            if not subs and not wild:
                continue
            c = chunk(ch, li, g)
            if subs:
                for s in subs:
                    s._put(c)
                    woken[s] = None
                n += c.n * len(subs)
            if wild:
                for s in wild:
                    s._put(c)
                    woken[s] = None
                n += c.n * len(wild)
        self._wake_all(woken)
        self.fanned_out += n
        return n

    def publish_batch(self, batch: Any) -> int:
        """Publish an event batch (a pyarrow RecordBatch of the event model)."""
        from marketwire.stream.events import kind_of

        return self.publish_rows(kind_of(batch), batch.to_pylist())

    def publish_bar(self, interval: str, row: Mapping[str, Any]) -> int:
        """Publish a 1-second or 1-minute bar update (``interval`` ``1s``/``1m``); ``row`` has ``listing_id`` and
        ``time`` (the bar's start); updates of one bar conflate."""
        ch = f"bars_{interval}"
        return self.publish([Event(ch, row["listing_id"], row, key=row.get("start", row.get("time")))])

    def publish_batch_anywhere(self, batch: Any) -> None:
        """:meth:`publish_batch` from any thread (handed to the hub's loop when called from another one), with the
        1-second and 1-minute bars of trade batches."""
        loop = self.loop
        if loop is not None and loop.is_running():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                loop.call_soon_threadsafe(self._feed_batch, batch)
                return
        self._feed_batch(batch)

    def _feed_batch(self, batch: Any) -> None:
        from marketwire.stream.events import kind_of

        kind = kind_of(batch)
        self.publish_rows(kind, batch.to_pylist())
        if kind == "trade":
            self.publish_bars(batch)

    def publish_bars(self, trades: Any) -> None:
        """Update and publish the 1-second and 1-minute bars of a trade batch (open bars conflate per bar)."""
        from marketwire.stream.bars import BarBuilder

        if not hasattr(self, "_bars"):
            self._bars = {iv: BarBuilder(iv) for iv in ("1s", "1m")}
        touched = set(trades.column("listing_id").to_pylist())
        for iv, b in self._bars.items():
            for row in b.update(trades):
                self.publish_bar(iv, row)
            for row in b.partial():
                if row["listing_id"] in touched:
                    self.publish_bar(iv, row)

    def publish_threadsafe(self, events: list[Event]) -> None:
        """:meth:`publish` from another thread: handed to the hub's loop."""
        if self.loop is None:
            raise RuntimeError("the hub has no event loop yet (bind() it first)")
        self.loop.call_soon_threadsafe(self.publish, events)

    def bind(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop or asyncio.get_running_loop()

    def counters(self) -> dict[str, Any]:
        subs = list(self._subs)
        dropped: dict[str, int] = dict(self._gone_dropped)
        conflated: dict[str, int] = dict(self._gone_conflated)
        for s in subs:
            for ch, n in s.dropped.items():
                dropped[ch] = dropped.get(ch, 0) + n
            for ch, n in s.conflated.items():
                conflated[ch] = conflated.get(ch, 0) + n
        return {"subscribers": len(subs), "published": dict(self.published), "fanned_out": self.fanned_out,
                "frames": self.frames, "flushes": self.flushes,
                "flush_ms_mean": self.flush_s / self.flushes * 1e3 if self.flushes else 0.0,
                "flush_wait_ms_mean": self.flush_wait_s / self.flushes * 1e3 if self.flushes else 0.0,
                "flush_wait_ms_max": self.flush_wait_max * 1e3,
                "dropped": dropped, "conflated": conflated, "policy": dict(POLICY),
                "pending": sum(s.pending for s in subs), "max_pending": max((s.pending for s in subs), default=0)}


def _env_linger() -> float:
    import os

    raw = os.environ.get("MARKETWIRE_STREAM_LINGER_MS", "").strip()
    try:
        return max(0.0, min(5.0, float(raw))) / 1000 if raw else 0.0
    except ValueError:
        from marketwire.errors import InvalidInput

        raise InvalidInput(f"MARKETWIRE_STREAM_LINGER_MS: {raw!r} is not a number of milliseconds (0-5)",
                           param="MARKETWIRE_STREAM_LINGER_MS", value=raw) from None


def check_channels(channels: Iterable[str]) -> list[str]:
    from marketwire.errors import InvalidInput

    out = []
    for c in channels:
        c = str(c).strip()
        if c not in CHANNELS:
            raise InvalidInput(f"`channels`: {c!r} is not a channel; use one of {', '.join(CHANNELS)}",
                               param="channels", value=c)
        out.append(c)
    if not out:
        raise InvalidInput(f"`channels`: name at least one of {', '.join(CHANNELS)}", param="channels")
    return out


# -- playing event batches into a hub ---------------------------------------------------------------------------

async def play(hub: Hub, batches: Iterable[Any], speed: float | None = 1.0, *, bars: bool = True,
               restamp: bool = True, tick: float = 0.001, stop: asyncio.Event | None = None) -> dict[str, Any]:
    """Publish event batches (:mod:`marketwire.stream.events`) into ``hub`` at their exchange-time pace times
    ``speed`` (``None``: as fast as possible), in slices of at most ``tick`` seconds of wall time, and the 1-second
    and 1-minute bars of the trades as they build (:class:`marketwire.stream.bars.BarBuilder`; an open bar is
    published on every update and conflates). ``restamp``: ``ts_recv`` becomes the time the event is handed to the
    hub, so feed-to-client latency can be measured from it. Returns counts."""
    import time as _time

    import numpy as np

    from marketwire.stream.events import kind_of

    t0_wall: float | None = None
    t0_event = 0
    sent = 0
    for batch in batches:
        if batch is None or batch.num_rows == 0:
            continue
        kind = kind_of(batch)
        ts = batch.column("ts_event").to_numpy()
        if t0_wall is None:
            t0_wall, t0_event = _time.monotonic(), int(ts[0])
        targets = None if not speed else t0_wall + (ts - t0_event) / 1e9 / speed
        pos = 0
        while pos < len(ts):
            if stop is not None and stop.is_set():
                return {"events": sent}
            if targets is None:
                end = min(len(ts), pos + 5000)
            else:
                now = _time.monotonic()
                end = int(np.searchsorted(targets, now, side="right"))
                if end <= pos:
                    await asyncio.sleep(min(tick, max(0.0, float(targets[pos]) - now)))
                    continue
            part = batch.slice(pos, end - pos)
            rows = part.to_pylist()
            if restamp:
                now_ns = _time.time_ns()
                for r in rows:
                    r["ts_recv"] = now_ns
            hub.publish_rows(kind, rows)
            if kind == "trade" and bars:
                hub.publish_bars(part)
            sent += end - pos
            pos = end
            await asyncio.sleep(0 if targets is None else tick)
    return {"events": sent}


# -- the SDK's iterator ----------------------------------------------------------------------------------------

_HUBS: weakref.WeakKeyDictionary[Any, Hub] = weakref.WeakKeyDictionary()


def hub_of(service: Any) -> Hub:
    """The in-process hub of a stream service (``mw.stream``): its ``hub`` attribute when it has one, else one made
    on first use, resolving ids through the service's identity service."""
    own = getattr(service, "hub", None)
    if isinstance(own, Hub):
        return own
    hub = _HUBS.get(service)
    if hub is None:
        hub = _HUBS[service] = Hub(service_resolver(service))
        if hasattr(service, "on_batch"):  # verified batches of the service (replay, live feeds) reach subscribers
            service.on_batch(hub.publish_batch_anywhere)
    return hub


def service_resolver(service: Any) -> Callable[[str], str] | None:
    """``id -> listing id``: the stream service's own resolution (instrument keys, symbols, then identity), else the
    identity service's; an id neither knows that looks like a provisional listing id (``venue:SYMBOL``) is taken as
    it is."""
    from marketwire.errors import NotFound

    own = getattr(service, "resolve", None)
    identity = getattr(service, "identity", None)
    fallback = identity_resolver(identity) if identity is not None else None
    if own is None:
        return fallback

    def resolve(i: str) -> str:
        try:
            return str(own(i))
        except NotFound:
            if fallback is not None:
                return fallback(i)
            if ":" in i:
                return i
            raise

    return resolve


def identity_resolver(identity: Any) -> Callable[[str], str]:
    """``id -> listing id`` through the identity service; an id the identity service does not know but that looks like
    a provisional listing id (``venue:SYMBOL``) is taken as it is."""
    from marketwire.errors import NotFound

    def resolve(i: str) -> str:
        try:
            return str(identity.listing_for(i, lambda _lid: True))
        except NotFound:
            if ":" in i:
                return i
            raise

    return resolve


async def subscribe(source: Any, channels: Sequence[str] | str, ids: Sequence[str] | str = WILDCARD, *,
                    url: str | None = None, fmt: str = "json", headers: Mapping[str, str] | None = None,
                    maxsize: int | None = None) -> AsyncIterator[dict[str, Any]]:
    """Events of ``channels`` for ``ids`` (listing ids, tickers or any id the identity service resolves; ``*`` for
    all), as dicts with ``channel`` and the event's columns, as they arrive.

    Embedded: ``source`` is this process's :class:`Hub` or stream service (``mw.stream``, whose hub is
    :func:`hub_of`). Remote: ``url`` is a server's ``ws://host:port/v1/stream`` (``source`` may be ``None``;
    ``fmt``: ``json`` or ``msgpack`` frames). A frame that says events were dropped (a slow consumer: see
    :data:`POLICY`) yields ``{"channel": "dropped", "count": n}`` first."""
    chans = [channels] if isinstance(channels, str) else list(channels)
    idl = [ids] if isinstance(ids, str) else list(ids)
    hub = None if url is not None or source is None else (source if isinstance(source, Hub) else hub_of(source))
    if hub is not None:
        sub = hub.subscription(chans, idl, maxsize=maxsize)
        try:
            while True:
                await sub.wait()
                if sub.closed:
                    return
                events, dropped = sub.drain()
                if dropped:
                    yield {"channel": "dropped", "count": dropped}
                for ev in events:
                    yield ev.to_dict()
        finally:
            sub.close()
    if url is None:
        raise ValueError("subscribe needs a hub (embedded) or the url of a server's /v1/stream")
    from websockets.asyncio.client import connect

    sep = "&" if "?" in url else "?"
    async with connect(f"{url}{sep}format={fmt}", max_size=None, compression=None,
                       additional_headers=dict(headers or {})) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channels": chans, "ids": idl}))
        async for data in ws:
            frame = decode_frame(data)
            if "error" in frame:
                from marketwire.errors import InvalidInput

                err = frame["error"]
                raise InvalidInput(str(err.get("message")), param=err.get("param"))
            if frame.get("dropped"):
                yield {"channel": "dropped", "count": frame["dropped"]}
            for ev in frame.get("events", ()):
                yield ev


__all__ = ["CHANNELS", "CHANNEL_OF", "MAXSIZE", "POLICY", "WILDCARD", "Chunk", "EncodedChunk", "Event", "Hub",
           "Subscription", "check_channels", "decode_frame", "dumps_row", "encode_frame", "hub_of",
           "identity_resolver", "play", "subscribe"]
