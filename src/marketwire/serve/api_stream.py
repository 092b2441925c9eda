"""Realtime serving: WebSocket ``/v1/stream``, Server-Sent Events ``/v1/stream/sse`` and ``/v1/stream/stats``.

WebSocket ``/v1/stream`` (``?format=json`` default, or ``?format=msgpack`` for binary frames):

* the client sends ``{"op": "subscribe", "channels": ["trades", "quotes"], "ids": ["AAPL", "*"]}`` (channels
  ``trades``, ``quotes``, ``book``, ``bars_1s``, ``bars_1m``; ids: a listing id, a ticker or any id the identity
  service resolves, or ``*`` for every listing) and ``{"op": "unsubscribe", ...}`` likewise; each is answered
  ``{"subscribed": [...]}`` / ``{"unsubscribed": [...]}`` naming ``channel:listing`` pairs, a bad one with
  ``{"error": {"code", "message", "param"}}`` (the connection stays open);
* event frames are ``{"events": [...]}`` (``"dropped": n`` first when the subscriber's queue overflowed; see the
  channel policies in :mod:`marketwire.stream.hub`). A frame carries every event pending when it is written, at most
  :data:`~marketwire.stream.hub.MAX_FRAME`; while a frame is being written new events wait for the next, so frames
  batch by themselves under load and never hold an event back on purpose. Each event is encoded once and its bytes
  are shared by every frame that carries it. The msgpack frame is a map with the same keys.
* ``{"op": "stats"}`` answers the subscriber's counters.

SSE ``GET /v1/stream/sse?channels=trades,quotes&ids=ID`` streams ``event: <channel>`` / ``data: <event JSON>``
messages for browsers (``EventSource``). A stream ends itself after ``seconds`` (default 25, below the server's
request timeout) with a ``retry`` hint; ``EventSource`` reconnects on its own.

Keys: a WebSocket is checked like a REST call: a key sent (``Authorization: Bearer KEY``) must be valid, and a server
that requires keys refuses a connection without one (close code 1008).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from marketwire.errors import MarketwireError

#: how long an SSE response lasts before it ends itself (the client reconnects)
SSE_SECONDS = 25.0


def stream_hub(app: Any) -> Any:
    """The app's hub: the stream service's (``mw.stream``) when the facade has one, else the app's own."""
    from marketwire.stream.hub import Hub, hub_of

    hub = getattr(app.state, "stream_hub", None)
    if hub is None:
        svc = None
        try:
            svc = getattr(app.state.marketwire, "stream", None)
        except MarketwireError:
            svc = None
        hub = hub_of(svc) if svc is not None else Hub()
        app.state.stream_hub = hub
    return hub


#: a connection whose unsent bytes exceed this is not written to until they drain (its events wait in its queue,
#: under the channel policies)
WRITE_HIGH = 1 << 20


def ws_frame(payload: bytes, binary: bool = False) -> bytes:
    """One unfragmented, unmasked server-to-client WebSocket frame (RFC 6455 5.2) holding ``payload``."""
    n = len(payload)
    op = 0x82 if binary else 0x81
    if n < 126:
        return bytes((op, n)) + payload
    if n < 65536:
        return bytes((op, 126)) + n.to_bytes(2, "big") + payload
    return bytes((op, 127)) + n.to_bytes(8, "big") + payload


def settle_heap() -> None:
    """Once a server has started: collect, then move every object made so far (the app, the lake's metadata, the
    identity service, imported modules) out of the garbage collector's reach (``gc.freeze``). A collection while
    streaming then scans only what streaming made, not the whole process: at 50,000 events/s the NATS bridge's rows
    trigger collections every few milliseconds, and a full one over the start-up heap paused the loop for up to 200 ms.
    Called by ``marketwire serve`` and ``stream serve``; not by tests, whose processes start many apps."""
    import gc

    gc.collect()
    gc.freeze()


def json_frame(events: bytes) -> bytes:
    """:func:`ws_frame` of ``{"events":[<events>]}`` (a text frame), built with one copy of ``events``."""
    n = len(events) + 13
    if n < 126:
        head = bytes((0x81, n))
    elif n < 65536:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return b"".join((head, b'{"events":[', events, b"]}"))


def raw_connection(send: Any) -> Any:
    """The server's protocol object behind an ASGI ``send`` when it is uvicorn's ``websockets-sansio`` WebSocket
    protocol (whose transport event frames can be written to directly, bypassing the ASGI send path); ``None``
    otherwise (the frames then go through ``send``). Middlewares that wrap ``send`` are looked through (closures)."""
    stack, seen = [send], 0
    while stack and seen < 16:
        f = stack.pop()
        seen += 1
        owner = getattr(f, "__self__", None)
        if type(owner).__name__ == "WebSocketsSansIOProtocol" and hasattr(getattr(owner, "transport", None), "write"):
            return owner
        for cell in getattr(f, "__closure__", None) or ():
            try:
                v = cell.cell_contents
            except ValueError:
                continue
            if callable(v):
                stack.append(v)
    return None


def _error(e: Exception) -> dict[str, Any]:
    if isinstance(e, MarketwireError):
        return {"error": {"code": e.code, "message": e.message, **({"param": e.fields["param"]}
                                                                   if "param" in e.fields else {})}}
    return {"error": {"code": "invalid_input", "message": str(e)[:300]}}


def _refuse_key(ws: WebSocket) -> str | None:
    """Why the connection is refused (a bad key, or none where keys are required); ``None``: let it in."""
    from marketwire.serve.access import AccessMiddleware
    from marketwire.serve.keys import KeyRefused, KeyStore

    policy = next((m.kwargs.get("policy") for m in getattr(ws.app, "user_middleware", ())
                   if getattr(m, "cls", None) is AccessMiddleware), None)
    auth = ws.headers.get("authorization")
    if auth is None:
        return "this server requires an API key" if policy is not None and policy.require_keys else None
    scheme, _, token = auth.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "the Authorization header must be `Bearer KEY`"
    try:
        key = KeyStore(ws.app.state.marketwire.home).verify(token.strip())
    except KeyRefused as e:
        return e.message
    return None if key.grants("read") else "the key lacks the read scope"


async def stream_ws(ws: WebSocket) -> None:
    from marketwire.stream.hub import check_channels, encode_frame

    fmt = ws.query_params.get("format", "json")
    if fmt not in ("json", "msgpack"):
        await ws.accept()
        await ws.send_text(json.dumps({"error": {"code": "invalid_input", "param": "format",
                                                 "message": f"`format`: {fmt!r} is not json or msgpack"}}))
        await ws.close(1008)
        return
    refused = _refuse_key(ws)
    if refused is not None:
        await ws.close(1008, reason=refused[:120])
        return
    await ws.accept()
    hub = stream_hub(ws.app)
    sub = hub.subscription()
    binary = fmt == "msgpack"

    async def control(obj: dict[str, Any]) -> None:
        if binary:
            import msgpack

            await ws.send_bytes(msgpack.packb(obj, default=str))
        else:
            await ws.send_text(json.dumps(obj, default=str))

    async def reader() -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None:  # a binary frame: read as UTF-8 JSON too
                raw = (message.get("bytes") or b"").decode("utf-8", "replace")
            try:
                msg = json.loads(raw)
                if not isinstance(msg, dict):
                    raise ValueError("a message is a JSON object with `op`")
                op = msg.get("op")
                if op == "stats":
                    await control({"stats": sub.counters()})
                    continue
                if op not in ("subscribe", "unsubscribe"):
                    raise ValueError(f"`op`: {op!r} is not subscribe, unsubscribe or stats")
                chans, ids = msg.get("channels"), msg.get("ids", "*")
                chans = [chans] if isinstance(chans, str) else chans
                ids = [ids] if isinstance(ids, str) else ids
                if not isinstance(chans, list) or not isinstance(ids, list) or not ids:
                    raise ValueError("`channels` and `ids` are lists (or one string each)")
                listings = await asyncio.get_running_loop().run_in_executor(None, hub.resolve, ids)
                pairs = (sub.add if op == "subscribe" else sub.remove)(check_channels(chans), listings)
                await control({f"{op}d": [f"{c}:{li}" for c, li in pairs]})
            except (MarketwireError, ValueError, TypeError) as e:
                await control(_error(e))

    proto = None if ws.scope.get("marketwire.no_raw") else raw_connection(getattr(ws, "_send", None))
    if proto is not None:
        transport = proto.transport

        writable, write, drain_json = proto.writable, transport.write, sub.drain_json

        def sink() -> bool:
            """Write what is pending straight to the socket, as frames of at most MAX_FRAME events (the event bytes
            are shared; each frame is framed here once). ``False`` when the socket's buffer is full with events
            still pending: the writer waits for it to drain."""
            while True:
                if proto.disconnected or transport.is_closing():
                    return True
                if transport.get_write_buffer_size() > WRITE_HIGH or not writable.is_set():
                    return False
                if binary:
                    events, dropped = sub.drain()
                    if events or dropped:
                        write(ws_frame(encode_frame(events, fmt, dropped), True))
                    elif sub._n:  # pragma: no cover - never spin
                        return True
                else:
                    body, n, dropped = drain_json()
                    if dropped:
                        write(ws_frame(b'{"dropped":' + str(dropped).encode() + b',"events":[' + body + b"]}"))
                    elif n:
                        write(json_frame(body))
                    elif sub._n:  # pragma: no cover - nothing drained though events are pending: never spin
                        return True
                if not sub._n:
                    return True

        sub.sink = sink

    async def writer() -> None:
        if proto is not None:
            while True:
                await sub.wait()
                if sub.closed or proto.disconnected or transport.is_closing():
                    return
                while transport.get_write_buffer_size() > WRITE_HIGH or not proto.writable.is_set():
                    await asyncio.sleep(0.005)
                    if proto.disconnected or transport.is_closing():
                        return
                sub.write_out()
        while True:
            await sub.wait()
            if sub.closed:
                return
            events, dropped = sub.drain()
            if not events and not dropped:
                continue
            frame = encode_frame(events, fmt, dropped)
            if binary:
                await ws.send_bytes(frame)
            else:
                await ws.send_text(frame.decode())

    tasks = [asyncio.ensure_future(reader()), asyncio.ensure_future(writer())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        sub.close()
        for t in tasks:
            t.cancel()
        for t in tasks:
            try:
                await t
            except (asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
                pass
            except Exception:  # noqa: BLE001 - a send on a closed socket: the client went away
                pass


def register(app: FastAPI, errors: Any = None) -> None:
    """Add the realtime routes to ``app`` (called once by :func:`marketwire.serve.api.create_app`)."""
    app.router.routes.append(WebSocketRoute("/v1/stream", stream_ws))

    @app.get("/v1/stream/sse", tags=["stream"], include_in_schema=False)
    async def stream_sse(request: Request, channels: str = Query("trades,quotes", max_length=200),
                         ids: str = Query("*", max_length=2000),
                         seconds: float = Query(SSE_SECONDS, gt=0, le=SSE_SECONDS)) -> Any:
        from marketwire.stream.hub import check_channels

        hub = stream_hub(request.app)
        chans = check_channels(c for c in channels.split(",") if c.strip())
        idl = [i for i in ids.split(",") if i.strip()]
        listings = await asyncio.get_running_loop().run_in_executor(None, hub.resolve, idl or ["*"])
        sub = hub.subscription(chans, listings)

        async def events() -> Any:
            end = time.monotonic() + seconds
            try:
                yield f"retry: 500\nevent: subscribed\ndata: {json.dumps([f'{c}:{li}' for c, li in sub.keys])}\n\n"
                while True:
                    left = end - time.monotonic()
                    if left <= 0 or await request.is_disconnected():
                        return
                    if not await sub.wait(min(left, 1.0)):
                        yield ": keep-alive\n\n"
                        continue
                    evs, dropped = sub.drain()
                    parts = [f"event: dropped\ndata: {dropped}\n\n"] if dropped else []
                    parts += [f"event: {e.channel}\ndata: {e.json().decode()}\n\n" for e in evs]
                    yield "".join(parts)
            finally:
                sub.close()

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.get("/v1/stream/stats", tags=["stream"], summary="The realtime hub's counters",
             response_description="Subscribers, events published per channel, deliveries queued, and the events "
                                  "dropped or conflated for slow subscribers by channel, with each channel's policy.",
             responses=errors() if errors else None)
    def stream_stats(request: Request) -> JSONResponse:
        return JSONResponse({"data": stream_hub(request.app).counters()})


# -- ``marketwire stream serve`` ----------------------------------------------------------------------------------

def replay_batches(paths: list[str], listing_of: Any) -> Any:
    """The event batches of feed files (any format the stream feeds read), file after file."""
    from marketwire.stream.feeds import detect, reader

    for path in paths:
        for chunk in reader(detect(path))(path, listing_of):
            if chunk.batch is not None and chunk.batch.num_rows:
                yield chunk.batch


async def serve_stream(app: FastAPI, host: str, port: int, *, replay: list[str] | None = None,
                       speed: float | None = 1.0, loop_replay: bool = False, bus: str | None = None,
                       connect: dict[str, Any] | None = None, ready: Any = None) -> None:
    """Serve ``app`` (REST, /v1/stream, the live pages) and feed its hub: ``replay`` files at ``speed`` (events go to
    subscribers; ``marketwire stream replay`` is what writes the log), a live feed (``connect``: url, venue,
    subscriptions, market, rest; its events are verified into the log too) and/or the NATS bus (``bus``)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info", ws="websockets-sansio"))
    serving = asyncio.ensure_future(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
            return
        await asyncio.sleep(0.02)
    hub = stream_hub(app)
    hub.bind()
    settle_heap()
    tasks = []
    mw = app.state.marketwire
    if bus:
        from marketwire.stream.bus import Bus, bridge

        b = await Bus(bus).connect()
        await bridge(b, hub)
    if replay:
        from marketwire.stream.hub import play

        svc = mw.stream

        async def replaying() -> None:
            while True:
                batches = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: list(replay_batches(replay, svc.listing_of)))
                await play(hub, batches, speed)
                if not loop_replay:
                    return

        tasks.append(asyncio.ensure_future(replaying()))
    if connect:
        from marketwire.stream.live import run_into

        tasks.append(asyncio.ensure_future(run_into(mw.stream, **connect)))  # its batches reach the hub
    if ready is not None:
        ready(server)
    await serving
    for t in tasks:
        t.cancel()


__all__ = ["SSE_SECONDS", "register", "replay_batches", "serve_stream", "settle_heap", "stream_hub", "stream_ws"]
