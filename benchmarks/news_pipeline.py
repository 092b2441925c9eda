#!/usr/bin/env python
"""The article pipeline end to end: a feed's items -> pages fetched on loopback -> every stage -> the lake.

The pages are real: the 300 French OrangeSum pages and the 181 pages of the article-extraction benchmark (mostly
English), served by a threaded HTTP server in a separate process on 127.0.0.1 together with an RSS feed whose items
link to them. This process registers the feed, polls it once and runs ``ArticleStore.fetch_items`` with the real
fetcher (SSRF policy allowing that one port). Seconds per stage come from ``ArticleStore.timings``; the models are
loaded before the clock starts and their load time is reported on its own line.

The baseline measured in the same run is trafilatura's own ``extract`` on the same pages (what a pipeline that only
extracts would cost), so the price of the other stages is visible.

Usage (from the repository root):

    .venv/bin/python benchmarks/news_pipeline.py            # all 481 pages
    .venv/bin/python benchmarks/news_pipeline.py --pages 100

Markdown to stdout and ``benchmarks/out/news_pipeline.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import http.server
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT / "src"))


def _data() -> Path:
    env = os.environ.get("MARKETWIRE_DATA")
    if env:
        return Path(env)
    return next((p / "shared" / "data" for p in ROOT.parents if (p / "shared" / "data").is_dir()), Path("shared/data"))


def _pages(limit: int | None) -> list[tuple[str, bytes]]:
    ev = _data() / "news-eval"
    pages = [(f"os-{p.stem}", p.read_bytes()) for p in sorted((ev / "orangesum" / "raw_html_sample").glob("*.html"))]
    pages += [(f"aeb-{p.name[:16]}", gzip.decompress(p.read_bytes()))
              for p in sorted((ev / "extraction-benchmark" / "html").glob("*.html.gz"))]
    return pages[:limit] if limit else pages


def _serve(pages: list[tuple[str, bytes]], port_q: Any, stop_ev: Any) -> None:
    routes = {f"/a/{name}.html": body for name, body in pages}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/feed.xml":
                base = f"http://127.0.0.1:{self.server.server_address[1]}"
                items = "".join(f"<item><guid>{n}</guid><title>{n}</title><link>{base}/a/{n}.html</link></item>"
                                for n, _ in pages)
                body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>bench</title><link>{base}/</link>'
                        f"{items}</channel></rss>").encode()
                ctype = "application/rss+xml"
            elif self.path in routes:
                body, ctype = routes[self.path], "text/html"
            else:
                body, ctype = b"", "text/plain"
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_q.put(srv.server_address[1])
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    stop_ev.wait()
    srv.shutdown()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=None)
    args = ap.parse_args()

    import trafilatura

    import marketwire
    from marketwire.news.articles import STAGES
    from marketwire.news.fetch import Fetcher, FetchPolicy
    from marketwire.news.ssrf import Policy

    pages = _pages(args.pages)
    n = len(pages)

    t = time.perf_counter()
    for _, body in pages:
        trafilatura.extract(body)
    baseline = time.perf_counter() - t

    ctx = mp.get_context("spawn")
    port_q, stop_ev = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_serve, args=(pages, port_q, stop_ev), daemon=True)
    proc.start()
    port = port_q.get(timeout=60)
    try:
        home = Path(tempfile.mkdtemp(prefix="mw-news-pipeline-"))
        mw = marketwire.open(home)
        store = mw.articles()
        t = time.perf_counter()
        ann = store._annotator()
        for lang in ("fr", "en", "de"):
            ann.annotate("Titre", "Le texte de la page.", lang)
        load = time.perf_counter() - t

        policy = Policy(allow=[f"127.0.0.1:{port}"])
        fetch_policy = FetchPolicy(per_host_delay=0, per_host_concurrency=16, respect_robots=False)

        async def run() -> dict[str, Any]:
            async with Fetcher(fetch_policy, policy) as fetcher:
                t0 = time.perf_counter()
                mw.add_feeds([f"http://127.0.0.1:{port}/feed.xml"])
                poll = await mw.feeds().poll_once(fetcher)
                t_poll = time.perf_counter() - t0
                rep = await store.fetch_items(fetcher)
                rep["poll_seconds"] = t_poll
                rep["total_seconds"] = time.perf_counter() - t0
                rep["poll_items"] = poll.to_dict().get("new_items")
                return rep

        rep = asyncio.run(run())
    finally:
        stop_ev.set()
        proc.join(10)

    timings = store.timings
    lines = [
        f"# News pipeline, {n} real pages over loopback",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        f"Articles stored: {rep['articles']}; fetch statuses: {rep['statuses']}.",
        "",
        "| stage | seconds | articles/s |",
        "|---|---:|---:|",
        f"| model load (once per process, not in the total) | {load:.2f} | |",
        f"| feed poll (1 feed, {n} items) | {rep['poll_seconds']:.2f} | |",
    ]
    for stage in STAGES:
        sec = timings.get(stage, 0.0)
        lines.append(f"| {stage} | {sec:.2f} | {n / sec:,.0f} |" if sec > 0 else f"| {stage} | 0 | |")
    lines += [
        f"| **end to end** (poll + fetch + every stage + store) | {rep['total_seconds']:.2f} | "
        f"**{n / rep['total_seconds']:,.1f}** |",
        f"| baseline: trafilatura.extract alone, same pages | {baseline:.2f} | {n / baseline:,.1f} |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "news_pipeline.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
