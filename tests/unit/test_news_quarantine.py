"""News refusals go to the quarantine like every other dataset's: rule, field, raw value, file, line and the raw
input (the address and the start of the text), under dataset ``news_articles``, and nothing given is lost: every
file or feed item becomes an article or a quarantine record.

Driven through the CLI (``marketwire news add`` / ``marketwire quarantine``) and, for feed items, through a real
poll of a feed served on loopback.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import marketwire
from marketwire.cli import main
from marketwire.news.articles import RAW_PREFIX_CHARS
from marketwire.news.fetch import FetchPolicy
from marketwire.verify.rules import RULES

pytestmark = pytest.mark.unit

ARTICLE_TEXT = ("Die Europäische Zentralbank hat ihre Leitzinsen am Donnerstag unverändert gelassen. Die Inflation "
                "liege weiter über dem Ziel von zwei Prozent, sagte die Präsidentin in Frankfurt.\n\n"
                "Die Renditen der Staatsanleihen gaben nach der Entscheidung nach, der Euro legte zum Dollar zu.")

HTML_ARTICLE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Putin meets Pezeshkian</title>
<meta property="article:published_time" content="{published}"></head>
<body><article><h1>Putin and Pezeshkian meet in Turkmenistan as Iran seeks Russian air defence</h1>
<p>Russian President Vladimir Putin met Iran's new President Masoud Pezeshkian for the first time on Friday in
Ashgabat, Turkmenistan, at a summit of Central Asian leaders, as tensions with Israel grew.</p>
<p>Iran is interested in Russian fighter jets and S-400 air defence systems, experts said, after its missile attack
on Israel in early October. Tehran denies supplying weapons that Russia could use in Ukraine.</p>
<p>The two leaders are expected to sign a strategic partnership agreement in Kazan later this month. Saudi Arabia and
the United Arab Emirates oppose arms deals with Iran.</p></article></body></html>"""

EMPTY_PAGE = "<!DOCTYPE html><html><head><title>Nothing here</title></head><body><div></div></body></html>"
JUNK = bytes(range(256)) * 16  # 4 kB of every byte value, NULs included: not a page, not text


def cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args])


def quarantined(home: Path) -> list[dict[str, Any]]:
    r = cli(home, "quarantine", "--dataset", "news_articles", "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_rules_are_catalogued() -> None:
    for code in ("news.no_text", "news.unparseable", "news.too_large", "news.ssrf_refused", "news.fetch_failed",
                 "news.bad_published"):
        assert RULES[code].dataset == "news_articles" and RULES[code].severity == "reject"


def test_news_add_quarantines_what_gives_no_article(tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = {
        "empty.html": EMPTY_PAGE.encode(),
        "blank.html": b"",
        "junk.bin": JUNK,
        "title-only.txt": b"Only a title, nothing after it\n",
        "ok.txt": ("EZB lässt Zinsen unverändert\n" + ARTICLE_TEXT).encode(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    paths = [str(tmp_path / n) for n in files]
    r = cli(home, "news", "add", *paths, "--format", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [(Path(x["url"]).name, x["status"]) for x in rows] == [
        ("empty.html", "quarantined"), ("blank.html", "quarantined"), ("junk.bin", "quarantined"),
        ("title-only.txt", "quarantined"), ("ok.txt", "new")]
    assert [x["article_id"] is None for x in rows] == [True, True, True, True, False]
    assert set(rows[0]) == {"article_id", "url", "status", "duplicate_of", "language", "story_id"}  # as before
    assert f"quarantined [news.no_text]: {tmp_path / 'empty.html'}" in r.stderr
    assert f"quarantined [news.unparseable]: {tmp_path / 'junk.bin'}" in r.stderr

    q = {Path(x["file"]).name: x for x in quarantined(home)}
    assert set(q) == {"empty.html", "blank.html", "junk.bin", "title-only.txt"}
    assert {n: (x["rule"], x["field"], x["line"], x["dataset"], x["source"]) for n, x in q.items()} == {
        "empty.html": ("news.no_text", "body", None, "news_articles", "news-files"),
        "blank.html": ("news.no_text", "body", None, "news_articles", "news-files"),
        "junk.bin": ("news.unparseable", "page", None, "news_articles", "news-files"),
        "title-only.txt": ("news.no_text", "body", None, "news_articles", "news-files"),
    }
    assert q["empty.html"]["file"] == str((tmp_path / "empty.html").resolve())
    raw = {n: json.loads(x["raw"]) for n, x in q.items()}
    assert raw["empty.html"]["address"] == q["empty.html"]["file"]
    assert raw["empty.html"]["text"] == EMPTY_PAGE and raw["empty.html"]["bytes"] == len(EMPTY_PAGE)
    assert raw["empty.html"]["extract_status"] == "no_text" and raw["empty.html"]["title"] == "Nothing here"
    assert raw["blank.html"]["bytes"] == 0 and raw["blank.html"]["text"] == ""
    # the raw input is bounded: the first RAW_PREFIX_CHARS characters of a 4 kB file, and says how large it was
    assert raw["junk.bin"]["bytes"] == len(JUNK) and len(raw["junk.bin"]["text"]) == RAW_PREFIX_CHARS
    assert raw["junk.bin"]["text"][:3] == "\x00\x01\x02"
    assert q["junk.bin"]["value"].startswith("\x00\x01\x02") and "binary" in q["junk.bin"]["message"]
    assert raw["title-only.txt"]["title"] == "Only a title, nothing after it"

    # nothing is lost: every file is an article or a quarantine record, and only the article is on the wire
    r = cli(home, "news", "list", "--format", "json")
    listed = {Path(a["url"]).name for a in json.loads(r.stdout)}
    assert listed == {"ok.txt"} and listed | set(q) == set(files)

    # the same files again: the article is unchanged and each refusal is stored once
    r = cli(home, "news", "add", *paths, "--format", "json")
    assert [x["status"] for x in json.loads(r.stdout)] == ["quarantined"] * 4 + ["unchanged"]
    assert len(quarantined(home)) == 4
    # a table prints the ids of the articles only; the refused files are named on stderr
    r = cli(home, "news", "add", str(tmp_path / "junk.bin"), str(tmp_path / "ok.txt"))
    assert r.exit_code == 0 and r.stdout.split() == [rows[4]["article_id"]]
    assert "junk.bin" in r.stderr and "news.unparseable" in r.stderr


def test_bad_published_is_refused_naming_it_and_nothing_is_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    f = tmp_path / "ok.txt"
    f.write_text("EZB lässt Zinsen unverändert\n" + ARTICLE_TEXT, encoding="utf-8")
    for bad in ("notadate", "2024-02-30", "08/08/2024", "2024-08-08Tgarbage"):
        r = cli(home, "news", "add", str(f), "--published", bad)
        assert r.exit_code == 4, r.output
        assert "`published`" in r.stderr and bad in r.stderr
    assert json.loads(cli(home, "news", "list", "--format", "json").stdout) == []
    assert quarantined(home) == []
    # a date is the start of its day, an instant is kept as given (in UTC)
    r = cli(home, "news", "add", str(f), "--published", "2024-08-08", "--format", "json")
    (added,) = json.loads(r.stdout)
    shown = json.loads(cli(home, "news", "show", added["article_id"]).stdout)
    assert shown["published"] == "2024-08-08T00:00:00+00:00"
    g = tmp_path / "other.txt"
    g.write_text("Zweiter Text\n" + ARTICLE_TEXT.replace("Donnerstag", "Mittwoch"), encoding="utf-8")
    r = cli(home, "news", "add", str(g), "--published", "2024-08-08T10:30:00+02:00", "--format", "json")
    (added,) = json.loads(r.stdout)
    assert json.loads(cli(home, "news", "show", added["article_id"]).stdout)["published"] == \
        "2024-08-08T08:30:00+00:00"


def test_a_stated_time_that_is_not_a_time_is_quarantined_and_the_article_kept(tmp_path: Path) -> None:
    """A page whose markup states a publication time with a seconds offset (not ISO 8601): the article is stored
    without a time, and the value is quarantined with the rule, the field and the page."""
    home = tmp_path / "home"
    bad = "2024-10-11T14:30:00+05:30:15"
    page = tmp_path / "page.html"
    page.write_text(HTML_ARTICLE.format(published=bad), encoding="utf-8")
    r = cli(home, "news", "add", str(page), "--format", "json")
    assert r.exit_code == 0, r.output
    (added,) = json.loads(r.stdout)
    assert added["status"] == "new"
    shown = json.loads(cli(home, "news", "show", added["article_id"]).stdout)
    assert shown["published"] is None and shown["title"].startswith("Putin")
    (row,) = quarantined(home)
    assert (row["rule"], row["field"], row["value"], row["line"]) == ("news.bad_published", "published", bad, None)
    assert row["file"] == str(page.resolve()) and json.loads(row["raw"])["extract_status"] == "ok"
    # the page as another outlet states it, with a real offset: stored with its time, and no new refusal
    other = tmp_path / "other.html"
    other.write_text(HTML_ARTICLE.format(published="2024-10-11T14:30:00+05:30"), encoding="utf-8")
    (added,) = json.loads(cli(home, "news", "add", str(other), "--format", "json").stdout)
    shown = json.loads(cli(home, "news", "show", added["article_id"]).stdout)
    assert shown["published"] == "2024-10-11T09:00:00+00:00" and len(quarantined(home)) == 1


# -- feed items: the poller ------------------------------------------------------------------------------

FAST = FetchPolicy(per_host_delay=0, per_host_concurrency=8, connect_timeout=2, read_timeout=5, deadline=10,
                   max_attempts=1, respect_robots=False, max_body=50_000)


@pytest.fixture()
def feed_server() -> Iterator[dict[str, Any]]:
    routes: dict[str, tuple[int, str, bytes]] = {}
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            hits.append(self.path)
            status, ctype, body = routes.get(self.path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    base = f"http://127.0.0.1:{port}"
    # a port nobody was allowed to reach: the guard refuses it before connecting
    refused = f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}/secret.html"
    items = [("ok", f"{base}/a/ok.html", "A summary of ok."),
             ("login", f"{base}/a/login.html", "The feed's own summary of the login item."),
             ("gone", f"{base}/a/gone.html", None),
             ("private", refused, None),
             ("huge", f"{base}/a/huge.html", None),
             ("empty", f"{base}/a/empty.html", None)]
    xml = "".join(f"<item><guid>{g}</guid><title>Item {g}</title><link>{link}</link>"
                  + (f"<description>{d}</description>" if d else "")
                  + "<pubDate>Fri, 11 Oct 2024 10:00:00 GMT</pubDate></item>" for g, link, d in items)
    html = "text/html; charset=utf-8"
    routes.update({
        "/feed.xml": (200, "application/rss+xml",
                      f'<?xml version="1.0"?><rss version="2.0"><channel><title>Loopback</title><link>{base}/</link>'
                      f"{xml}</channel></rss>".encode()),
        "/a/ok.html": (200, html, HTML_ARTICLE.format(published="2024-10-11T10:00:00Z").encode()),
        "/a/login.html": (200, html, EMPTY_PAGE.encode()),
        "/a/huge.html": (200, html, b"<html><body><p>" + b"x" * 60_000 + b"</p></body></html>"),
        "/a/empty.html": (200, html, EMPTY_PAGE.encode()),
    })
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield {"base": base, "port": port, "refused": refused, "hits": hits}
    srv.shutdown()


def test_feed_items_without_an_article_are_quarantined_once(tmp_path: Path, feed_server: dict[str, Any]) -> None:
    mw = marketwire.open(tmp_path / "home")
    mw.news.feeds_add([feed_server["base"] + "/feed.xml"])
    allow = [f"127.0.0.1:{feed_server['port']}"]
    rep = mw.news.poll_once(allow=allow, fetch_policy=FAST)["articles"]
    assert rep["items"] == 6 and rep["articles"] == 2 and rep["quarantined"] == 4
    assert rep["statuses"] == {"ok": 3, "http_error": 1, "refused_ssrf": 1, "too_large": 1}
    arts = {a.url.rsplit("/", 1)[-1]: a for a in mw.news.list()}
    assert set(arts) == {"ok.html", "login.html"}
    # a page without an article but an item with text of its own: an article from the item's text, not a refusal
    assert arts["login.html"].extract_status == "feed_text"
    assert arts["login.html"].body == "The feed's own summary of the login item."
    q = {r["file"].rsplit("/", 1)[-1]: r for r in mw.quarantine(dataset="news_articles")}
    assert {n: (r["rule"], r["field"], r["source"]) for n, r in q.items()} == {
        "gone.html": ("news.fetch_failed", "url", "news-poll"),
        "secret.html": ("news.ssrf_refused", "url", "news-poll"),
        "huge.html": ("news.too_large", "url", "news-poll"),
        "empty.html": ("news.no_text", "body", "news-poll"),
    }
    assert q["secret.html"]["value"] == feed_server["refused"] and q["secret.html"]["file"] == feed_server["refused"]
    raw = json.loads(q["gone.html"]["raw"])
    assert (raw["fetch_status"], raw["http_status"], raw["item_title"]) == ("http_error", 404, "Item gone")
    assert raw["feed_id"] == mw.news.feeds()[0].feed_id and raw["item_key"].endswith("/gone")  # guid as a URL
    assert json.loads(q["empty.html"]["raw"])["text"] == EMPTY_PAGE
    assert "/secret.html" not in feed_server["hits"]  # refused before connecting
    # the next poll reads none of them again: each item was read once, into an article or the quarantine
    hits = len(feed_server["hits"])
    assert mw.news.articles().pending_items() == []
    again = mw.news.poll_once(allow=allow, fetch_policy=FAST)["articles"]
    assert again["items"] == 0 and len(mw.quarantine(dataset="news_articles")) == 4
    assert len(feed_server["hits"]) <= hits + 1  # at most the feed itself (it is not due again yet)
