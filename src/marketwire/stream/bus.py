"""NATS JetStream mode (``--bus nats://127.0.0.1:4222``): the same events on a durable, replayable bus.

Layout: one JetStream stream per event type -- ``MW_TRADES``, ``MW_QUOTES``, ``MW_BOOK``, ``MW_STATUS``,
``MW_BARS`` (``<prefix>`` configurable, e.g. a test's unique name) -- each capturing the subjects
``mw.<channel>.<listing>`` (``mw.trades.<listing>``, ``mw.quotes.<listing>``, ``mw.book.<listing>``,
``mw.status.<listing>``, ``mw.bars_1s.<listing>`` / ``mw.bars_1m.<listing>``). A listing id is put into one subject
token: characters NATS reserves (``.``, ``*``, ``>``, spaces) are escaped as ``~XX`` (hex); :func:`listing_of_subject`
undoes it.

A message carries a *batch*: the msgpack-encoded list of event rows of one channel and one listing (the columns of
:mod:`marketwire.stream.events`), at most :data:`MESSAGE_ROWS` of them. :meth:`Bus.publish_rows` groups rows by listing and publishes one message per
listing; the last message of each stream in a call is published with a JetStream acknowledgement and the others
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
#: the most event rows in one message (~150 bytes each in msgpack: well under NATS's 1 MB payload limit)
MESSAGE_ROWS = 2_000
#: a call touching more listings than this sends their rows together, in messages to ``<root>.<channel>.~ALL``
MULTI_AT = 4
#: the subject token of a message holding many listings' rows (no listing's token: ``~`` is escaped as ``~7E``)
ALL_TOKEN = "~ALL"
_RESERVED = re.compile(r"[.*>~\s]")


def subject_token(listing: str) -> str:
    return _RESERVED.sub(lambda m: "~%02X" % ord(m.group(0)), listing)


def listing_of_subject(token: str) -> str:
    return re.sub(r"~([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), token)


log = logging.getLogger(__name__)

class Bus:
    """A connection to NATS JetStream with marketwire's streams (see the module docstring)."""

    def __init__(self, url: str = "nats://127.0.0.1:4222", *, prefix: str = "MW", subject_root: str = "mw") -> None:
        self.url, self.prefix, self.root = url, prefix, subject_root
        self.nc: Any = None
        self.js: Any = None
        self.published = 0
        self.messages = 0

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
        import msgpack

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
        pack = msgpack.Packer(default=_default).pack
        for listing, group in items[:-1]:
            token = ALL_TOKEN if listing is None else subject_token(listing)
            await nc.publish(f"{self.root}.{channel}.{token}", pack(group))
        listing, group = items[-1]
        token = ALL_TOKEN if listing is None else subject_token(listing)
        if not wait:
            await nc.publish(f"{self.root}.{channel}.{token}", pack(group))
            self.published += len(rows)
            self.messages += len(items)
            return None
        ack = await self.js.publish(f"{self.root}.{channel}.{token}", pack(group), stream=self.stream_name(channel))
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
        import msgpack
        from nats.js.api import DeliverPolicy

        subs = []
        for channel in channels:
            subject = f"{self.root}.{channel}.{listing if listing == '>' else subject_token(listing)}"
            cut = len(self.root) + len(channel) + 2

            async def cb(msg: Any, channel: str = channel, cut: int = cut) -> None:
                rows = msgpack.unpackb(msg.data, raw=False)
                seq = int(msg.metadata.sequence.stream)
                token = msg.subject[cut:]
                if token != ALL_TOKEN:
                    li = listing_of_subject(token)
                    if listing != ">" and li != listing:  # a server without filter_subjects sends the whole stream
                        return
                    out = on_batch(seq, channel, li, rows)
                    if isinstance(out, Awaitable):
                        await out
                    return
                groups: dict[str, list[dict[str, Any]]] = {}
                for r in rows:
                    groups.setdefault(r["listing_id"], []).append(r)
                for li, group in groups.items():
                    if listing != ">" and li != listing:
                        continue
                    out = on_batch(seq, channel, li, group)
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
                   ) -> list[Any]:
        """Live messages only, as they are published (a core NATS subscription to the streams' subjects: no
        JetStream consumer, no sequence, no flow control in the way): ``on_rows(channel, listing, rows)`` with
        ``listing`` ``None`` for a many-listing message (each row names its ``listing_id``). What a live fan-out
        wants; a consumer that must resume uses :meth:`consume`."""
        import msgpack

        subs = []
        for channel in channels:
            cut = len(self.root) + len(channel) + 2

            async def cb(msg: Any, channel: str = channel, cut: int = cut) -> None:
                token = msg.subject[cut:]
                on_rows(channel, None if token == ALL_TOKEN else listing_of_subject(token),
                        msgpack.unpackb(msg.data, raw=False))

            subs.append(await self.nc.subscribe(f"{self.root}.{channel}.>", cb=cb))
        return subs


def _default(v: Any) -> Any:
    return str(v)


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
        waiting: dict[str, list[dict[str, Any]]] = {}

        def publish_waiting() -> None:
            items = list(waiting.items())
            waiting.clear()
            for channel, rows in items:
                hub.publish_rows(channel, rows)  # one chunk per listing, no per-event object

        def on_rows(channel: str, listing: str | None, rows: list[dict[str, Any]]) -> None:
            if channel.startswith("bars_"):
                hub.publish([Event(channel, listing or r["listing_id"], r, key=r.get("start")) for r in rows])
                return
            got = waiting.get(channel)
            if got is None:
                if not waiting:
                    hub.defer(publish_waiting)  # published at the start of the hub's next flush, and written in it
                waiting[channel] = rows
            else:
                got.extend(rows)

        return await bus.tail(channels, on_rows)

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


__all__ = ["BlockingPublisher", "Bus", "CHANNEL_OF", "STREAM_OF", "bridge", "listing_of_subject", "subject_token"]
