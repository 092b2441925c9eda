"""NATS JetStream mode (``--bus nats://127.0.0.1:4222``): the same events on a durable, replayable bus.

Layout: one JetStream stream per event type -- ``MW_TRADES``, ``MW_QUOTES``, ``MW_BOOK``, ``MW_STATUS``,
``MW_BARS`` (``<prefix>`` configurable, e.g. a test's unique name) -- each capturing the subjects
``mw.<channel>.<listing>`` (``mw.trades.<listing>``, ``mw.quotes.<listing>``, ``mw.book.<listing>``,
``mw.status.<listing>``, ``mw.bars_1s.<listing>`` / ``mw.bars_1m.<listing>``). A listing id is put into one subject
token: characters NATS reserves (``.``, ``*``, ``>``, spaces) are escaped as ``~XX`` (hex); :func:`listing_of_subject`
undoes it.

A message carries a *batch* of event rows of one channel (the columns of :mod:`marketwire.stream.events`), at most
:data:`MESSAGE_ROWS` of them, in JSON lines grouped by listing (:func:`encode_message`)::

    MWJ1
    <listing id>\t<number of events>
    <event JSON>
    ...

each event's JSON object exactly as a WebSocket frame carries it (:func:`marketwire.stream.hub.dumps_row`), so that a
server fanning the bus out to WebSocket subscribers neither decodes nor re-encodes an event (it puts the channel in
front); any consumer reads a line with a JSON parser. Messages of earlier versions (a msgpack list of rows) are still
read. :meth:`Bus.publish_rows` groups rows by listing and publishes one message per listing; the last message of each stream in a call is published with a JetStream acknowledgement and the others
without waiting, so a call returns once JetStream has stored the whole batch (a stream stores its messages in the
order they arrive from one connection; the acknowledgement names the stream sequence of the last one).
"Acknowledged" in NATS mode therefore means "stored by JetStream" (with the server's own file-store sync policy),
not fsynced by marketwire's log.

A call that touches more than :data:`MULTI_AT` listings (a replay's or a busy feed's millisecond of events across
many listings) sends its rows together instead, in messages to ``<root>.<channel>.~ALL`` (each row names its
``listing_id``; ``~ALL`` is no listing's token): at 50,000 events/s over 100 listings that is two messages per
millisecond instead of a hundred. Consumers see the same ``(sequence, channel, listing, rows)`` either way: a
many-listing message is handed over one listing at a time, and a consumer of one listing reads its subject and
``~ALL`` (one ordered consumer, two filter subjects) and keeps that listing's rows.

Consumers resume from a sequence: :meth:`Bus.consume` delivers ``(stream sequence, channel, listing, rows)`` from
``start_seq`` on (an ordered push consumer, ``DeliverPolicy.BY_START_SEQUENCE``), so a subscriber that remembers the
last sequence it handled picks up exactly after it. :func:`bridge` feeds a hub (:mod:`marketwire.stream.hub`) from
the bus: that is how ``stream serve --bus`` serves events another process published.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

#: channel -> the stream (suffix) that holds it
STREAM_OF = {"trades": "TRADES", "quotes": "QUOTES", "book": "BOOK", "status": "STATUS", "bars_1s": "BARS",
             "bars_1m": "BARS"}
#: event kind of the event model -> channel
CHANNEL_OF = {"trade": "trades", "quote": "quotes", "book": "book", "status": "status"}
#: the most event rows in one message (~250 bytes each in JSON: well under NATS's 1 MB payload limit)
MESSAGE_ROWS = 2_000
#: a call touching more listings than this sends their rows together, in messages to ``<root>.<channel>.~ALL``
MULTI_AT = 4
#: the subject token of a message holding many listings' rows (no listing's token: ``~`` is escaped as ``~7E``)
ALL_TOKEN = "~ALL"
_RESERVED = re.compile(r"[.*>~\s]")
#: the first line of a message in JSON lines (:func:`encode_message`)
JSONL = b"MWJ1\n"


def subject_token(listing: str) -> str:
    return _RESERVED.sub(lambda m: "~%02X" % ord(m.group(0)), listing)


def listing_of_subject(token: str) -> str:
    return re.sub(r"~([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), token)


log = logging.getLogger(__name__)


def encode_message(sections: Iterable[tuple[str, Sequence[Mapping[str, Any]]]]) -> bytes:
    """One bus message: ``(listing id, rows)`` sections in JSON lines (the module docstring). A listing id holding
    a tab or a line break cannot be framed and is refused, named."""
    from marketwire.stream.hub import dumps_row

    parts = [JSONL]
    for listing, rows in sections:
        if "\t" in listing or "\n" in listing or "\r" in listing:
            from marketwire.errors import InvalidInput

            raise InvalidInput(f"`listing_id`: {listing!r} holds a tab or a line break; it cannot go on the bus",
                               param="listing_id", value=listing)
        parts.append(f"{listing}\t{len(rows)}\n".encode())
        if rows:
            parts.append(b"\n".join([dumps_row(r) for r in rows]))
            parts.append(b"\n")
    return b"".join(parts)


def decode_sections(data: bytes) -> list[tuple[str, list[bytes]]]:
    """``(listing id, [event JSON, ...])`` of a JSON-lines message, no event decoded."""
    from marketwire.errors import InvalidInput

    lines = data.split(b"\n")
    out: list[tuple[str, list[bytes]]] = []
    i, end = 1, len(lines) - 1  # lines[0] is the marker; the message ends with a line break
    try:
        while i < end:
            listing, tab, n = lines[i].partition(b"\t")
            k = int(n)
            if not tab or k < 0 or i + 1 + k > end:
                raise ValueError(f"line {i + 1}: {lines[i][:80]!r} is not `<listing>\\t<count>` of what follows")
            out.append((listing.decode(), lines[i + 1:i + 1 + k]))
            i += 1 + k
    except ValueError as e:
        raise InvalidInput(f"a bus message is not in the JSON-lines layout: {e}", param="message") from None
    return out


def message_rows(data: bytes, listing: str | None = None) -> list[tuple[str | None, list[dict[str, Any]]]]:
    """The rows of a message in either encoding, as ``(listing id, rows)`` per listing: a JSON-lines message names
    its listings; a msgpack one (earlier versions) is one section under ``listing`` (the subject's listing, ``None``
    for a many-listing message, whose rows each name their ``listing_id``)."""
    if data.startswith(JSONL):
        import orjson

        loads = orjson.loads
        return [(li, [loads(e) for e in enc]) for li, enc in decode_sections(data)]
    import msgpack

    return [(listing, msgpack.unpackb(data, raw=False))]


class Bus:
    """A connection to NATS JetStream with marketwire's streams (see the module docstring)."""

    def __init__(self, url: str = "nats://127.0.0.1:4222", *, prefix: str = "MW", subject_root: str = "mw") -> None:
        self.url, self.prefix, self.root = url, prefix, subject_root
        self.nc: Any = None
        self.js: Any = None
        self.published = 0
        self.messages = 0
        self._tails: list[CoreTail] = []

    async def connect(self) -> Bus:
        import nats

        from marketwire.errors import MarketwireError

        async def quiet(e: Exception) -> None:  # the client's own errors: logged here, not printed as tracebacks
            log.debug("nats %s: %s: %s", self.url, type(e).__name__, e)

        try:
            self.nc = await nats.connect(self.url, connect_timeout=2, max_reconnect_attempts=3, reconnect_time_wait=0.2,
                                         allow_reconnect=True, error_cb=quiet)
        except Exception as e:  # noqa: BLE001 - nats raises its own and OSError: one clear message
            raise MarketwireError(f"cannot connect to NATS at {self.url}: {type(e).__name__}: {e}") from None
        self.js = self.nc.jetstream()
        await self.ensure_streams()
        return self

    def stream_name(self, channel: str) -> str:
        return f"{self.prefix}_{STREAM_OF[channel]}"

    def subjects(self, stream_suffix: str) -> list[str]:
        chans = [c for c, s in STREAM_OF.items() if s == stream_suffix]
        return [f"{self.root}.{c}.>" for c in chans]

    async def ensure_streams(self) -> None:
        from nats.js.api import StreamConfig
        from nats.js.errors import NotFoundError

        for suffix in sorted(set(STREAM_OF.values())):
            name = f"{self.prefix}_{suffix}"
            try:
                await self.js.stream_info(name)
            except NotFoundError:
                await self.js.add_stream(StreamConfig(name=name, subjects=self.subjects(suffix)))

    async def delete_streams(self) -> None:
        from nats.js.errors import NotFoundError

        for suffix in sorted(set(STREAM_OF.values())):
            try:
                await self.js.delete_stream(f"{self.prefix}_{suffix}")
            except NotFoundError:
                pass

    async def close(self) -> None:
        for tail in self._tails:
            tail.close()
        self._tails.clear()
        if self.nc is not None:
            await self.nc.drain()
            self.nc = None

    # -- publishing

    async def publish_rows(self, kind_or_channel: str, rows: Sequence[Mapping[str, Any]], *,
                           wait: bool = True) -> int | None:
        """Publish event rows of one kind (``trade``...) or channel (``trades``, ``bars_1m``...), one message per
        listing; returns the stream sequence of the last message once JetStream has acknowledged it.
        ``wait=False``: hand the messages to the connection and return at once (``None``; the client's flusher
        sends them on the next loop iteration): a live feed that must not wait a round trip per millisecond, and
        that learns of trouble from the connection, not from a missing acknowledgement."""
        channel = CHANNEL_OF.get(kind_or_channel, kind_or_channel)
        if not rows:
            return None
        groups: dict[str, list[Mapping[str, Any]]] = {}
        for r in rows:
            groups.setdefault(r["listing_id"], []).append(r)
        # one message per listing (or, over MULTI_AT listings, all of them together), split so that none exceeds
        # NATS's payload limit (1 MB by default)
        if len(groups) > MULTI_AT:
            rows = list(rows)
            items = [(None, rows[i:i + MESSAGE_ROWS]) for i in range(0, len(rows), MESSAGE_ROWS)]
        else:
            items = [(listing, group[i:i + MESSAGE_ROWS]) for listing, group in groups.items()
                     for i in range(0, len(group), MESSAGE_ROWS)]
        nc = self.nc

        def pack(group: Sequence[Mapping[str, Any]], listing: str | None) -> bytes:
            if listing is not None:
                return encode_message([(listing, group)])
            sections: dict[str, list[Mapping[str, Any]]] = {}
            for r in group:
                g = sections.get(r["listing_id"])
                if g is None:
                    sections[r["listing_id"]] = [r]
                else:
                    g.append(r)
            return encode_message(sections.items())

        for listing, group in items[:-1]:
            token = ALL_TOKEN if listing is None else subject_token(listing)
            await nc.publish(f"{self.root}.{channel}.{token}", pack(group, listing))
        listing, group = items[-1]
        token = ALL_TOKEN if listing is None else subject_token(listing)
        if not wait:
            await nc.publish(f"{self.root}.{channel}.{token}", pack(group, listing))
            self.published += len(rows)
            self.messages += len(items)
            return None
        ack = await self.js.publish(f"{self.root}.{channel}.{token}", pack(group, listing),
                                    stream=self.stream_name(channel))
        self.published += len(rows)
        self.messages += len(items)
        return int(ack.seq)

    async def publish_batch(self, batch: Any) -> int | None:
        """Publish an event batch (pyarrow RecordBatch of :mod:`marketwire.stream.events`)."""
        from marketwire.stream.events import kind_of

        return await self.publish_rows(kind_of(batch), batch.to_pylist())

    # -- consuming

    async def consume(self, channels: Iterable[str], on_batch: Callable[[int, str, str, list[dict[str, Any]]], Any],
                      *, start_seq: int | None = None, listing: str = ">") -> list[Any]:
        """Deliver ``(stream sequence, channel, listing, rows)`` for ``channels`` from ``start_seq`` on (default:
        only new messages) to ``on_batch`` (a function or a coroutine function). Returns the subscriptions
        (``await s.unsubscribe()`` to stop)."""
        from nats.js.api import DeliverPolicy

        subs = []
        for channel in channels:
            subject = f"{self.root}.{channel}.{listing if listing == '>' else subject_token(listing)}"
            cut = len(self.root) + len(channel) + 2

            async def cb(msg: Any, channel: str = channel, cut: int = cut) -> None:
                seq = int(msg.metadata.sequence.stream)
                token = msg.subject[cut:]
                for li, rows in _by_listing(message_rows(msg.data, None if token == ALL_TOKEN
                                                         else listing_of_subject(token))):
                    if listing != ">" and li != listing:  # a server without filter_subjects sends the whole stream
                        continue
                    out = on_batch(seq, channel, li, rows)
                    if isinstance(out, Awaitable):
                        await out

            if start_seq is None:
                policy, seq = DeliverPolicy.NEW, None
            else:
                policy, seq = DeliverPolicy.BY_START_SEQUENCE, max(1, int(start_seq))
            from nats.js.api import ConsumerConfig

            config = ConsumerConfig(deliver_policy=policy, opt_start_seq=seq)
            if listing != ">":  # the listing's own subject and the many-listing messages, in one order
                config.filter_subjects = [subject, f"{self.root}.{channel}.{ALL_TOKEN}"]
            subs.append(await self.js.subscribe(subject, cb=cb, ordered_consumer=True, config=config,
                                                stream=self.stream_name(channel)))
        return subs


    async def tail(self, channels: Iterable[str], on_rows: Callable[[str, str | None, list[dict[str, Any]]], Any],
                   on_encoded: Callable[[str, list[tuple[str, list[bytes]]]], Any] | None = None) -> list[Any]:
        """Live messages only, as they are published (a core NATS subscription to the streams' subjects: no
        JetStream consumer, no sequence, no flow control in the way): ``on_rows(channel, listing, rows)`` with
        ``listing`` ``None`` for a many-listing message of an earlier version (each row names its ``listing_id``),
        called as soon as the message has been read; with ``on_encoded``, a JSON-lines message goes there instead,
        undecoded: ``on_encoded(channel, [(listing, [event JSON, ...]), ...])``. What a live fan-out wants; a
        consumer that must resume uses :meth:`consume`.

        On a plain ``nats://`` URL the subscription is a connection of its own speaking the NATS client protocol
        directly (:class:`CoreTail`): each message is handed over in the read callback that received it, where
        the client library would pass it through its reader task and then the subscription's task (two event-loop
        iterations more per message). Other URLs (``tls://``) subscribe through the client library. Returns the
        subscriptions (``await s.unsubscribe()`` to stop)."""
        def handle(channel: str, cut: int, subject: str, data: bytes) -> None:
            if on_encoded is not None and data.startswith(JSONL):
                on_encoded(channel, decode_sections(data))
                return
            token = subject[cut:]
            for li, rows in message_rows(data, None if token == ALL_TOKEN else listing_of_subject(token)):
                on_rows(channel, li, rows)

        if CoreTail.usable(self.url):
            handlers: dict[str, Callable[[str, bytes], None]] = {}
            for channel in channels:
                cut = len(self.root) + len(channel) + 2
                handlers[f"{self.root}.{channel}.>"] = (
                    lambda subject, data, channel=channel, cut=cut: handle(channel, cut, subject, data))
            tail = await CoreTail(self.url, handlers).connect()
            self._tails.append(tail)
            return tail.subscriptions

        subs = []
        for channel in channels:
            cut = len(self.root) + len(channel) + 2

            async def cb(msg: Any, channel: str = channel, cut: int = cut) -> None:
                handle(channel, cut, msg.subject, msg.data)

            subs.append(await self.nc.subscribe(f"{self.root}.{channel}.>", cb=cb))
        return subs


class CoreTail(asyncio.Protocol):
    """A core NATS subscriber speaking the client protocol (``INFO``, ``CONNECT``, ``SUB``/``UNSUB``,
    ``MSG``/``HMSG``, ``PING``/``PONG``, ``-ERR``; https://docs.nats.io/reference/reference-protocols/nats-protocol)
    on a connection of its own: ``handlers`` maps a subject (wildcards allowed) to ``handler(subject, payload)``,
    called from the read callback as each message is parsed. A handler's exception is logged, never ends the
    subscription. A lost connection is re-established (backoff up to 2 s) and the subjects subscribed again;
    messages published meanwhile are not seen (core NATS: what a live tail is; :meth:`Bus.consume` resumes from a
    sequence). Plain TCP only, with the URL's user and password or token."""

    RETRY_MAX = 2.0

    def __init__(self, url: str, handlers: Mapping[str, Callable[[str, bytes], None]]) -> None:
        from urllib.parse import unquote, urlsplit

        u = urlsplit(url if "://" in url else f"nats://{url}")
        self.url, self.host, self.port = url, u.hostname or "127.0.0.1", u.port or 4222
        self.auth: dict[str, str] = {}
        if u.username and u.password is not None:
            self.auth = {"user": unquote(u.username), "pass": unquote(u.password)}
        elif u.username:
            self.auth = {"auth_token": unquote(u.username)}
        self.handlers = dict(handlers)
        self._by_sid: dict[int, Callable[[str, bytes], None]] = {}
        self.subscriptions = [_TailSubscription(self, sid, subject)
                              for sid, subject in enumerate(self.handlers, start=1)]
        for sub in self.subscriptions:
            self._by_sid[sub.sid] = self.handlers[sub.subject]
        self.transport: Any = None
        self._buf = bytearray()
        self._ready: asyncio.Future[None] | None = None
        self._closing = False
        self._reconnecting = False
        self._retry: asyncio.Task[None] | None = None
        self.messages = 0
        self.reconnects = 0

    @staticmethod
    def usable(url: str) -> bool:
        scheme = url.split("://", 1)[0].lower() if "://" in url else "nats"
        return scheme == "nats" and "," not in url

    async def connect(self, timeout: float = 2.0, *, first: bool = True) -> CoreTail:
        """Connect and subscribe; returns once the server has answered (``PONG`` after the ``SUB`` commands)."""
        from marketwire.errors import MarketwireError

        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        try:
            await asyncio.wait_for(loop.create_connection(lambda: self, self.host, self.port), timeout)
            await asyncio.wait_for(self._ready, timeout)
        except (MarketwireError, OSError, TimeoutError, asyncio.TimeoutError) as e:
            if first:  # the caller hears of it; nothing retries
                self.close()
            elif self.transport is not None:
                self.transport.close()
            if isinstance(e, MarketwireError):
                raise
            raise MarketwireError(f"cannot subscribe at NATS {self.url}: {type(e).__name__}: {e}") from None
        return self

    # -- asyncio.Protocol
    def connection_made(self, transport: Any) -> None:
        import socket

        self.transport = transport
        self._buf.clear()
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self._ready is not None and not self._ready.done():
            from marketwire.errors import MarketwireError

            self._ready.set_exception(MarketwireError(f"NATS {self.url} closed the connection"))
        if not self._closing and not self._reconnecting:
            log.warning("nats %s: live subscription lost (%s); reconnecting", self.url, exc)
            self._reconnecting = True
            self._retry = asyncio.get_event_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        wait = 0.1
        try:
            while not self._closing:
                await asyncio.sleep(wait)
                if self._closing:
                    return
                try:
                    await self.connect(first=False)
                    self.reconnects += 1
                    return
                except Exception as e:  # noqa: BLE001 - keep trying; the server may be restarting
                    log.debug("nats %s: reconnect failed: %s", self.url, e)
                    wait = min(self.RETRY_MAX, wait * 2)
        finally:
            self._reconnecting = False

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos, n = 0, len(buf)
        by_sid = self._by_sid
        while True:
            i = buf.find(b"\r\n", pos)
            if i < 0:
                break
            op = buf[pos:pos + 4]
            if op == b"MSG " or op == b"HMSG":
                head = bytes(buf[pos + (4 if op == b"MSG " else 5):i]).split()
                if op == b"MSG ":
                    start, end = i + 2, i + 2 + int(head[-1])
                else:  # HMSG subject sid [reply] header-bytes total-bytes: the payload follows the headers
                    start, end = i + 2 + int(head[-2]), i + 2 + int(head[-1])
                if end + 2 > n:
                    break
                pos = end + 2
                handler = by_sid.get(int(head[1]))
                if handler is not None:
                    self.messages += 1
                    try:
                        handler(head[0].decode(), bytes(buf[start:end]))
                    except Exception:  # noqa: BLE001 - one bad message never ends the subscription
                        log.exception("nats %s: a message on %s could not be handled", self.url, head[0])
                continue
            line = bytes(buf[pos:i])
            pos = i + 2
            if line.startswith(b"PING"):
                self.transport.write(b"PONG\r\n")
            elif line.startswith(b"PONG"):
                if self._ready is not None and not self._ready.done():
                    self._ready.set_result(None)
            elif line.startswith(b"INFO"):
                if self._ready is not None and not self._ready.done():
                    self._hello(line)
            elif line.startswith(b"-ERR"):
                msg = line[5:].decode(errors="replace").strip().strip("'")
                log.warning("nats %s: %s", self.url, msg)
                if self._ready is not None and not self._ready.done():
                    from marketwire.errors import MarketwireError

                    self._ready.set_exception(MarketwireError(f"NATS {self.url} refused the subscription: {msg}"))
        del buf[:pos]

    def _hello(self, info: bytes) -> None:
        import json

        try:
            server = json.loads(info[5:] or b"{}")
        except ValueError:
            server = {}
        if server.get("tls_required") and self._ready is not None and not self._ready.done():
            from marketwire.errors import MarketwireError

            self._ready.set_exception(MarketwireError(
                f"NATS {self.url} requires TLS: give its tls:// URL (subscribed through the client library)"))
            self.close()
            return
        opts = {"verbose": False, "pedantic": False, "lang": "python", "version": "marketwire", "protocol": 1,
                "headers": True, "no_responders": True, "name": "marketwire-tail", **self.auth}
        cmds = [b"CONNECT " + json.dumps(opts, separators=(",", ":")).encode() + b"\r\n"]
        cmds += [f"SUB {s.subject} {s.sid}\r\n".encode() for s in self.subscriptions if s.sid in self._by_sid]
        cmds.append(b"PING\r\n")
        self.transport.write(b"".join(cmds))

    def unsubscribe(self, sid: int) -> None:
        if self._by_sid.pop(sid, None) is not None and self.transport is not None:
            self.transport.write(f"UNSUB {sid}\r\n".encode())
        if not self._by_sid:
            self.close()

    def close(self) -> None:
        self._closing = True
        if self.transport is not None:
            self.transport.close()


class _TailSubscription:
    """One subject of a :class:`CoreTail` (``await s.unsubscribe()``, as a client library's subscription)."""

    def __init__(self, tail: CoreTail, sid: int, subject: str) -> None:
        self.tail, self.sid, self.subject = tail, sid, subject

    async def unsubscribe(self) -> None:
        self.tail.unsubscribe(self.sid)


def _by_listing(sections: list[tuple[str | None, list[dict[str, Any]]]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Sections whose listing is ``None`` (a many-listing msgpack message) split by each row's ``listing_id``."""
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for li, rows in sections:
        if li is not None:
            out.append((li, rows))
            continue
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(r["listing_id"], []).append(r)
        out.extend(groups.items())
    return out


async def bridge(bus: Bus, hub: Any, channels: Iterable[str] = ("trades", "quotes", "book", "bars_1s", "bars_1m"),
                 start_seq: int | None = None) -> list[Any]:
    """Feed ``hub`` from the bus: every batch consumed is published to the hub's subscribers. Without ``start_seq``
    the bridge is live: it reads what is published from now on (:meth:`Bus.tail`, the shortest path); with it,
    it replays the streams from that sequence on (:meth:`Bus.consume`) and goes on live."""
    from marketwire.stream.hub import Event

    if start_seq is None:
        # the rows of every message read in one loop iteration are published together, once the iteration's messages
        # are in (at the start of the hub's flush): one chunk per listing and channel for all of them. Keeping up, that is a message or two; behind
        # (the server short of CPU, messages waiting in the client), it is everything waiting, so each event costs
        # less the further behind the server is, and it catches up instead of staying behind
        # the encoded sections of JSON-lines messages are published as they are (the events' JSON goes to the frames
        # undecoded); rows of earlier versions' messages are published as rows
        waiting: dict[str, list[dict[str, Any]]] = {}
        waiting_encoded: dict[str, list[tuple[str, list[bytes]]]] = {}

        def publish_waiting() -> None:
            items = list(waiting.items())
            encoded = list(waiting_encoded.items())
            waiting.clear()
            waiting_encoded.clear()
            for channel, rows in items:
                hub.publish_rows(channel, rows)  # one chunk per listing, no per-event object
            for channel, sections in encoded:
                hub.publish_encoded(channel, sections)

        def schedule() -> None:
            if not waiting and not waiting_encoded:
                hub.defer(publish_waiting)  # published at the start of the hub's next flush, and written in it

        def on_rows(channel: str, listing: str | None, rows: list[dict[str, Any]]) -> None:
            if channel.startswith("bars_"):
                hub.publish([Event(channel, listing or r["listing_id"], r, key=r.get("start")) for r in rows])
                return
            schedule()
            got = waiting.get(channel)
            if got is None:
                waiting[channel] = rows
            else:
                got.extend(rows)

        def on_encoded(channel: str, sections: list[tuple[str, list[bytes]]]) -> None:
            if channel.startswith("bars_"):  # updates of one bar conflate: by their key, so decoded
                from marketwire.stream.hub import EncodedChunk

                for li, enc in sections:
                    on_rows(channel, li, EncodedChunk(channel, li, enc).rows)
                return
            schedule()
            got = waiting_encoded.get(channel)
            if got is None:
                waiting_encoded[channel] = sections
            else:
                got.extend(sections)

        return await bus.tail(channels, on_rows, on_encoded)

    def on_batch(seq: int, channel: str, listing: str, rows: list[dict[str, Any]]) -> None:
        if channel.startswith("bars_"):
            hub.publish([Event(channel, listing, r, key=r.get("start")) for r in rows])
        else:
            hub.publish([Event(channel, listing, r) for r in rows])

    return await bus.consume(channels, on_batch, start_seq=start_seq)


class BlockingPublisher:
    """A :class:`Bus` for synchronous code (a replay, a CLI): its own event loop in a background thread.
    :meth:`publish_batch` returns once JetStream has acknowledged the batch, so it can be registered as a listener of
    the stream service (``mw.stream.on_batch(publisher.publish_batch)``) and every batch the log acknowledges is on
    the bus too."""

    def __init__(self, url: str = "nats://127.0.0.1:4222", **kw: Any) -> None:
        import threading

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="mw-bus", daemon=True)
        self._thread.start()
        self.bus = Bus(url, **kw)
        self._call(self.bus.connect())

    def _call(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def publish_batch(self, batch: Any) -> int | None:
        return self._call(self.bus.publish_batch(batch))  # type: ignore[no-any-return]

    def publish_rows(self, kind: str, rows: Sequence[Mapping[str, Any]]) -> int | None:
        return self._call(self.bus.publish_rows(kind, rows))  # type: ignore[no-any-return]

    def close(self) -> None:
        try:
            self._call(self.bus.close(), 10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


__all__ = ["BlockingPublisher", "Bus", "CHANNEL_OF", "CoreTail", "JSONL", "decode_sections", "encode_message",
           "message_rows", "STREAM_OF", "bridge", "listing_of_subject", "subject_token"]
