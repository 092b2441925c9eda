"""Feed-to-client latency of the realtime serving path on loopback.

A replay of real Lean equity ticks (BAC trades and quotes of 2013-10-07, normalised by the stream feed reader) at
``--rate`` events/s (default 50,000) spread round-robin over ``--listings`` listings (default 100: ``BENCH:000`` ..
``BENCH:099``; the events are real, their spread over 100 listings is the benchmark's), for ``--seconds`` seconds.
``--subscribers`` WebSocket clients (default 100) each subscribe to trades and quotes of one listing, plus one client
to every listing (``*``). Latency = the client's clock when it has decoded the frame minus the event's ``ts_recv``,
which the feed stamps when it hands the event over (loopback: one machine, one clock).

Modes:
  embedded: the feed runs inside the server process and publishes to the hub directly;
  nats:     a separate feed process publishes each tick's events to NATS JetStream (``mw.trades.~ALL``: over 4
            listings in a call share messages; without waiting for an acknowledgement per tick), the server reads
            them live (``bridge``: a core NATS subscription to the streams' subjects) and fans out through the hub.
Peer: a bare ``websockets`` broadcast server (no framework, no hub, no policy: each client gets the events of its
listing, one JSON frame per feed tick, encoded once per listing and tick) fed by the same replay in-process: what
the plain library does on the same machine in the same run.

Processes: server (uvicorn + the app of ``marketwire serve``), clients (all subscribers in one process; uvloop with
MW_BENCH_UVLOOP=1), feed (nats mode). CPU use per process = its CPU seconds / wall seconds during the replay.

    python benchmarks/stream_latency.py [--mode embedded,nats,peer] [--rate 50000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))


def _loop(role: str = "") -> None:
    """uvloop for the roles named in MW_BENCH_UVLOOP (``1``: every role; else a comma list of server, clients, feed,
    peer); the stdlib loop otherwise."""
    want = os.environ.get("MW_BENCH_UVLOOP", "").strip()
    if not want or (want != "1" and role not in {w.strip() for w in want.split(",")}):
        return
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass


def _data() -> Path:
    from conftest import shared_data

    return shared_data() / "realtime" / "lean" / "equity" / "usa" / "tick" / "bac"


def load_rows(rate: int, seconds: float, listings: int) -> list[tuple[str, dict[str, Any]]]:
    """``rate * seconds`` real events (trades and quotes merged by time), listing ids spread round-robin."""
    from marketwire.stream.events import kind_of
    from marketwire.stream.feeds import reader

    need = int(rate * seconds)
    out: list[tuple[str, dict[str, Any]]] = []
    per: dict[str, list[dict[str, Any]]] = {"trade": [], "quote": []}
    for name in ("20131007_trade.zip", "20131007_quote.zip"):
        for chunk in reader("lean")(_data() / name, lambda key, meta: key):
            if chunk.batch is not None and chunk.batch.num_rows:
                per[kind_of(chunk.batch)].extend(chunk.batch.to_pylist())
            if len(per["trade"]) + len(per["quote"]) >= 2 * need:
                break
    merged = sorted([("trade", r) for r in per["trade"]] + [("quote", r) for r in per["quote"]],
                    key=lambda kr: kr[1]["ts_event"])[:need]
    for i, (_k, r) in enumerate(merged):
        r["listing_id"] = f"BENCH:{i % listings:03d}"
        for f in ("bid_price", "bid_size", "ask_price", "ask_size"):
            if f in r and r[f] != r[f]:
                r[f] = None
    out = merged
    if len(out) < need:
        raise SystemExit(f"only {len(out)} events in the BAC files; lower --rate or --seconds")
    return out


def _freeze() -> None:
    """Move the replay's preloaded rows out of the garbage collector's reach: they are the benchmark's input, held in
    memory only to pace them out; a full collection walking half a million of them (20+ ms) is not a cost of the
    path being measured (a feed handler holds the message it is reading, not the day)."""
    import gc

    gc.collect()
    gc.freeze()


async def pace(rows: list[tuple[str, dict[str, Any]]], rate: int, emit: Any, tick: float = 0.001) -> dict[str, Any]:
    """Hand ``rows`` over at ``rate`` events/s in ticks of ``tick`` s; ``emit(kind, rows)`` may be a coroutine."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    i, n = 0, len(rows)
    while i < n:
        due = min(n, int((time.perf_counter() - t0) * rate) + 1)
        if due > i:
            now = time.time_ns()
            by_kind: dict[str, list[dict[str, Any]]] = {}
            for k, r in rows[i:due]:
                r["ts_recv"] = now
                by_kind.setdefault(k, []).append(r)
            for k, part in by_kind.items():
                out = emit(k, part)
                if asyncio.iscoroutine(out):
                    await out
            i = due
        await asyncio.sleep(tick)
    wall = time.perf_counter() - t0
    return {"events": n, "wall": wall, "rate": n / wall, "cpu": (time.process_time() - c0) / wall}


# -- roles ---------------------------------------------------------------------------------------------------------

def role_server(args: argparse.Namespace) -> None:
    _loop("server")
    import uvicorn

    from marketwire.serve.api import create_app
    from marketwire.serve.api_stream import settle_heap, stream_hub

    app = create_app(args.home)

    async def main() -> None:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning",
                                               ws="websockets-sansio", lifespan="on"))
        serving = asyncio.ensure_future(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        hub = stream_hub(app)
        hub.linger = args.linger / 1000
        settle_heap()  # as marketwire serve and stream serve do once started
        want = args.subscribers + 1
        if args.mode == "nats":
            from marketwire.stream.bus import Bus, bridge

            bus = await Bus(args.bus, prefix=args.prefix, subject_root=args.prefix.lower()).connect()
            await bridge(bus, hub, ["trades", "quotes"])
        print(json.dumps({"ready": True}), flush=True)
        while hub.counters()["subscribers"] < want:
            await asyncio.sleep(0.05)
        prof = None
        if os.environ.get("MW_BENCH_PROFILE"):  # where the server's time goes (cProfile, to the named file)
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        gcs: list[float] = []  # the server's garbage-collection pauses during the run (s)
        gc_t = [0.0]
        gc_gen: dict[int, int] = {}

        def on_gc(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                gc_t[0] = time.perf_counter()
            else:
                gcs.append(time.perf_counter() - gc_t[0])
                gc_gen[info["generation"]] = gc_gen.get(info["generation"], 0) + 1

        import gc

        gc.callbacks.append(on_gc)
        c0, t0, o0 = time.process_time(), time.perf_counter(), os.times()
        if args.mode == "embedded":
            rows = load_rows(args.rate, args.seconds, args.listings)
            _freeze()
            await asyncio.sleep(0.5)
            gcs.clear()
            gc_gen.clear()
            c0, t0, o0 = time.process_time(), time.perf_counter(), os.times()
            feed = await pace(rows, args.rate, hub.publish_rows)
            last = (time.process_time(), time.perf_counter(), os.times())
        else:
            # the feed is another process: CPU from the first event bridged to the last, then serve until the
            # clients have gone
            feed = {}
            while not sum(hub.published.values()):
                await asyncio.sleep(0.002)
            c0, t0, o0 = time.process_time(), time.perf_counter(), os.times()
            gcs.clear()
            gc_gen.clear()
            seen, last = 0, (c0, t0, o0)
            while hub.counters()["subscribers"] >= want:
                n = sum(hub.published.values())
                if n != seen:
                    seen, last = n, (time.process_time(), time.perf_counter(), os.times())
                await asyncio.sleep(0.01)
        wall = last[1] - t0
        await asyncio.sleep(1.0)
        if prof is not None:
            prof.disable()
            prof.dump_stats(os.environ["MW_BENCH_PROFILE"])
        gc.callbacks.remove(on_gc)
        c1, o1 = last[0], last[2]
        print(json.dumps({"server": {"cpu": (c1 - c0) / wall, "cpu_s": c1 - c0,
                                     "loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
                                     "user": (o1.user - o0.user) / wall, "sys": (o1.system - o0.system) / wall,
                                     "feed": feed, "hub": hub.counters(),
                                     "gc": {"n": len(gcs), "max_ms": max(gcs, default=0) * 1e3,
                                            "total_ms": sum(gcs) * 1e3, "by_generation": gc_gen}}}), flush=True)
        while hub.counters()["subscribers"] > 0:
            await asyncio.sleep(0.05)
        server.should_exit = True
        await serving

    asyncio.run(main())


def role_feed(args: argparse.Namespace) -> None:
    _loop("feed")
    from marketwire.stream.bus import Bus

    rows = load_rows(args.rate, args.seconds, args.listings)
    _freeze()

    async def main() -> None:
        bus = await Bus(args.bus, prefix=args.prefix, subject_root=args.prefix.lower()).connect()
        print(json.dumps({"ready": True}), flush=True)
        sys.stdin.readline()  # go
        # no round trip per tick: the client's flusher sends each tick's messages; one acknowledged publish at the end
        stats = await pace(rows, args.rate, lambda k, part: bus.publish_rows(k, part, wait=False))
        await bus.publish_rows(rows[-1][0], [rows[-1][1]])
        print(json.dumps({"feed": {**stats, "messages": bus.messages}}), flush=True)
        await bus.close()

    asyncio.run(main())


def role_peer(args: argparse.Namespace) -> None:
    """The peer: a bare websockets server broadcasting the same replay."""
    _loop("peer")
    from websockets.asyncio.server import serve

    rows = load_rows(args.rate, args.seconds, args.listings)
    clients: dict[str, list[Any]] = {}

    async def handler(ws: Any) -> None:
        msg = json.loads(await ws.recv())
        for i in msg["ids"]:
            clients.setdefault(i, []).append(ws)
        await ws.send(json.dumps({"subscribed": msg["ids"]}))
        await ws.wait_closed()

    async def emit(kind: str, part: list[dict[str, Any]]) -> None:
        ch = "trades" if kind == "trade" else "quotes"
        by: dict[str, list[bytes]] = {}
        for r in part:
            by.setdefault(r["listing_id"], []).append(json.dumps({"channel": ch, **r}).encode())
        everyone: list[bytes] = []
        for listing, encs in by.items():
            everyone.extend(encs)
            frame = (b'{"events":[' + b",".join(encs) + b"]}").decode()
            for ws in clients.get(listing, ()):
                try:
                    await ws.send(frame)
                except Exception:  # noqa: BLE001 - a client that left
                    pass
        if everyone:
            frame = (b'{"events":[' + b",".join(everyone) + b"]}").decode()
            for ws in clients.get("*", ()):
                try:
                    await ws.send(frame)
                except Exception:  # noqa: BLE001 - a client that left
                    pass

    async def main() -> None:
        async with serve(handler, "127.0.0.1", args.port, compression=None, max_size=None):
            print(json.dumps({"ready": True}), flush=True)
            while sum(len(v) for v in clients.values()) < args.subscribers + 1:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            c0, t0 = time.process_time(), time.perf_counter()
            feed = await pace(rows, args.rate, emit)
            wall = time.perf_counter() - t0
            await asyncio.sleep(1.0)
            print(json.dumps({"server": {"cpu": (time.process_time() - c0) / wall, "feed": feed}}), flush=True)
            while any(not ws.state.name == "CLOSED" for v in clients.values() for ws in v):
                await asyncio.sleep(0.05)

    asyncio.run(main())


def _ws_send(sock: socket.socket, payload: bytes, op: int = 0x81) -> None:
    """One masked client-to-server WebSocket frame (RFC 6455 5.3)."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes((op, 0x80 | n)) if n < 126 else bytes((op, 0x80 | 126)) + n.to_bytes(2, "big")
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def _frames(buf: bytes | bytearray, pos: int = 0) -> Any:
    """``(opcode, payload start, payload end)`` of each whole unmasked frame in ``buf`` from ``pos``; the generator's
    return value is where the first incomplete frame starts."""
    n = len(buf)
    while n - pos >= 2:
        op, ln = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
        hl = 2
        if ln == 126:
            if n - pos < 4:
                break
            ln, hl = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
        elif ln == 127:
            if n - pos < 10:
                break
            ln, hl = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
        if n - pos < hl + ln:
            break
        yield op, pos + hl, pos + hl + ln
        pos += hl + ln
    return pos


def _connect(port: int, path: str, sub: bytes) -> tuple[socket.socket, bytearray]:
    """A WebSocket client connection (RFC 6455 handshake, then ``sub`` sent), blocking until the server's first text
    frame (the subscription's answer); returns the socket and the bytes read after that frame."""
    import base64

    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = bytearray()
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        if not data:
            raise SystemExit("the server closed the connection during the handshake")
        buf += data
    end = buf.find(b"\r\n\r\n")
    if not buf.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"handshake refused: {bytes(buf[:200])!r}")
    del buf[:end + 4]
    _ws_send(s, sub)
    while True:
        walk = _frames(buf)
        for op, a, b in walk:
            if op in (0x1, 0x2):
                del buf[:b]
                return s, buf
        data = s.recv(65536)
        if not data:
            raise SystemExit("the server closed the connection before answering the subscription")
        buf += data


def role_clients(args: argparse.Namespace) -> None:
    """The subscribers: plain blocking sockets read in one ``epoll`` loop, the lightest instrument Python allows.
    Each read is stamped with the clock when it returned; a frame's arrival is the stamp of the read that completed
    it. The bytes of the run are kept per connection and the frames parsed after the run (``--parse after``, default:
    the instrument's parsing does not compete with the server for the two cores while it measures) or as they
    arrive (``--parse live``); the events' ``ts_recv`` are taken out of the frames with a regular expression (no JSON
    parse). Pings are answered as they come."""
    import bisect
    import re
    import select
    from array import array

    import numpy as np

    ts_re = re.compile(rb'"ts_recv":\s*(\d+)')
    ids = [f"BENCH:{i % args.listings:03d}" for i in range(args.subscribers)] + ["*"]
    path = "/" if args.mode == "peer" else f"/v1/stream?format={args.format}"
    live = args.parse == "live"
    socks: list[socket.socket] = []
    bufs: list[bytearray] = []
    for i in ids:
        sub = json.dumps({"op": "subscribe", "channels": ["trades", "quotes"], "ids": [i]}).encode()
        s, rest = _connect(args.port, path, sub)
        socks.append(s)
        bufs.append(rest)
    # per connection: every read's stamp and the connection's byte count after it; where its frame walk stands
    stamps = [array("q") for _ in ids]
    ends = [array("q", [len(b)]) if b else array("q") for b in bufs]
    for k, b in enumerate(bufs):
        if b:
            stamps[k].append(time.time_ns())
    walked = [0] * len(ids)
    lat: list[list[int]] = [[] for _ in ids]
    counts = [0] * len(ids)
    ep = select.epoll()
    by_fd = {}
    for k, s in enumerate(socks):
        s.setblocking(False)
        by_fd[s.fileno()] = k
        ep.register(s.fileno(), select.EPOLLIN)
    import gc

    gc.collect()
    gc.freeze()
    gc.disable()  # nothing here makes reference cycles; no collection may stall the instrument while it measures
    print(json.dumps({"ready": True}), flush=True)
    first: tuple[float, float] | None = None
    last = time.monotonic()
    got_any = False
    open_ = len(socks)
    clock, poll = time.time_ns, ep.poll
    scratch = bytearray(1 << 18)
    scratch_view = memoryview(scratch)
    while open_:
        ready = poll(0.25)
        if not ready:
            if got_any and time.monotonic() - last > args.idle:
                break
            continue
        for fd, _mask in ready:
            k = by_fd[fd]
            try:
                got_n = socks[k].recv_into(scratch)  # into one preallocated buffer: no allocation per read
            except BlockingIOError:
                continue
            now = clock()
            if not got_n:
                ep.unregister(fd)
                open_ -= 1
                continue
            buf = bufs[k]
            buf += scratch_view[:got_n]
            stamps[k].append(now)
            ends[k].append(len(buf))
            walk = _frames(buf, walked[k])
            try:
                while True:
                    op, a, b = next(walk)
                    if op == 0x9:
                        _ws_send(socks[k], bytes(buf[a:b]), 0x8A)
                    elif live and op in (0x1, 0x2):
                        got = ts_re.findall(buf, a, b)
                        counts[k] += len(got)
                        lat[k].extend([now - int(t) for t in got])
            except StopIteration as stop:
                walked[k] = stop.value
        if first is None:
            first = (time.process_time(), time.perf_counter())
        got_any = True
        last = time.monotonic()
    assert first is not None, "no events arrived"
    c0, t0 = first
    wall = time.perf_counter() - t0 - args.idle
    cpu = (time.process_time() - c0) / max(wall, 1e-9)
    for s in socks:
        s.close()
    gc.enable()
    if not live:
        for k, buf in enumerate(bufs):
            e, st = ends[k], stamps[k]
            mine = lat[k]
            for op, a, b in _frames(buf):
                if op not in (0x1, 0x2):
                    continue
                at = st[bisect.bisect_left(e, b)]  # the read that completed the frame
                got = ts_re.findall(buf, a, b)
                counts[k] += len(got)
                mine.extend([at - int(t) for t in got])
    per = []
    for k, xs in enumerate(lat):
        a = np.asarray(xs, dtype=np.float64) / 1e6
        per.append({"id": ids[k], "events": counts[k],
                    "p50": float(np.percentile(a, 50)) if len(a) else None,
                    "p99": float(np.percentile(a, 99)) if len(a) else None,
                    "max": float(a.max()) if len(a) else None})
    every = np.concatenate([np.asarray(xs, dtype=np.float64) for xs in lat]) / 1e6
    pooled = {f"p{q:g}": float(np.percentile(every, q)) for q in (50, 90, 95, 99, 99.9)} if len(every) else {}
    print(json.dumps({"clients": {"cpu": cpu, "per": per, "pooled": pooled, "loop": "epoll"}}), flush=True)


# -- the run ---------------------------------------------------------------------------------------------------------

def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(role: str, args: argparse.Namespace, port: int, home: str, mode: str, prefix: str) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--role", role, "--port", str(port), "--home", home, "--mode", mode,
           "--rate", str(args.rate), "--seconds", str(args.seconds), "--listings", str(args.listings),
           "--subscribers", str(args.subscribers), "--bus", args.bus, "--prefix", prefix, "--format", args.format,
           "--idle", str(args.idle), "--linger", str(args.linger), "--parse", args.parse]
    path = os.pathsep.join([str(ROOT / "src")] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    env = {**os.environ, "PYTHONPATH": path, "MARKETWIRE_REQUEST_TIMEOUT": "600"}
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)


def _read(p: subprocess.Popen, key: str, timeout: float = 300) -> dict[str, Any]:
    end = time.monotonic() + timeout
    assert p.stdout is not None
    while time.monotonic() < end:
        line = p.stdout.readline()
        if not line:
            raise SystemExit(f"a {key} process ended early (exit {p.wait()})")
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if key in obj:
            return obj
    raise SystemExit(f"no {key} in time")


def _nats_server_pid() -> int | None:
    """The local nats-server's process id (its CPU use is part of NATS mode's cost), if one runs."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() == "nats-server":
                    return int(d.name)
            except OSError:
                continue
    return None


def _cpu_ticks(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except (OSError, IndexError, ValueError):
        return None


def run_mode(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    import uuid

    port = _port()
    prefix = "MWBENCH" + uuid.uuid4().hex[:8].upper()
    nats_cpu = None
    nats_pid = _nats_server_pid() if mode == "nats" else None
    with tempfile.TemporaryDirectory() as home:
        server = _spawn("peer" if mode == "peer" else "server", args, port, home, mode, prefix)
        feed = None
        try:
            _read(server, "ready")
            if mode == "nats":
                feed = _spawn("feed", args, port, home, mode, prefix)
                _read(feed, "ready")
            clients = _spawn("clients", args, port, home, mode, prefix)
            _read(clients, "ready")
            if feed is not None:
                assert feed.stdin is not None
                n0, w0 = _cpu_ticks(nats_pid), time.perf_counter()
                feed.stdin.write("go\n")
                feed.stdin.flush()
            if mode != "nats":
                srv = _read(server, "server")
                res = _read(clients, "clients")
                fd = srv["server"]["feed"]
            else:
                fd = _read(feed, "feed")["feed"]  # type: ignore[arg-type]
                n1, w1 = _cpu_ticks(nats_pid), time.perf_counter()
                if n0 is not None and n1 is not None:
                    nats_cpu = (n1 - n0) / os.sysconf("SC_CLK_TCK") / (w1 - w0)
                res = _read(clients, "clients")
                srv = _read(server, "server")
            clients.wait(60)
        finally:
            for p in (server, feed):
                if p is not None and p.poll() is None:
                    p.terminate()
                    try:
                        p.wait(10)
                    except subprocess.TimeoutExpired:
                        p.kill()
            if mode == "nats":
                asyncio.run(_cleanup(args.bus, prefix))
    per = res["clients"]["per"]
    listing_subs = [p for p in per if p["id"] != "*"]
    wild = [p for p in per if p["id"] == "*"][0]
    return {"mode": mode, "rate": fd["rate"], "events": fd["events"], "feed_cpu": fd.get("cpu") if mode == "nats"
            else None,
            "server_cpu": srv["server"]["cpu"], "server_cpu_s": srv["server"].get("cpu_s", 0.0), "clients_cpu": res["clients"]["cpu"],
            "p50_worst": max(p["p50"] for p in per if p["p50"] is not None),
            "p99_worst": max(p["p99"] for p in per if p["p99"] is not None),
            "p50_median_sub": sorted(p["p50"] for p in listing_subs)[len(listing_subs) // 2],
            "p99_median_sub": sorted(p["p99"] for p in listing_subs)[len(listing_subs) // 2],
            "pooled": res["clients"].get("pooled"), "server_user": srv["server"].get("user"),
            "server_sys": srv["server"].get("sys"),
            "loops": f"server {srv['server'].get('loop')}, clients {res['clients'].get('loop')}",
            "gc": srv["server"].get("gc"), "nats_server_cpu": nats_cpu,
            "wild_p50": wild["p50"], "wild_p99": wild["p99"], "wild_events": wild["events"],
            "delivered": sum(p["events"] for p in per), "hub": srv["server"].get("hub", {})}


async def _cleanup(url: str, prefix: str) -> None:
    from marketwire.stream.bus import Bus

    bus = await Bus(url, prefix=prefix, subject_root=prefix.lower()).connect()
    await bus.delete_streams()
    await bus.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--role", default="run", choices=["run", "server", "clients", "feed", "peer"])
    ap.add_argument("--mode", default="embedded,nats,peer")
    ap.add_argument("--rate", type=int, default=50_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--listings", type=int, default=100)
    ap.add_argument("--subscribers", type=int, default=100)
    ap.add_argument("--format", default="json", choices=["json"])
    ap.add_argument("--bus", default="nats://127.0.0.1:4222")
    ap.add_argument("--prefix", default="MWBENCH")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--home", default="")
    ap.add_argument("--idle", type=float, default=3.0)
    ap.add_argument("--linger", type=float, default=0.0,
                    help="ms a connection's first pending event waits for more before its frame is written")
    ap.add_argument("--parse", default="after", choices=["after", "live"],
                    help="when the clients take each event's ts_recv out of the frames they stamped on arrival: after "
                         "the run (default: the clients' parsing does not compete for the cores while measuring) or "
                         "as frames arrive")
    ap.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = ap.parse_args()
    if args.role != "run":
        {"server": role_server, "clients": role_clients, "feed": role_feed, "peer": role_peer}[args.role](args)
        return
    load = os.getloadavg()
    results = [run_mode(m.strip(), args) for m in args.mode.split(",") if m.strip()]
    print(f"feed-to-client latency on loopback: {args.rate:,} events/s target over {args.listings} listings, "
          f"{args.subscribers} one-listing subscribers + 1 on '*', {args.seconds:g} s, {args.format} frames, "
          f"linger {args.linger:g} ms, clients parse {args.parse}; "
          f"{os.cpu_count()} cores, load average before the run {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    head = ("mode", "events/s", "p50 worst ms", "p99 worst ms", "'*' p50/p99 ms", "delivered", "CPU feed/server/"
            "clients")
    print(" | ".join(head))
    for r in results:
        feed_cpu = f"{r['feed_cpu']:.0%}" if r["feed_cpu"] is not None else "-"
        print(" | ".join([r["mode"], f"{r['rate']:,.0f}", f"{r['p50_worst']:.2f}", f"{r['p99_worst']:.2f}",
                          f"{r['wild_p50']:.2f}/{r['wild_p99']:.2f}", f"{r['delivered']:,}",
                          f"{feed_cpu}/{r['server_cpu']:.0%}/{r['clients_cpu']:.0%}"]))
    for r in results:
        if r["server_user"] is not None:
            print(f"{r['mode']}: server CPU user {r['server_user']:.0%} + system {r['server_sys']:.0%}; event loops: "
                  f"{r['loops']}")
        if r.get("pooled"):
            print(f"{r['mode']}: every event of every subscriber: " + ", ".join(f"{k} {v:.2f} ms" for k, v in
                                                                             r["pooled"].items()))
        if r.get("nats_server_cpu") is not None:
            print(f"{r['mode']}: nats-server CPU {r['nats_server_cpu']:.0%} during the feed's replay")
        print(f"{r['mode']}: median one-listing subscriber p50 {r['p50_median_sub']:.2f} ms, p99 "
              f"{r['p99_median_sub']:.2f} ms; server GC {r['gc']}" if r.get("gc") is not None else
              f"{r['mode']}: median one-listing subscriber p50 {r['p50_median_sub']:.2f} ms, p99 "
              f"{r['p99_median_sub']:.2f} ms")
    for r in results:
        if r["hub"]:
            frames = r["hub"].get("frames") or 0
            per = f", server CPU {r['server_cpu_s'] / frames * 1e6:.1f} us per frame" if frames else ""
            print(f"{r['mode']} hub: {frames:,} frames{per}; dropped {r['hub'].get('dropped')}, conflated "
                  f"{r['hub'].get('conflated')}, max pending {r['hub'].get('max_pending')}"
                  + (f"; {r['hub']['flushes']:,} flushes of {r['hub']['flush_ms_mean']:.2f} ms on average, each "
                     f"{r['hub']['flush_wait_ms_mean']:.2f} ms after its first publish (at most "
                     f"{r['hub']['flush_wait_ms_max']:.1f} ms)" if r["hub"].get("flushes") else ""))
    print("load average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
