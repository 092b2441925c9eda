"""Feed parsing against real and conformance feeds, and the poll cycle against a loopback server.

The real feeds and their expected readings come from rss-parser's test suite, the conformance cases from
feedparser's (each states its expectation in an ``Expect:`` header comment). The poll tests copy real feeds into a
folder served by a threaded ``http.server`` on 127.0.0.1 that answers conditional GETs, plus a page that is not a
feed, a 404 and a server too slow for the deadline. No traffic leaves loopback.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import http.server
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any

import feedparser
import pytest
from conftest import shared_data

from marketwire.datasets.news import FEED_ITEMS, FEED_STATE, FEEDS
from marketwire.errors import InvalidInput
from marketwire.news import ssrf
from marketwire.news.feeds import FeedRegistry, PollReport, canonical_feed_url, feed_id_of
from marketwire.news.fetch import Fetcher, FetchPolicy
from marketwire.news.parse import parse_feed, parse_raw
from marketwire.news.ssrf import Policy
from marketwire.store.lake import Lake

pytestmark = pytest.mark.unit

FEED_URL = "http://example.com/feed"


def _news() -> Path:
    p = shared_data() / "news"
    if not p.is_dir():
        pytest.skip(f"shared news data not found at {p} (set MARKETWIRE_DATA to the folder holding news/)")
    return p


@pytest.fixture(scope="module")
def real_feeds() -> Path:
    return _news() / "rss-parser-real-feeds"


@pytest.fixture(scope="module")
def conformance() -> Path:
    return _news() / "feedparser-conformance"


# --- parsing real feeds -------------------------------------------------------------------------------------------

REAL = ["content-encoded.rss", "craigslist.rss", "feedburner.atom", "guardian.rss", "heise.atom", "heraldsun.rss",
        "many-links.rss", "narro.rss", "reddit-atom.rss", "reddit-home.rss", "reddit.rss", "uolNoticias.rss"]


def _same_text(ours: str | None, expected: str | None) -> bool:
    """Equal after unescaping and trimming; rss-parser read UOL's Latin-1 as UTF-8, so its U+FFFD matches any one
    non-ASCII character (we decode those correctly)."""
    a, b = html.unescape(ours or "").strip(), html.unescape(expected or "").strip()
    if "\ufffd" not in b:
        return a == b
    pattern = "".join("[^\\x00-\\x7f]" if c == "\ufffd" else re.escape(c) for c in b)
    return re.fullmatch(pattern, a) is not None


@pytest.mark.parametrize("name", REAL)
def test_real_feeds_match_expected(real_feeds: Path, name: str) -> None:
    data = (real_feeds / "input" / name).read_bytes()
    expected = json.loads((real_feeds / "expected_output" / f"{name.rsplit('.', 1)[0]}.json").read_text("utf-8"))["feed"]
    parsed = parse_feed(data, FEED_URL, {"Content-Type": "application/rss+xml"})
    assert parsed.ok, parsed.bozo_reason
    assert _same_text(parsed.title, expected.get("title"))
    assert len(parsed.entries) == len(expected["items"])
    for ours, theirs in zip(parsed.entries, expected["items"]):
        assert _same_text(ours.title, theirs.get("title")), (ours.title, theirs.get("title"))
        assert (ours.link or "") == (theirs.get("link") or "")
        if theirs.get("isoDate"):
            # feedparser keeps whole seconds
            when = datetime.fromisoformat(theirs["isoDate"].replace("Z", "+00:00")).replace(microsecond=0)
            assert when in (ours.published, ours.updated), (ours.published_raw, theirs["isoDate"])
    if expected.get("language"):
        assert parsed.language == expected["language"]


def test_localized_dates_and_wrong_encoding(real_feeds: Path) -> None:
    """UOL: Latin-1 without a declaration (read anyway, flagged bozo_ok) and Portuguese dates (read as UTC)."""
    parsed = parse_feed((real_feeds / "input" / "uolNoticias.rss").read_bytes(), FEED_URL)
    assert parsed.status == "bozo_ok" and "CharacterEncodingOverride" in (parsed.bozo_reason or "")
    first = parsed.entries[0]
    assert first.title is not None and "simulações de 2º turno" in first.title
    assert first.published_raw == "Seg, 24 Set 2018 19:42:40 -0300"
    assert first.published == datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)
    assert all(e.published is not None and e.published.tzinfo is not None for e in parsed.entries)


def test_entry_fields(real_feeds: Path) -> None:
    parsed = parse_feed((real_feeds / "input" / "content-encoded.rss").read_bytes(), FEED_URL)
    e = parsed.entries[0]
    assert e.id and e.authors == ("Jeremy Puma",) and "plants" in e.categories
    assert e.content_html and e.content_html.startswith("<")
    assert json.loads(e.raw_json())["title"] == e.title


@pytest.mark.parametrize("body", [b"", b"<html><body>Service unavailable</body></html>", b"\x00\xff\xfe" * 100,
                                  b"<rss version='2.0'><channel><title>x</title>"])
def test_broken_documents_never_raise(body: bytes) -> None:
    parsed = parse_feed(body, FEED_URL, {"content-type": "text/html"})
    assert parsed.status in ("unparseable", "bozo_ok", "ok")
    assert parsed.status == "unparseable" or body.startswith(b"<rss")
    assert parsed.bozo_reason or parsed.status == "ok"


# --- conformance cases ----------------------------------------------------------------------------------------------


def _case(path: Path) -> tuple[str, dict[str, str], str | None]:
    """``(expect, headers, skip_unless)`` from a case's header comment (which is in the file's own encoding)."""
    data = path.read_bytes()
    text = ""
    for enc in ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "latin-1"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "Expect:" in text:
            break
    m = re.search(r"Expect:\s*(.*)", text)
    assert m, f"{path} states no expectation"
    headers = {}
    for line in re.findall(r"Header:\s*(.*)", text):
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    skip = re.search(r"SkipUnless:\s*(.*)", text)
    return m.group(1).strip(), headers, skip.group(1).strip() if skip else None


def _expectation_holds(path: Path) -> bool | None:
    expect, headers, skip_unless = _case(path)
    if skip_unless:
        try:
            eval(skip_unless)  # e.g. __import__('chardet'): a case for an optional library we do not install
        except Exception:
            return None
    result = parse_raw(path.read_bytes(), "http://example.com/feed.xml", headers)
    return bool(eval(expect, {"feedparser": feedparser}, result))


def test_wellformed_rss_and_atom_parse_clean(conformance: Path) -> None:
    cases = sorted(p for d in ("rss", "atom", "atom10") for p in (conformance / "wellformed" / d).glob("*.xml"))
    assert len(cases) > 500
    unclean = []
    for path in cases:
        parsed = parse_feed(path.read_bytes(), "http://example.com/feed.xml", _case(path)[1])
        if _case(path)[0].startswith("not bozo") and parsed.status != "ok":
            unclean.append((path.name, parsed.bozo_reason))
    assert not unclean


def test_encoding_and_illformed_cases_give_the_stated_result(conformance: Path) -> None:
    cases = sorted([*(conformance / "encoding").glob("*.xml"), *(conformance / "illformed").rglob("*.xml")])
    outcomes = {p.name + str(i): _expectation_holds(p) for i, p in enumerate(cases)}
    ran = [k for k, v in outcomes.items() if v is not None]
    assert len(ran) > 80
    assert [k for k in ran if not outcomes[k]] == []


def test_illformed_cases_are_flagged(conformance: Path) -> None:
    for name in ("aaa_illformed.xml", "rss_empty_document.xml", "rss_incomplete_cdata.xml", "undeclared_namespace.xml",
                 "rdf_channel_empty_textinput.xml"):
        parsed = parse_feed((conformance / "illformed" / name).read_bytes(), FEED_URL)
        assert parsed.status in ("bozo_ok", "unparseable") and parsed.bozo_reason, name
    recovered = parse_feed((conformance / "illformed" / "rss_incomplete_cdata.xml").read_bytes(), FEED_URL)
    assert recovered.status == "bozo_ok" and recovered.entries


# --- the registry -------------------------------------------------------------------------------------------------


def test_canonical_url_and_ids() -> None:
    assert canonical_feed_url(" HTTP://Example.COM:80#x ") == "http://example.com/"
    assert canonical_feed_url("https://a.example:8443/f?q=1") == "https://a.example:8443/f?q=1"
    assert feed_id_of("http://EXAMPLE.com") == feed_id_of("http://example.com/")
    assert re.fullmatch(r"MWF[A-Z2-7]{16}", feed_id_of("http://example.com/"))
    with pytest.raises(InvalidInput):
        canonical_feed_url("ftp://example.com/feed")


def test_add_is_idempotent(tmp_path: Path) -> None:
    reg = FeedRegistry(Lake(tmp_path / "lake"))
    ids = reg.add(["http://example.com/a", "http://EXAMPLE.com/a", "http://example.com/b"])
    assert ids[0] == ids[1] != ids[2]
    assert reg.add("http://example.com/a") == [ids[0]]
    rows = reg.lake.read(FEEDS, latest=False).to_pylist()
    assert len(rows) == 2 and {r["added_via"] for r in rows} == {"cli"} and all(r["source"] for r in rows)


OPML = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>subs</title></head><body>
  <outline text="News">
    <outline text="A" type="rss" xmlUrl="http://example.com/a.xml"/>
    <outline text="Deeper"><outline text="B" type="rss" xmlUrl="http://example.com/b.xml"/></outline>
  </outline>
  <outline text="C" type="rss" xmlUrl="https://example.org/c"/>
  <outline text="no feed here"/>
  <outline text="bad" xmlUrl="javascript:alert(1)"/>
</body></opml>"""


def test_import_opml(tmp_path: Path) -> None:
    reg = FeedRegistry(Lake(tmp_path / "lake"))
    path = tmp_path / "subs.opml"
    path.write_bytes(OPML)
    ids = reg.import_opml(path)
    assert len(ids) == 3
    assert {f.added_via for f in reg.feeds()} == {"opml:subs.opml"}
    assert reg.import_opml(OPML) == ids  # the same feeds again: nothing new
    assert len(reg.lake.read(FEEDS, latest=False)) == 3


def test_bad_opml_names_file_and_line(tmp_path: Path) -> None:
    reg = FeedRegistry(Lake(tmp_path / "lake"))
    bad = tmp_path / "broken.opml"
    bad.write_bytes(b"<opml>\n<body>\n<outline xmlUrl='http://x.example/'>\n</body></opml>")
    with pytest.raises(InvalidInput, match=r"broken\.opml: line \d+"):
        reg.import_opml(bad)
    wrong = tmp_path / "page.xml"
    wrong.write_bytes(b"<html><body/></html>")
    with pytest.raises(InvalidInput, match=r"page\.xml: line 1: not an OPML document"):
        reg.import_opml(wrong)
    with pytest.raises(InvalidInput, match="cannot read"):
        reg.import_opml(tmp_path / "missing.opml")


# --- polling on loopback --------------------------------------------------------------------------------------------

SLOW_SECONDS = 1.5


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _FeedServer

    def do_GET(self) -> None:
        srv = self.server
        path = self.path.split("?")[0]
        with srv.lock:
            srv.hits.append(path)
        try:
            if path == "/slow.xml":
                time.sleep(SLOW_SECONDS)
                return self._send(200, b"<rss/>", {"Content-Type": "application/rss+xml"})
            file = srv.root / path.lstrip("/")
            if path == "/" or not file.is_file():
                return self._send(404, b"not found", {"Content-Type": "text/plain"})
            body = file.read_bytes()
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            modified = formatdate(file.stat().st_mtime, usegmt=True)
            if self.headers.get("If-None-Match") == etag:
                with srv.lock:
                    srv.not_modified += 1
                return self._send(304, b"", {"ETag": etag})
            kind = "text/html" if file.suffix == ".html" else "application/rss+xml"
            self._send(200, body, {"Content-Type": kind, "ETag": etag, "Last-Modified": modified})
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _FeedServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.hits: list[str] = []
        self.not_modified = 0
        self.lock = threading.Lock()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"


@pytest.fixture()
def server(tmp_path: Path, real_feeds: Path) -> Iterator[_FeedServer]:
    root = tmp_path / "www"
    root.mkdir()
    for name in ("guardian.rss", "heise.atom", "uolNoticias.rss", "narro.rss"):
        shutil.copy(real_feeds / "input" / name, root / name)
    (root / "broken.html").write_bytes(b"<html><head><title>Oops</title></head><body>502 Bad Gateway</body></html>")
    srv = _FeedServer(root)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(host: str, port: int) -> list[str]:
        raise AssertionError(f"the test tried real DNS for {host!r}")

    monkeypatch.setattr(ssrf, "system_resolver", refuse)


FAST = FetchPolicy(per_host_delay=0, per_host_concurrency=8, connect_timeout=1, read_timeout=1, deadline=0.8,
                   max_attempts=1, backoff_base=0.01, backoff_max=0.02, respect_robots=False)


def _poll(reg: FeedRegistry, srv: _FeedServer, now: datetime, **kwargs: Any) -> PollReport:
    async def go() -> PollReport:
        policy = Policy(allow=[f"127.0.0.1:{srv.server_address[1]}"])
        async with Fetcher(FAST, policy) as fetcher:
            return await reg.poll_once(fetcher, now=now, **kwargs)

    return asyncio.run(go())


def _states(reg: FeedRegistry) -> dict[str, dict[str, Any]]:
    return {r["feed_id"]: r for r in reg.lake.read(FEED_STATE).to_pylist()}


def test_poll_cycle(tmp_path: Path, server: _FeedServer) -> None:
    reg = FeedRegistry(Lake(tmp_path / "lake"), batch_size=3)  # several batches on purpose
    good = ["guardian.rss", "heise.atom", "uolNoticias.rss", "narro.rss"]
    ids = dict(zip(good + ["broken.html", "missing.xml", "slow.xml"],
                   reg.add([server.url(n) for n in good + ["broken.html", "missing.xml", "slow.xml"]])))
    t0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

    # first poll: every good feed stored, each failure counted
    first = _poll(reg, server, t0)
    assert first.due == first.polled == 7
    assert first.statuses["ok"] == 3 and first.statuses["bozo_ok"] == 1  # UOL: Latin-1 read despite the declaration
    assert first.errors == {"unparseable": 1, "http_error": 1, "timeout": 1}
    assert first.new_items == 55 + 15 + 15 + 1 == len(reg.lake.read(FEED_ITEMS))
    assert set(first.seconds) >= {"fetch", "parse", "store", "total"} and first.items_per_second > 0
    states = _states(reg)
    assert {states[ids[n]]["failures"] for n in good} == {0}
    assert states[ids["guardian.rss"]]["next_poll"] == t0 + timedelta(minutes=15)
    assert states[ids["guardian.rss"]]["etag"] and states[ids["guardian.rss"]]["items_seen"] == 55
    assert states[ids["missing.xml"]]["last_http_status"] == 404
    assert states[ids["broken.html"]]["last_status"] == "unparseable"
    payload = reg.lake.read(FEED_STATE, columns=["feed_id", "failed_payload"], where="feed_id = ?", params=[ids["broken.html"]])
    assert payload.column("failed_payload")[0].as_py().startswith(b"<html>")
    for name in ("broken.html", "missing.xml", "slow.xml"):
        assert states[ids[name]]["failures"] == 1
        assert states[ids[name]]["next_poll"] == t0 + reg.backoff(1) == t0 + timedelta(minutes=30)
    feeds = {f.feed_id: f for f in reg.feeds()}
    assert feeds[ids["guardian.rss"]].title == "The Guardian" and feeds[ids["guardian.rss"]].language == "en-gb"
    uol = reg.lake.read(FEED_ITEMS, where="feed_id = ?", params=[ids["uolNoticias.rss"]]).to_pylist()
    assert all(r["published"] is not None and r["published_raw"] for r in uol)

    # second poll after the interval: good feeds answer 304, failed ones are not due yet
    t1 = t0 + timedelta(minutes=16)
    assert {f.feed_id for f in reg.due(t1)} == {ids[n] for n in good}
    second = _poll(reg, server, t1)
    assert second.statuses == {"not_modified": 4} and second.new_items == 0
    assert server.not_modified == 4
    assert len(reg.lake.read(FEED_ITEMS)) == first.new_items

    # a feed gains two items: only those are appended
    guardian = server.root / "guardian.rss"
    text = guardian.read_text("utf-8")
    extra = "".join(f"<item><title>Extra {i}</title><link>https://example.com/extra/{i}</link>"
                    f"<guid>https://example.com/extra/{i}</guid><pubDate>Wed, 31 Jan 2018 08:0{i}:00 GMT</pubDate></item>"
                    for i in range(2))
    guardian.write_text(text.replace("<item>", extra + "<item>", 1), "utf-8")
    t2 = t1 + timedelta(minutes=16)  # past the failed feeds' backoff too
    third = _poll(reg, server, t2)
    assert third.statuses == {"ok": 1, "not_modified": 3, "unparseable": 1, "http_error": 1, "timeout": 1}
    assert third.new_items == 2
    stored = reg.lake.read(FEED_ITEMS, where="feed_id = ?", params=[ids["guardian.rss"]])
    assert len(stored) == 57 and {"Extra 0", "Extra 1"} <= set(stored.column("title").to_pylist())
    states = _states(reg)
    assert states[ids["guardian.rss"]]["items_seen"] == 57

    # failures keep counting and the backoff doubles
    for name in ("broken.html", "missing.xml", "slow.xml"):
        assert states[ids[name]]["failures"] == 2
        assert states[ids[name]]["next_poll"] == t2 + timedelta(hours=1)
    history = reg.lake.read(FEED_STATE, latest=False, where="feed_id = ?", params=[ids["missing.xml"]])
    assert len(history) == 2
    later = {f.feed_id for f in reg.due(t2 + timedelta(minutes=59))}
    assert ids["guardian.rss"] in later and ids["missing.xml"] not in later


def test_poll_with_nothing_due(tmp_path: Path, server: _FeedServer) -> None:
    reg = FeedRegistry(Lake(tmp_path / "lake"))
    report = _poll(reg, server, datetime(2026, 1, 5, tzinfo=UTC))
    assert report.due == report.polled == report.new_items == 0


def test_opml_feeds_poll(tmp_path: Path, server: _FeedServer) -> None:
    reg = FeedRegistry(Lake(tmp_path / "lake"))
    outlines = "".join(f'<outline text="{n}" xmlUrl="{server.url(n)}"/>' for n in ("guardian.rss", "heise.atom", "narro.rss"))
    ids = reg.import_opml(f'<opml version="1.0"><body><outline text="x">{outlines}</outline></body></opml>'.encode())
    assert len(ids) == 3
    report = _poll(reg, server, datetime(2026, 1, 5, tzinfo=UTC))
    assert report.statuses == {"ok": 3} and report.new_items == 55 + 15 + 1


def test_cli_poll_runs_cycles_until_told_to_stop(tmp_path: Path, server: _FeedServer) -> None:
    """``news poll`` without --once keeps polling (here for two cycles, one JSON line each); --allow opens the test
    server's port, and without it the guard refuses loopback in every cycle."""
    from click.testing import CliRunner

    from marketwire.cli import main

    home = str(tmp_path / "home")
    runner = CliRunner()
    assert runner.invoke(main, ["--home", home, "news", "feeds", "add", server.url("guardian.rss")]).exit_code == 0
    refused = runner.invoke(main, ["--home", home, "news", "poll", "--cycles", "1", "--no-articles",
                                   "--format", "json"])
    assert refused.exit_code == 0, refused.output
    (line,) = refused.output.strip().splitlines()
    assert json.loads(line)["statuses"] == {"refused_ssrf": 1} and json.loads(line)["cycle"] == 1
    # the refused feed backs off; a fresh home polls it at once
    home = str(tmp_path / "home2")
    assert runner.invoke(main, ["--home", home, "news", "feeds", "add", server.url("guardian.rss")]).exit_code == 0
    t0 = time.monotonic()
    res = runner.invoke(main, ["--home", home, "news", "poll", "--cycles", "2", "--max-sleep", "1", "--no-articles",
                               "--allow", f"127.0.0.1:{server.server_address[1]}", "--format", "json"])
    assert res.exit_code == 0, res.output
    first, second = (json.loads(x) for x in res.output.strip().splitlines())
    assert (first["cycle"], second["cycle"]) == (1, 2)
    assert first["statuses"] == {"ok": 1} and first["new_items"] == 55
    assert second["polled"] == 0  # not due again for 15 minutes: the second cycle finds nothing to do
    assert time.monotonic() - t0 < 30
    # the service builds the SSRF policy: a bad entry is an invalid input naming `allow` (exit 4), before any poll
    bad = runner.invoke(main, ["--home", home, "news", "poll", "--once", "--allow", "not a network/99"])
    assert bad.exit_code == 4 and "`allow`: 'not a network/99'" in bad.output and "statuses" not in bad.output


def test_poll_forever_survives_a_failed_cycle_and_stops_on_request(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import marketwire
    from marketwire.errors import SourceError

    mw = marketwire.open(tmp_path / "home")
    calls = []

    def poll(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise SourceError("feeds table unreadable", file="feeds")
        return {"polled": 0}

    monkeypatch.setattr(type(mw.news), "poll_once", lambda self, *a, **k: poll(*a, **k))
    seen: list[dict[str, Any]] = []
    t0 = time.monotonic()
    assert mw.news.poll_forever(cycles=2, on_cycle=seen.append, max_sleep=1.0) == 2
    assert 0.9 < time.monotonic() - t0 < 10  # after the failed cycle it waited (2 s backoff capped by max_sleep)
    assert seen[0]["code"] and "unreadable" in seen[0]["error"] and seen[1] == {**seen[1], "polled": 0, "cycle": 2}
    stop = threading.Event()
    stop.set()
    assert mw.news.poll_forever(stop=stop) == 0  # told to stop before it began


def test_the_poller_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "marketwire.cli", "--home", str(tmp_path / "home"), "news", "poll",
                             "--no-articles", "--max-sleep", "120", "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())  # one cycle done (no feeds): now it sleeps up to 120 s
        assert first["cycle"] == 1 and "error" not in first
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert time.monotonic() - t0 < 20
    finally:
        if proc.poll() is None:
            proc.kill()
