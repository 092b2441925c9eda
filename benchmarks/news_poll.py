#!/usr/bin/env python
"""Poll-cycle scale benchmark: N feeds served by a local test server on loopback, two poll cycles.

Target (issue): 10,000 feeds polled in one cycle in <= 300 s with memory bounded; a second cycle answered almost
entirely by 304 Not Modified; articles/second reported per stage and end to end.

The server runs in a separate process (multiprocessing, one asyncio loop, plain streams, HTTP/1.1 keep-alive) and
listens on one port on each of H loopback addresses 127.0.1.1 .. 127.0.1.H (Linux routes all of 127/8 to lo).
``/feeds/<n>.xml`` returns one of the real feed files of ``rss-parser-real-feeds/input`` (chosen by ``n``) with
guid/id/link rewritten to carry the feed number, a per-feed ETag and a fixed Last-Modified, and 304 for a matching
conditional request. ``/robots.txt`` is 404 (everything allowed).

The poller (this process) uses a fresh marketwire home, ``FeedRegistry.poll_once`` with a ``Fetcher`` whose SSRF
policy allows 127.0.0.0/8 and whose FetchPolicy has a small per-host delay (polite settings for a local server).
Cycle 2 runs with ``now`` moved past the interval so that every feed is due again.

Peak RSS per cycle: ``VmHWM`` of /proc/self/status after resetting it (``clear_refs`` 5) before the cycle; falls
back to ``ru_maxrss`` (lifetime peak) where that is not possible.

Usage (from the repository root):

    .venv/bin/python benchmarks/news_poll.py --feeds 500          # smoke run
    .venv/bin/python benchmarks/news_poll.py                      # 10,000 feeds over 100 hosts

Markdown to stdout and ``benchmarks/out/news_poll.md``; full reports to ``benchmarks/out/news_poll.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import re
import resource
import shutil
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
def _default_data() -> Path:
    """$MARKETWIRE_DATA, else the nearest ``shared/data`` above this script; the feeds folder inside it."""
    env = os.environ.get("MARKETWIRE_DATA")
    root = Path(env) if env else next((p / "shared" / "data" for p in Path(__file__).resolve().parents
                                       if (p / "shared" / "data").is_dir()), Path("shared/data"))
    return root / "news" / "rss-parser-real-feeds" / "input"


DEFAULT_DATA = _default_data()
LAST_MODIFIED = "Wed, 25 Nov 2026 12:00:00 GMT"
MARK = b"__MWFEED__"
CYCLE1_TARGET_S = 300.0


# -- the test server (child process) ---------------------------------------------------------------------------


def _templates(data_dir: Path) -> list[tuple[bytes, bytes]]:
    """(content type, body template) per real feed file; ``MARK`` is replaced by the feed number when served."""
    out = []
    for path in sorted(data_dir.iterdir()):
        if not path.is_file():
            continue
        body = path.read_bytes()
        # guid / Atom id text gets a per-feed suffix; RSS <link>text</link> a per-feed fragment
        body = re.sub(rb"(<(guid|id)\b[^>]*>)(.*?)(</\2>)", lambda m: m.group(1) + m.group(3) + b"-mwf" + MARK + m.group(4),
                      body, flags=re.S)
        body = re.sub(rb"(<link>)(.*?)(</link>)", lambda m: m.group(1) + m.group(2) + b"#mwf" + MARK + m.group(3),
                      body, flags=re.S)
        ctype = b"application/atom+xml" if b"<feed" in body[:2000] else b"application/rss+xml"
        out.append((ctype, body))
    return out


def _serve(hosts: list[str], port_q: Any, stop_ev: Any, data_dir: str) -> None:
    templates = _templates(Path(data_dir))
    stats = {"requests": 0, "200": 0, "304": 0, "404": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                if int(headers.get("content-length", "0") or 0):
                    await reader.readexactly(int(headers["content-length"]))
                stats["requests"] += 1
                m = re.fullmatch(r"/feeds/(\d+)\.xml", target.split("?", 1)[0])
                if m is None:
                    status, extra, body = b"404 Not Found", b"Content-Type: text/plain\r\n", b"not found\n"
                    stats["404"] += 1
                else:
                    n = int(m.group(1))
                    etag = f'"mwf-{n}-v1"'
                    inm = headers.get("if-none-match")
                    ims = headers.get("if-modified-since")
                    validators = f"ETag: {etag}\r\nLast-Modified: {LAST_MODIFIED}\r\n".encode()
                    fresh = etag in [t.strip() for t in inm.split(",")] if inm is not None else ims == LAST_MODIFIED
                    if fresh:
                        status, extra, body = b"304 Not Modified", validators, b""
                        stats["304"] += 1
                    else:
                        ctype, tpl = templates[n % len(templates)]
                        extra = validators + b"Content-Type: " + ctype + b"\r\n"
                        status, body = b"200 OK", tpl.replace(MARK, str(n).encode())
                        stats["200"] += 1
                if method == "HEAD":
                    body_out = b""
                else:
                    body_out = body
                writer.write(b"HTTP/1.1 " + status + b"\r\n" + extra + b"Content-Length: " + str(len(body)).encode()
                             + b"\r\n\r\n" + body_out)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers = []
        port = 0
        for attempt in range(20):
            servers = []
            try:
                first = await asyncio.start_server(handle, hosts[0], port, backlog=1024, reuse_address=True)
                servers.append(first)
                port = first.sockets[0].getsockname()[1]
                for h in hosts[1:]:
                    servers.append(await asyncio.start_server(handle, h, port, backlog=1024, reuse_address=True))
                break
            except OSError:
                for s in servers:
                    s.close()
                port = 0
                if attempt == 19:
                    raise
        port_q.put(port)
        while not stop_ev.is_set():
            await asyncio.sleep(0.2)
        port_q.put(dict(stats))
        for s in servers:
            s.close()

    asyncio.run(main())


# -- measuring ---------------------------------------------------------------------------------------------------


def _proc_status(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss(reset_ok: bool) -> tuple[int, str]:
    hwm = _proc_status("VmHWM")
    if reset_ok and hwm is not None:
        return hwm, "VmHWM (reset per cycle)"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "ru_maxrss (process lifetime)"


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.0f} MiB"


async def _cycle(registry: Any, fetch_policy: Any, ssrf_policy: Any, now: datetime) -> dict[str, Any]:
    from marketwire.news.fetch import Fetcher

    reset_ok = _reset_peak()
    rss_before = _proc_status("VmRSS")
    t0 = time.monotonic()
    async with Fetcher(policy=fetch_policy, ssrf_policy=ssrf_policy) as fetcher:
        report = await registry.poll_once(fetcher, now=now)
    wall = time.monotonic() - t0
    peak, how = _peak_rss(reset_ok)
    d = report.to_dict()
    d.update(wall_seconds=wall, rss_before=rss_before, rss_after=_proc_status("VmRSS"), peak_rss=peak, peak_rss_how=how,
             ru_maxrss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    secs = d["seconds"]
    d["stage_items_per_second"] = {k: (d["new_items"] / v if v > 0 else 0.0) for k, v in secs.items()}
    d["entries_per_second_parse"] = d["entries_parsed"] / secs["parse"] if secs["parse"] > 0 else 0.0
    d["feeds_per_second"] = d["polled"] / wall if wall > 0 else 0.0
    return d


def _table(args: argparse.Namespace, cycles: list[dict[str, Any]]) -> str:
    lines = [
        f"## news poll: {args.feeds:,} feeds on {args.hosts} loopback hosts",
        "",
        f"FetchPolicy: per_host_concurrency={args.per_host}, per_host_delay={args.delay} s, "
        f"global_concurrency={args.global_concurrency}, robots on (robots.txt 404); FeedRegistry batch_size={args.batch}; "
        f"server in a separate process; {os.cpu_count()} CPUs; Python {platform.python_version()}.",
        "",
        "| cycle | feeds polled | wall s | statuses | new items | entries parsed | MB fetched | items/s end to end "
        "| feeds/s | fetch s | parse s | store s | total s | peak RSS | RSS after | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, c in enumerate(cycles, 1):
        s = c["seconds"]
        statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(c["statuses"].items(), key=lambda kv: -kv[1]))
        if i == 1:
            ok = c["wall_seconds"] <= CYCLE1_TARGET_S * args.feeds / 10_000 and not c["errors"]
            target = f"<= {CYCLE1_TARGET_S * args.feeds / 10_000:.0f} s (300 s per 10k), no errors: {'met' if ok else 'MISSED'}"
        else:
            nm = c["statuses"].get("not_modified", 0)
            share = nm / c["polled"] if c["polled"] else 0.0
            target = f"mostly 304: {share:.1%} not_modified: {'met' if share >= 0.99 else 'MISSED'}"
        lines.append(
            f"| {i} | {c['polled']:,} | {c['wall_seconds']:.1f} | {statuses} | {c['new_items']:,} | {c['entries_parsed']:,} "
            f"| {c['bytes_fetched'] / 1e6:.1f} | {c['items_per_second']:,.0f} | {c['feeds_per_second']:,.0f} "
            f"| {s['fetch']:.1f} | {s['parse']:.1f} | {s['store']:.1f} | {s['total']:.1f} | {_mib(c['peak_rss'])} "
            f"| {_mib(c['rss_after'])} | {target} |"
        )
    lines += ["", "Items per second per stage (new items / seconds spent in that stage):", "",
              "| cycle | fetch | parse | store | end to end | parse entries/s |", "|---|---|---|---|---|---|"]
    for i, c in enumerate(cycles, 1):
        r = c["stage_items_per_second"]
        lines.append(f"| {i} | {r['fetch']:,.0f} | {r['parse']:,.0f} | {r['store']:,.0f} | {r['total']:,.0f} "
                     f"| {c['entries_per_second_parse']:,.0f} |")
    lines += ["", f"Peak RSS: {cycles[0]['peak_rss_how']}; lifetime ru_maxrss {_mib(cycles[-1]['ru_maxrss'])}."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=10_000)
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--per-host", type=int, default=4, help="FetchPolicy.per_host_concurrency")
    ap.add_argument("--delay", type=float, default=0.02, help="FetchPolicy.per_host_delay, seconds")
    ap.add_argument("--global-concurrency", type=int, default=200)
    ap.add_argument("--batch", type=int, default=500, help="FeedRegistry batch_size")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--keep", action="store_true", help="keep the marketwire home (printed) instead of deleting it")
    args = ap.parse_args()
    if not 1 <= args.hosts <= 254:
        ap.error("--hosts must be 1..254")

    from marketwire.news.feeds import FeedRegistry
    from marketwire.news.fetch import FetchPolicy
    from marketwire.news.ssrf import Policy
    from marketwire.store.lake import Lake

    hosts = [f"127.0.1.{i}" for i in range(1, args.hosts + 1)]
    for h in hosts:  # verify binding works on every address before starting anything
        with socket.socket() as s:
            s.bind((h, 0))

    ctx = mp.get_context("spawn")
    port_q, stop_ev = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_serve, args=(hosts, port_q, stop_ev, str(args.data)), daemon=True)
    server.start()
    port = port_q.get(timeout=60)
    print(f"server pid {server.pid} on {hosts[0]}..{hosts[-1]} port {port}", file=sys.stderr)

    home = Path(tempfile.mkdtemp(prefix="mw-news-poll-"))
    cycles: list[dict[str, Any]] = []
    server_stats: dict[str, int] = {}
    try:
        registry = FeedRegistry(Lake(home / "lake"), batch_size=args.batch)
        urls = [f"http://{hosts[n % len(hosts)]}:{port}/feeds/{n}.xml" for n in range(args.feeds)]
        t = time.monotonic()
        registry.add(urls, source="bench")
        add_s = time.monotonic() - t
        print(f"added {len(urls):,} feeds in {add_s:.1f} s", file=sys.stderr)
        fetch_policy = FetchPolicy(per_host_concurrency=args.per_host, per_host_delay=args.delay,
                                   global_concurrency=args.global_concurrency)
        ssrf_policy = Policy(allow=["127.0.0.0/8"])
        now1 = datetime.now(UTC)
        for i, now in enumerate([now1, now1 + registry.interval + timedelta(minutes=1)], 1):
            c = asyncio.run(_cycle(registry, fetch_policy, ssrf_policy, now))
            cycles.append(c)
            print(f"cycle {i}: {c['wall_seconds']:.1f} s {c['statuses']} new {c['new_items']:,}", file=sys.stderr)
    finally:
        stop_ev.set()
        try:
            server_stats = port_q.get(timeout=10)
        except Exception:  # noqa: BLE001 - stats are a nicety
            pass
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
        if args.keep:
            print(f"home kept: {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)

    md = _table(args, cycles) + f"\nServer requests: {server_stats}; registry.add of {args.feeds:,} URLs: {add_s:.1f} s.\n"
    print(md)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "news_poll.md").write_text(md)
    (OUT / "news_poll.json").write_text(json.dumps({
        "args": {k: str(v) for k, v in vars(args).items()}, "port": port, "add_seconds": add_s, "cycles": cycles,
        "server": server_stats, "python": platform.python_version(), "cpus": os.cpu_count(),
    }, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
