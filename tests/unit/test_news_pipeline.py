"""The whole wire on loopback: a feed's items -> their pages -> extracted, linked, summarised, clustered articles.

A threaded ``http.server`` on 127.0.0.1 serves one RSS feed whose items point at: the seed article's page (with
navigation and the advertisement around it), a syndicated copy of it (new headline, agency footer), an English
article about the same meeting, an unrelated German article, a page that is gone (404) and a page that holds no
article. Everything else (the seed itself, the acceptance checks on it) is in ``test_news_seed.py``.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from news_seed import read_seed, seed_page_html

import marketwire
from marketwire.datasets.news import NEWS_PAGES
from marketwire.news.fetch import FetchPolicy
from marketwire.news.ssrf import Policy

pytestmark = pytest.mark.unit

FAST = FetchPolicy(per_host_delay=0, per_host_concurrency=8, connect_timeout=2, read_timeout=5, deadline=10,
                   max_attempts=1, respect_robots=False)

EN_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Putin meets Pezeshkian</title></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav><article><h1>Putin and Pezeshkian meet in
Turkmenistan as Iran seeks Russian air defence</h1>
<p>Russian President Vladimir Putin met Iran's new President Masoud Pezeshkian for the first time on Friday in
Ashgabat, Turkmenistan, at a summit of Central Asian leaders, as tensions with Israel grew.</p>
<p>Iran is interested in Russian fighter jets and S-400 air defence systems, experts said, after its missile attack
on Israel in early October. Tehran denies supplying weapons that Russia could use in Ukraine.</p>
<p>The two leaders are expected to sign a strategic partnership agreement in Kazan later this month. Saudi Arabia and
the United Arab Emirates oppose arms deals with Iran.</p></article><footer>Subscribe to our newsletter</footer>
</body></html>"""

DE_PAGE = """<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>Siemens hebt Prognose an</title></head>
<body><article><h1>Siemens hebt nach starkem Quartal die Jahresprognose an</h1>
<p>Der Münchner Technologiekonzern Siemens hat im dritten Quartal deutlich mehr verdient als erwartet und hebt seine
Prognose für das Gesamtjahr an. Der Gewinn nach Steuern stieg um 12 Prozent auf 2,1 Milliarden Euro.</p>
<p>Vorstandschef Roland Busch sagte in München, die Nachfrage nach Automatisierungstechnik aus China habe sich
stabilisiert. Die Aktie legte im frühen Handel in Frankfurt um 4 Prozent zu.</p>
<p>Analysten hatten mit einem Umsatz von 19,5 Milliarden Euro gerechnet; Siemens meldete 19,8 Milliarden Euro.</p>
</article></body></html>"""

NOT_ARTICLE = b"<!DOCTYPE html><html><head><title>Login</title></head><body><form><input name=u></form></body></html>"


def _copy_page() -> str:
    """The seed as an agency would syndicate it: another headline, the same body, a credit line."""
    s = read_seed()
    return (f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Iran et Russie</title></head><body>'
            f"<article><h1>Moscou et Téhéran se rapprochent</h1><p>{s.body}</p><p>(Avec agences)</p></article>"
            "</body></html>")


def _feed(base: str) -> bytes:
    items = [("seed", "/a/seed.html", "Poutine et Pezeshkian forment une nouvelle alliance stratégique", "14:30"),
             ("copy", "/a/copy.html", "Moscou et Téhéran se rapprochent", "16:05"),
             ("en", "/a/en.html", "Putin and Pezeshkian meet", "18:40"),
             ("de", "/a/de.html", "Siemens hebt Prognose an", "09:15"),
             ("gone", "/a/gone.html", "Ein Artikel, der verschwunden ist", "10:00"),
             ("login", "/a/login.html", "Login", "11:00")]
    xml = "".join(f"<item><guid>{g}</guid><title>{t}</title><link>{base}{p}</link>"
                  f"<description>&lt;p&gt;Le résumé de {g} publié par le flux.&lt;/p&gt;</description>"
                  f"<pubDate>Fri, 11 Oct 2024 {hm}:00 GMT</pubDate></item>" for g, p, t, hm in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Loopback wire</title>'
            f"<link>{base}/</link><language>fr</language>{xml}</channel></rss>").encode()


@pytest.fixture(scope="module")
def server() -> Iterator[dict[str, Any]]:
    routes: dict[str, tuple[int, str, bytes]] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            status, ctype, body = routes.get(self.path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    html_type = "text/html; charset=utf-8"
    routes.update({
        "/feed.xml": (200, "application/rss+xml", _feed(base)),
        "/a/seed.html": (200, html_type, seed_page_html().encode()),
        "/a/copy.html": (200, html_type, _copy_page().encode()),
        "/a/en.html": (200, html_type, EN_PAGE.encode()),
        "/a/de.html": (200, html_type, DE_PAGE.encode()),
        "/a/login.html": (200, html_type, NOT_ARTICLE),
    })
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield {"base": base, "port": srv.server_address[1]}
    srv.shutdown()


@pytest.fixture(scope="module")
def wire(server: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    mw = marketwire.open(tmp_path_factory.mktemp("wire"))
    mw.add_feeds([server["base"] + "/feed.xml"])
    policy = Policy(allow=[f"127.0.0.1:{server['port']}"])
    first = mw.poll_feeds(fetch_policy=FAST, ssrf_policy=policy)
    arts = {a["url"].rsplit("/", 1)[-1].split(".")[0]: a for a in mw.articles().list()}
    return {"mw": mw, "first": first, "arts": arts, "policy": policy}


def test_every_item_becomes_an_article_with_a_status(wire: dict[str, Any]) -> None:
    rep = wire["first"]["articles"]
    assert rep["items"] == 6 and rep["articles"] == 6
    assert rep["statuses"] == {"ok": 5, "http_error": 1}
    arts = wire["arts"]
    assert set(arts) == {"seed", "copy", "en", "de", "gone", "login"}
    gone = arts["gone"]  # the page is gone: the item's own text is kept, and the status says so
    assert gone["fetch_status"] == "http_error" and gone["extract_status"] == "feed_text"
    assert gone["title"] == "Ein Artikel, der verschwunden ist"
    assert gone["body"] == "Le résumé de gone publié par le flux."
    login = arts["login"]  # a page without an article falls back to the item's text too
    assert login["fetch_status"] == "ok" and login["extract_status"] == "feed_text"
    assert {a["feed_id"] for a in arts.values()} == {wire["mw"].feeds().feeds()[0].feed_id}


def test_raw_pages_are_kept(wire: dict[str, Any]) -> None:
    pages = wire["mw"].lake.read(NEWS_PAGES).to_pylist()
    by_url = {p["url"].rsplit("/", 1)[-1]: p for p in pages}
    assert by_url["seed.html"]["raw"] == seed_page_html().encode()
    assert by_url["seed.html"]["http_status"] == 200 and by_url["seed.html"]["status"] == "ok"
    assert by_url["gone.html"]["status"] == "http_error" and by_url["gone.html"]["http_status"] == 404


def test_pipeline_stages_fill_every_field(wire: dict[str, Any]) -> None:
    arts = wire["arts"]
    seed, copy, en, de = arts["seed"], arts["copy"], arts["en"], arts["de"]
    assert (seed["language"], copy["language"], en["language"], de["language"]) == ("fr", "fr", "en", "de")
    assert "Get in touch" not in seed["body"] and "Marchés" not in seed["body"]
    assert 2 <= len(seed["bullets"]) <= 3 and all(len(b.split()) <= 25 for b in seed["bullets"])
    keys = {f"{e['link']['kind']}:{e['link']['id']}" for e in seed["entities"] if e["link"]}
    assert {"country:RU", "country:IR", "country:IL"} <= keys
    en_keys = {f"{e['link']['kind']}:{e['link']['id']}" for e in en["entities"] if e["link"]}
    assert {"country:RU", "country:IR", "country:TM"} <= en_keys
    assert "defence" in {t["topic"] for t in seed["topics"]}
    assert "earnings" in {t["topic"] for t in de["topics"]}


def test_duplicates_and_stories(wire: dict[str, Any]) -> None:
    arts = wire["arts"]
    seed, copy, en, de = arts["seed"], arts["copy"], arts["en"], arts["de"]
    assert copy["duplicate_of"] == seed["id"] and seed["duplicate_of"] is None
    assert copy["story_id"] == seed["story_id"] and copy["novelty"] == 0.0
    assert en["duplicate_of"] is None
    # an English report of the same meeting, written apart (not a translation), joins the French story through the
    # embedding and the shared links (Putin, Pezeshkian, RU, IR, TM ...); an unrelated German report does not
    assert en["story_id"] == seed["story_id"] and 0.5 <= en["story_score"] < 0.9 and 0.1 < en["novelty"] <= 0.5
    assert de["story_id"] != seed["story_id"] and de["novelty"] == 1.0
    story = wire["mw"].articles().story(seed["story_id"])
    assert story["articles"] == 3 and story["originals"] == 2 and story["languages"] == ["en", "fr"]
    assert story["first_article"] == seed["id"]
    assert {"RU", "IR", "TM"} <= set(story["countries"])


def test_search_filters(wire: dict[str, Any]) -> None:
    st = wire["mw"].articles()
    arts = wire["arts"]

    def ids(**kw: Any) -> set[str]:
        return {a["id"] for a in st.list(**kw)}

    assert ids(country="RU") == {arts[k]["id"] for k in ("seed", "copy", "en")}
    assert ids(country="ru", unique=True) == {arts[k]["id"] for k in ("seed", "en")}
    assert arts["de"]["id"] in ids(lang="de") and arts["seed"]["id"] not in ids(lang="de")
    assert ids(q="pezeshkian teheran") == {arts["seed"]["id"], arts["copy"]["id"]}  # accents ignored, all words
    assert ids(q='"Roland Busch"') == {arts["de"]["id"]}
    assert ids(topic="earnings") >= {arts["de"]["id"]} and arts["seed"]["id"] not in ids(topic="earnings")
    assert ids(entity="Pezeshkian") >= {arts["seed"]["id"], arts["en"]["id"]}
    assert ids(story=arts["seed"]["story_id"]) == {arts[k]["id"] for k in ("seed", "copy", "en")}
    assert st.list(q="pezeshkian")[0]["id"] in {arts["seed"]["id"], arts["copy"]["id"], arts["en"]["id"]}


def test_second_poll_reads_nothing_again(wire: dict[str, Any]) -> None:
    mw = wire["mw"]
    assert mw.articles().pending_items() == []
    before = len(mw.articles().list())
    again = mw.poll_feeds(fetch_policy=FAST, ssrf_policy=wire["policy"])
    assert again["articles"]["items"] == 0 and again["articles"]["articles"] == 0
    assert len(mw.articles().list()) == before


def test_html_text_of_item_summaries() -> None:
    from marketwire.news.articles import _html_text

    assert _html_text("<p>Un &amp; deux</p><p>trois<br>quatre</p>") == "Un & deux\n\ntrois quatre"
    assert _html_text("plain text") == "plain text"
    assert _html_text(None) == ""


def test_path_articles_keep_their_file_address(tmp_path: Path) -> None:
    mw = marketwire.open(tmp_path / "home")
    f = tmp_path / "note.txt"
    f.write_text("Siemens hebt Prognose an\nDer Konzern Siemens hebt die Prognose an. Der Gewinn stieg um 12 Prozent.",
                 encoding="utf-8")
    (added,) = mw.articles().add([str(f)])
    a = mw.articles().show(added.article_id)
    assert a["url"] == str(f.resolve()) and a["language"] == "de" and a["fetch_status"] is None


def test_batches_share_what_is_stored_and_another_writer_is_seen(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The store reads the articles table once, keeps it up to date batch after batch, and reads it again only when
    another writer has changed it; copies are found across batches either way."""
    from marketwire.news.articles import ArticleStore

    body = read_seed().body
    files = {}
    for name, text in {"orig": f"Poutine et Pezeshkian\n{body}", "copy": f"Moscou et Téhéran\n{body}\n(Avec AFP)",
                       "copy2": f"Alliance stratégique\n{body}\n(Reuters)",
                       "copy3": f"Russie-Iran\n{body}\n(AP)"}.items():
        files[name] = tmp_path / f"{name}.txt"
        files[name].write_text(text, encoding="utf-8")
    reads = []
    real = ArticleStore._stored
    monkeypatch.setattr(ArticleStore, "_stored", lambda self: reads.append(1) or real(self))
    mw = marketwire.open(tmp_path / "home")
    st = mw.articles()
    (orig,) = st.add([str(files["orig"])])
    (copy,) = st.add([str(files["copy"])])
    assert copy.duplicate_of == orig.article_id and len(reads) == 1
    (copy2,) = mw.articles().add([str(files["copy2"])])  # another store writes: this one must see it
    assert copy2.duplicate_of == orig.article_id and len(reads) == 2
    (copy3,) = st.add([str(files["copy3"])])
    assert copy3.duplicate_of == orig.article_id and len(reads) == 3
    assert {a["story_id"] for a in st.list()} == {orig.story_id}


def test_a_revision_replaces_its_earlier_text_and_keeps_its_story(tmp_path: Path) -> None:
    """A long-lived store answers like a fresh one after a revision: a copy of the new text is a duplicate of the
    revised article (not of nothing), and the revised article keeps the story id it was given."""
    body = read_seed().body
    seed, page = tmp_path / "seed.txt", tmp_path / "syndicated.txt"
    seed.write_text(f"Poutine et Pezeshkian\n{body}", encoding="utf-8")
    page.write_text(f"Moscou et Téhéran\n{body}\n(Avec AFP)", encoding="utf-8")
    mw = marketwire.open(tmp_path / "home")
    st = mw.articles()
    (a,) = st.add([str(seed)])
    (b,) = st.add([str(page)])
    assert b.duplicate_of == a.article_id and b.story_id == a.story_id
    other = ("Der Münchner Technologiekonzern Siemens hat im dritten Quartal deutlich mehr verdient als erwartet und "
             "hebt seine Prognose für das Gesamtjahr an. Der Gewinn nach Steuern stieg um 12 Prozent auf 2,1 Milliarden "
             "Euro. Vorstandschef Roland Busch sagte in München, die Nachfrage nach Automatisierungstechnik aus China "
             "habe sich stabilisiert. Die Aktie legte im frühen Handel in Frankfurt um 4 Prozent zu. Analysten hatten "
             "mit einem Umsatz von 19,5 Milliarden Euro gerechnet; Siemens meldete 19,8 Milliarden Euro.")
    page.write_text(f"Siemens hebt Prognose an\n{other}", encoding="utf-8")  # the page now holds another text
    (rev,) = st.add([str(page)])
    assert rev.status == "revised" and rev.duplicate_of is None and rev.story_id == a.story_id
    copy = tmp_path / "copy.txt"
    copy.write_text(f"Siemens: Prognose erhöht\n{other}\n(dpa)", encoding="utf-8")
    (c,) = st.add([str(copy)])
    assert c.duplicate_of == b.article_id  # the long-lived store indexed the revised text
    fresh = mw.articles()
    assert fresh.show(c.article_id)["duplicate_of"] == b.article_id
    assert st.show(b.article_id)["revision"] == 2


def test_a_writer_that_commits_during_a_batch_is_seen_by_the_next(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from marketwire.news.articles import ArticleStore

    files = []
    for i in range(3):
        f = tmp_path / f"n{i}.txt"
        f.write_text(f"Note {i}\nLa note numéro {i} parle de la Banque de France et du taux {i}0 %.", encoding="utf-8")
        files.append(str(f))
    mw = marketwire.open(tmp_path / "home")
    st = mw.articles()
    st.add([files[0]])
    reads = []
    real_stored, real_enrich = ArticleStore._stored, ArticleStore._enrich
    monkeypatch.setattr(ArticleStore, "_stored", lambda self: reads.append(1) or real_stored(self))
    other = mw.articles()

    def enrich_while_another_writes(self: ArticleStore, rows: list) -> None:
        if self is st and not reads:
            other.add([files[1]])  # commits between this store's read and its append
        real_enrich(self, rows)

    monkeypatch.setattr(ArticleStore, "_enrich", enrich_while_another_writes)
    st.add([files[2]])
    reads.clear()
    st.add([files[0]])  # unchanged, but the state must be read again: the other writer's article is not in it
    assert reads == [1]
    assert {a["title"] for a in st.list()} == {"Note 0", "Note 1", "Note 2"}
