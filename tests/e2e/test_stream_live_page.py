"""The live page /stream/{id} in a real headless Chromium while ``marketwire stream serve --replay`` plays the
shared Lean IBM trades: the last trade and the 1-minute bar chart change as events arrive (read twice over the
DevTools protocol), and the page is served with its own script only (CSP)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import shared_data

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
IBM = shared_data() / "realtime" / "lean" / "equity" / "usa" / "tick" / "ibm" / "20131007_trade.zip"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return {**env, "NO_PROXY": "*", "HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_CACHE_HOME": str(tmp / "cache")}


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=2) as http:
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "exited"
            try:
                if http.get(url).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{url} did not answer within {timeout} s"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium) for the live page test")
    if not IBM.is_file():
        pytest.skip(f"Lean IBM trades not found at {IBM} (set MARKETWIRE_DATA)")
    tmp = tmp_path_factory.mktemp("live-page")
    port = _free_port()
    cmd = [sys.executable, "-c", "from marketwire.cli import run; run()", "--home", str(tmp / "home"), "stream",
           "serve", "--port", str(port), "--replay", str(IBM), "--speed", "3000", "--loop"]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_env(tmp))
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/v1/health", server)
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/v1/stream/stats", trust_env=False).json()["data"]["published"].get("trades", 0) == 0:
            assert time.monotonic() < deadline, "the replay published nothing"
            time.sleep(0.2)
        yield base, tmp
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


async def _cdp_samples(url: str, tmp: Path, reads: int = 2, gap: float = 2.0) -> list[dict[str, Any]]:
    from websockets.asyncio.client import connect

    port = _free_port()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-extensions", "--no-proxy-server",
             f"--user-data-dir={tmp / 'profile'}", f"--remote-debugging-port={port}", url]
    chrome = subprocess.Popen([CHROMIUM, *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=_env(tmp))
    try:
        deadline = time.monotonic() + 30
        target = None
        async with httpx.AsyncClient(trust_env=False) as http:
            while target is None:
                assert time.monotonic() < deadline, "Chromium's DevTools did not answer"
                try:
                    pages = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
                    target = next((p for p in pages if p.get("type") == "page" and "/stream/" in p.get("url", "")),
                                  None)
                except (httpx.TransportError, ValueError):
                    pass
                await asyncio.sleep(0.2)
        expr = """(() => { const t = id => document.querySelector('[data-testid=' + id + ']');
            return JSON.stringify({price: t('last-price').textContent, time: t('last-time').textContent,
              events: +t('event-count').textContent, bars: document.querySelectorAll('[data-testid=bar]').length,
              status: t('live-status').textContent, title: t('live-title').textContent,
              closes: [...document.querySelectorAll('[data-testid=bar]')].map(b => +b.getAttribute('data-close'))});
            })()"""
        out = []
        async with connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
            n = 0

            async def read() -> dict[str, Any]:
                nonlocal n
                n += 1
                await ws.send(json.dumps({"id": n, "method": "Runtime.evaluate",
                                          "params": {"expression": expr, "returnByValue": True}}))
                while True:
                    msg = json.loads(await ws.recv())
                    if msg.get("id") == n:
                        value = msg["result"]["result"].get("value")  # none while the page is still loading
                        return dict(json.loads(value)) if value else {"events": 0, "loading": msg}

            first = await read()
            deadline = time.monotonic() + 30
            while first["events"] == 0 and time.monotonic() < deadline:  # the page's first events
                await asyncio.sleep(0.25)
                first = await read()
            out.append(first)
            for _ in range(reads - 1):
                await asyncio.sleep(gap)
                out.append(await read())
        return out
    finally:
        chrome.terminate()
        try:
            chrome.wait(10)
        except subprocess.TimeoutExpired:
            chrome.kill()


def test_live_page_updates_in_chromium_while_a_replay_runs(live_site: tuple[str, Path]) -> None:
    base, tmp = live_site
    first, second = asyncio.run(_cdp_samples(f"{base}/stream/IBM", tmp))
    assert first["title"].startswith("IBM")
    assert first["status"] == "live", first
    assert first["events"] > 0 and first["price"] not in ("", "–"), first
    assert 150 < float(first["price"]) < 200, first  # IBM traded near $185 in October 2013
    assert second["events"] > first["events"], (first, second)
    assert second["time"] != first["time"], (first, second)  # a later trade arrived
    assert second["bars"] >= 1 and all(150 < c < 200 for c in second["closes"]), second


def test_live_page_is_served_with_its_script_only(live_site: tuple[str, Path]) -> None:
    base, _ = live_site
    r = httpx.get(f"{base}/stream/IBM", trust_env=False)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "unsafe" not in csp
    assert '<script src="/static/stream.js"></script>' in r.text and "<script>" not in r.text
    js = httpx.get(f"{base}/static/stream.js", trust_env=False)
    assert js.status_code == 200 and "EventSource" in js.text and "http" not in js.text.replace("http://www.w3.org", "")
    missing = httpx.get(f"{base}/stream/NO-SUCH-THING-42", trust_env=False)
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
