"""The news pages: the wire and the article page, in-process and then in a real headless Chromium.

The in-process tests drive the app with TestClient, against a stored lake (real ``news add``) and against a stand-in
news service whose articles carry every part the page renders (bullets, linked entities of each kind, topics, a
duplicate link), so each part is checked whatever stage of the pipeline fills it. The browser test starts ``marketwire serve``
on a free loopback port, adds the seed article's publisher page with the CLI and reads the page Chromium rendered.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import lxml.html
import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*deprecated")
    from fastapi.testclient import TestClient

import marketwire
from marketwire.errors import NotFound
from marketwire.news.records import Article
from marketwire.serve.api import create_app
from marketwire.serve.web import PER_PAGE, flag
from support.servers import ServedHome
from support.servers import cli as _cli

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"


# -- a stand-in news service with every part of an article ----------------------------------------------

ORIGINAL_ID = "MWAORIGINAL0000001"
ARTICLE_ID = "MWAARTICLE00000001"


def _entity(text: str, type_: str, kind: str | None = None, id_: str | None = None, name: str | None = None,
            confidence: float = 0.9) -> dict[str, Any]:
    link = {"kind": kind, "id": id_, "name": name or text, "confidence": confidence} if kind else None
    return {"text": text, "type": type_, "link": link, "mentions": 1}


ARTICLE: dict[str, Any] = {
    "id": ARTICLE_ID, "url": "/pages/a.html", "source": "Wire Agency", "language": "fr",
    "title": "Poutine et Pezeshkian forment une nouvelle alliance stratégique",
    "body": "Premier paragraphe sur la rencontre.\n\nDeuxième paragraphe, à Kazan.\n\n\nTroisième.",
    "published": "2024-10-11T14:30:00+00:00", "first_seen": "2024-10-11T15:00:00+00:00",
    "bullets": ["Poutine et Pezeshkian planifient une coopération militaire.", "L'Iran s'intéresse aux S-400."],
    "entities": [
        _entity("Russie", "LOC", "country", "RU", "Russia"),
        _entity("Iran", "LOC", "country", "IR"),
        _entity("Vladimir Poutine", "PER", "person", "Q7747", "Vladimir Putin"),
        _entity("Gazprom", "ORG", "issuer", "MWI0000GAZPROM"),
        _entity("GAZP", "ORG", "listing", "MWL0000GAZP"),
        _entity("S-400", "MISC"),
    ],
    "topics": [{"topic": "defence", "score": 0.8, "evidence": ["S-400"]}],
    "story_id": "MWSSTORY00000001", "duplicate_of": ORIGINAL_ID, "revision": 1, "extract_status": "ok",
}
ORIGINAL: dict[str, Any] = {**ARTICLE, "id": ORIGINAL_ID, "title": "L'original de la dépêche", "duplicate_of": None,
                            "published": "2024-10-11T12:00:00+00:00"}


class StandInNews:
    """``mw.news`` as the pages call it (``list`` with every filter and offset paging, ``show``), answering with the
    service's own :class:`Article` records. Records each call."""

    def __init__(self, articles: list[dict[str, Any]]) -> None:
        self.articles = {a["id"]: a for a in articles}
        self.calls: list[dict[str, Any]] = []

    def show(self, article_id: str, as_of: Any = None) -> Article:
        if article_id not in self.articles:
            raise NotFound(f"no article {article_id}", param="id", value=article_id)
        return Article.from_dict(self.articles[article_id])

    def _rows(self) -> list[dict[str, Any]]:
        return sorted(self.articles.values(), key=lambda a: a["published"] or "", reverse=True)

    def list(self, *, q: str | None = None, lang: str | None = None, country: str | None = None,
             listing: str | None = None, entity: str | None = None, source: str | None = None,
             topic: str | None = None, story: str | None = None, since: str | None = None, until: str | None = None,
             limit: int | None = None, offset: int = 0) -> list[Article]:
        self.calls.append({k: v for k, v in locals().items() if k != "self" and v is not None})
        rows = self._rows()[offset:]
        return [Article.from_dict(r) for r in (rows[:limit] if limit else rows)]


class Facade:
    def __init__(self, news: StandInNews) -> None:
        self.news = news


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return create_app(tmp_path_factory.mktemp("web") / "home")


@pytest.fixture()
def stand_in(app: Any) -> Iterator[tuple[TestClient, StandInNews]]:
    real = app.state.marketwire
    news = StandInNews([ARTICLE, ORIGINAL])
    app.state.marketwire = Facade(news)
    try:
        with TestClient(app, raise_server_exceptions=True) as c:
            yield c, news
    finally:
        app.state.marketwire = real


def page_of(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text[:2000]
    assert resp.headers["content-type"].startswith("text/html")
    assert "script-src" not in resp.headers["content-security-policy"]  # default-src 'none': no scripts at all
    return lxml.html.fromstring(resp.text)


def by_testid(doc: Any, name: str) -> list[Any]:
    return doc.xpath(f'.//*[@data-testid="{name}"]')


def text(el: Any) -> str:
    return " ".join(el.text_content().split())


# -- the article page -----------------------------------------------------------------------------------

def test_article_page_renders_every_part(stand_in: tuple[TestClient, StandInNews]) -> None:
    client, _ = stand_in
    doc = page_of(client.get(f"/news/{ARTICLE_ID}"))
    assert doc.xpath("/html/@lang") == ["fr"]
    assert doc.xpath("//meta/@charset") == ["utf-8"]
    assert doc.xpath("//title")[0].text_content().startswith(ARTICLE["title"])
    [h1] = doc.xpath("//h1")
    assert h1.get("data-testid") == "headline" and text(h1) == ARTICLE["title"]
    [ul] = by_testid(doc, "bullets")
    assert ul.tag == "ul" and "bullets" in ul.get("class")
    assert [text(li) for li in ul.xpath("./li")] == ARTICLE["bullets"]
    [meta] = by_testid(doc, "meta")
    assert text(by_testid(meta, "source")[0]) == "Wire Agency"
    assert by_testid(meta, "published")[0].get("datetime") == "2024-10-11T14:30:00+00:00"
    assert "11 Oct 2024, 14:30 UTC" in text(meta)
    assert text(by_testid(meta, "language")[0]) == "fr"
    [body] = by_testid(doc, "body")
    assert [text(p) for p in body.xpath("./p")] == ["Premier paragraphe sur la rencontre.",
                                                    "Deuxième paragraphe, à Kazan.", "Troisième."]
    # header navigation
    assert by_testid(doc, "nav-wire")[0].get("href") == "/news"
    assert by_testid(doc, "nav-docs")[0].get("href") == "/docs"
    assert not doc.xpath("//script")


def test_article_entities_grouped_and_linked_to_the_filtered_wire(stand_in: tuple[TestClient, StandInNews]) -> None:
    client, _ = stand_in
    doc = page_of(client.get(f"/news/{ARTICLE_ID}"))
    [section] = by_testid(doc, "entities")

    def links(group: str) -> list[tuple[str, str, str]]:
        [g] = by_testid(section, f"entities-{group}")
        return [(a.get("data-entity-kind"), a.get("href"), text(a)) for a in by_testid(g, "entity")]

    assert links("countries") == [("country", "/news?country=RU", "🇷🇺 Russie RU"),
                                  ("country", "/news?country=IR", "🇮🇷 Iran IR")]
    assert links("people") == [("person", "/news?entity=person%3AQ7747", "Vladimir Poutine")]
    assert links("companies") == [("issuer", "/news?entity=issuer%3AMWI0000GAZPROM", "Gazprom"),
                                  ("listing", "/news?listing=MWL0000GAZP", "GAZP")]
    [unlinked] = by_testid(section, "entities-unlinked")
    assert [text(s) for s in by_testid(unlinked, "entity-unlinked")] == ["S-400"]
    assert not unlinked.xpath(".//a")
    # each entity link parses back to the filter it names
    assert parse_qs(urlsplit(links("people")[0][1]).query) == {"entity": ["person:Q7747"]}
    # the canonical name is shown beside a differing text, in the link's title too
    assert "Vladimir Putin" in text(section) and "Russia" in text(section)
    [topics] = by_testid(doc, "topics")
    assert [(a.get("href"), text(a)) for a in topics.xpath(".//a")] == [("/news?topic=defence", "defence")]
    [dup] = by_testid(doc, "duplicate-of")
    assert dup.xpath(".//a/@href") == [f"/news/{ORIGINAL_ID}"] and "L'original de la dépêche" in text(dup)
    [story] = by_testid(doc, "story")
    assert "MWSSTORY00000001" in text(story) and story.xpath(".//a/@href") == ["/news?story=MWSSTORY00000001"]


def test_flags_from_iso_codes() -> None:
    assert flag("RU") == "\U0001F1F7\U0001F1FA" and flag("ir") == "\U0001F1EE\U0001F1F7"
    assert flag("") == flag("RUS") == flag("R1") == flag(None) == ""


def test_missing_parts_render_gracefully(stand_in: tuple[TestClient, StandInNews]) -> None:
    client, store = stand_in
    bare = {"id": "MWABARE00000000001", "title": None, "body": None, "language": None, "published": None,
            "first_seen": None, "bullets": [], "entities": [], "story_id": None, "duplicate_of": None}
    store.articles[bare["id"]] = bare
    doc = page_of(client.get("/news/MWABARE00000000001"))
    assert text(by_testid(doc, "headline")[0]) == "(untitled)"
    assert doc.xpath("/html/@lang") == ["und"]
    for part in ("bullets", "entities", "topics", "duplicate-of", "story", "published", "source"):
        assert not by_testid(doc, part), part
    assert "No text was extracted" in text(by_testid(doc, "body")[0])
    # a duplicate whose original is gone still links to it by id
    store.articles["MWABARE00000000001"] = {**bare, "duplicate_of": "MWAGONE00000000001",
                                            "entities": json.dumps([{"text": "Kazan", "type": "LOC", "link": None}])}
    doc = page_of(client.get("/news/MWABARE00000000001"))
    assert text(by_testid(doc, "duplicate-of")[0]) == "Duplicate of MWAGONE00000000001"
    assert [text(s) for s in by_testid(doc, "entity-unlinked")] == ["Kazan"]


def test_everything_is_escaped(stand_in: tuple[TestClient, StandInNews]) -> None:
    client, store = stand_in
    evil = '<script>alert("x")</script>'
    store.articles["MWAEVIL00000000001"] = {
        **ARTICLE, "id": "MWAEVIL00000000001", "title": evil, "source": '"><img src=x onerror=alert(1)>',
        "bullets": ["<b>bold</b> claim"], "body": "a <iframe src=//evil.test></iframe> b",
        "entities": [_entity('Evil"><script>', "PER", "person", 'Q1"><script>x</script>')],
        "topics": [{"topic": "<i>t</i>"}], "duplicate_of": None}
    resp = client.get("/news/MWAEVIL00000000001")
    doc = page_of(resp)
    assert "<script>" not in resp.text and "<iframe" not in resp.text and "<img" not in resp.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in resp.text
    assert not doc.xpath("//script | //iframe | //img | //b | //i")
    assert text(by_testid(doc, "headline")[0]) == evil
    assert [text(li) for li in by_testid(doc, "bullet")] == ["<b>bold</b> claim"]
    [a] = by_testid(doc, "entity")
    assert parse_qs(urlsplit(a.get("href")).query) == {"entity": ['person:Q1"><script>x</script>']}
    # and on the wire
    resp = client.get("/news", params={"q": evil})
    assert "<script>" not in resp.text and evil in [i.get("value") for i in page_of(resp).xpath("//input[@name='q']")]


def test_unknown_article_is_an_html_404(app: Any) -> None:
    with TestClient(app) as client:  # the real, empty lake
        doc = page_of(client.get("/news/MWANOSUCHARTICLE01"), 404)
    [err] = by_testid(doc, "error")
    assert err.get("data-code") == "not_found" and "MWANOSUCHARTICLE01" in text(err)
    assert doc.xpath("//h1")[0].text_content().startswith("404")


def test_pages_are_not_in_the_api_schema_and_the_stylesheet_is_served(app: Any) -> None:
    with TestClient(app) as client:
        paths = client.get("/openapi.json").json()["paths"]
        assert not [p for p in paths if not p.startswith("/v1/")]
        css = client.get("/static/site.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert ".headline" in css.text and "@import" not in css.text and "url(" not in css.text


# -- the wire -------------------------------------------------------------------------------------------

def test_wire_lists_newest_first_with_lineage(stand_in: tuple[TestClient, StandInNews]) -> None:
    client, _ = stand_in
    doc = page_of(client.get("/news"))
    items = by_testid(doc, "wire-item")
    assert [i.get("data-id") for i in items] == [ARTICLE_ID, ORIGINAL_ID]
    first = items[0]
    assert first.get("lang") == "fr"
    [title] = by_testid(first, "item-title")
    assert title.get("href") == f"/news/{ARTICLE_ID}" and text(title) == ARTICLE["title"]
    assert [text(li) for li in by_testid(first, "item-bullets")[0].xpath("./li")] == ARTICLE["bullets"]
    assert text(by_testid(first, "source")[0]) == "Wire Agency" and text(by_testid(first, "language")[0]) == "fr"
    assert by_testid(first, "published")[0].get("datetime") == "2024-10-11T14:30:00+00:00"
    assert by_testid(first, "duplicate-of")[0].xpath(".//a/@href") == [f"/news/{ORIGINAL_ID}"]
    assert "MWSSTORY00000001" in text(by_testid(first, "story")[0])
    assert not by_testid(items[1], "duplicate-of")
    assert doc.xpath("/html/@lang") == ["en"]


def test_wire_passes_every_filter_to_the_news_service(stand_in: tuple[TestClient, StandInNews]) -> None:
    client, news = stand_in
    page_of(client.get("/news", params={"country": "RU", "topic": "defence", "entity": "person:Q7747",
                                        "listing": "MWL1", "source": "Wire Agency", "story": "MWS1", "lang": "fr",
                                        "q": " alliance ", "since": "2024-10-01", "until": " 2024-10-11 ",
                                        "page": "2"}))
    assert news.calls[-1] == {"q": "alliance", "lang": "fr", "country": "RU", "listing": "MWL1",
                              "entity": "person:Q7747", "topic": "defence", "source": "Wire Agency",
                              "story": "MWS1", "since": "2024-10-01", "until": "2024-10-11",
                              "offset": PER_PAGE, "limit": PER_PAGE + 1}
    calls = len(news.calls)  # a parameter the page does not take is refused, never ignored
    [err] = by_testid(page_of(client.get("/news", params={"country": "RU", "bogus": "1"}), 400), "error")
    assert "bogus" in text(err) and len(news.calls) == calls
    doc = page_of(client.get("/news", params={"country": "RU", "lang": "fr", "until": "2024-10-11"}))
    chips = {c.get("data-filter"): c for c in by_testid(doc, "active-filters")[0].xpath("./li")}
    assert set(chips) == {"country", "lang", "until"}
    assert chips["country"].xpath("./a/@href") == ["/news?lang=fr&until=2024-10-11"]
    assert doc.xpath("//input[@name='until']/@value") == ["2024-10-11"]


def test_wire_pages(stand_in: tuple[TestClient, StandInNews]) -> None:
    client, store = stand_in
    for n in range(PER_PAGE + 5):
        store.articles[f"MWAPAGE{n:011d}"] = {**ORIGINAL, "id": f"MWAPAGE{n:011d}", "title": f"Item {n}",
                                               "published": f"2030-01-01T00:{n:02d}:00+00:00"}
    doc = page_of(client.get("/news", params={"lang": "fr"}))
    items = by_testid(doc, "wire-item")
    assert len(items) == PER_PAGE and text(by_testid(items[0], "item-title")[0]) == f"Item {PER_PAGE + 4}"
    assert by_testid(doc, "next")[0].get("href") == "/news?lang=fr&page=2" and not by_testid(doc, "prev")
    doc = page_of(client.get("/news?lang=fr&page=2"))
    assert len(by_testid(doc, "wire-item")) == 5 + 2 and not by_testid(doc, "next")
    assert by_testid(doc, "prev")[0].get("href") == "/news?lang=fr"
    for bad in ("0", "abc", "-1"):
        doc = page_of(client.get("/news", params={"page": bad}), 400)
        assert f"`page`: {bad}" in text(by_testid(doc, "error")[0])


# -- against a stored lake ------------------------------------------------------------------------------

FR = ("La banque centrale européenne a laissé ses taux directeurs inchangés jeudi, en soulignant que l'inflation "
      "reste supérieure à son objectif de deux pour cent. La présidente a indiqué que le conseil des gouverneurs "
      "examinerait de nouvelles données avant toute décision.\n\n"
      "Les rendements obligataires ont reculé après l'annonce, tandis que l'euro a progressé face au dollar.")
DE = ("Der Autohersteller meldete am Dienstag einen Rückgang des Quartalsgewinns um zwölf Prozent. Als Grund nannte "
      "das Unternehmen höhere Kosten für Batterien und eine schwächere Nachfrage in China.")


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    root = tmp_path_factory.mktemp("stored")
    (root / "bce.txt").write_text("La BCE maintient ses taux\n" + FR, encoding="utf-8")
    (root / "copie.txt").write_text("Taux: la BCE ne bouge pas (AFP)\n" + FR + "\n\n(AFP)", encoding="utf-8")
    (root / "auto.txt").write_text("Gewinnrückgang beim Autobauer\n" + DE, encoding="utf-8")
    mw = marketwire.open(root / "home")
    ids = {}
    for name, when in (("bce", "2024-03-07T13:00:00Z"), ("copie", "2024-03-07T14:00:00Z"),
                       ("auto", "2024-03-05T09:00:00Z")):
        (added,) = mw.news.add([str(root / f"{name}.txt")], source="wire", published=when)
        ids[name] = added.article_id
    with TestClient(create_app(root / "home")) as c:
        yield c, ids


def test_stored_article_page(stored: tuple[TestClient, dict[str, str]]) -> None:
    client, ids = stored
    doc = page_of(client.get(f"/news/{ids['bce'].lower()}"))
    assert text(by_testid(doc, "headline")[0]) == "La BCE maintient ses taux"
    assert doc.xpath("/html/@lang") == ["fr"]
    paragraphs = [text(p) for p in by_testid(doc, "body")[0].xpath("./p")]
    assert [p[:40] for p in paragraphs] == [" ".join(x.split())[:40] for x in FR.split("\n\n")]
    assert by_testid(doc, "published")[0].get("datetime") == "2024-03-07T13:00:00+00:00"
    doc = page_of(client.get(f"/news/{ids['copie']}"))
    assert by_testid(doc, "duplicate-of")[0].xpath(".//a/@href") == [f"/news/{ids['bce']}"]
    assert "La BCE maintient ses taux" in text(by_testid(doc, "duplicate-of")[0])


def test_stored_wire_and_its_filters(stored: tuple[TestClient, dict[str, str]]) -> None:
    client, ids = stored

    def wire(**params: str) -> list[str]:
        return [i.get("data-id") for i in by_testid(page_of(client.get("/news", params=params)), "wire-item")]

    assert wire() == [ids["copie"], ids["bce"], ids["auto"]]
    assert wire(lang="de") == [ids["auto"]]
    assert wire(lang="fr") == [ids["copie"], ids["bce"]]
    assert wire(q="Autohersteller") == [ids["auto"]]
    assert wire(q="aucun article ne contient ceci") == []
    assert "No articles match" in text(by_testid(page_of(client.get("/news", params={"lang": "pt"})), "empty")[0])


def test_stored_wire_honours_since_and_until(stored: tuple[TestClient, dict[str, str]]) -> None:
    """A date for ``until`` includes its whole day and one for ``since`` starts at its midnight (UTC); an instant
    bound is included. The articles are of 2024-03-05 09:00 (auto) and 2024-03-07 13:00 and 14:00 (bce, copie)."""
    client, ids = stored

    def wire(**params: str) -> list[str]:
        return [i.get("data-id") for i in by_testid(page_of(client.get("/news", params=params)), "wire-item")]

    assert wire(until="2024-03-05") == [ids["auto"]]
    assert wire(until="2024-03-04") == []
    assert wire(since="2024-03-07") == [ids["copie"], ids["bce"]]
    assert wire(since="2024-03-08") == []
    assert wire(since="2024-03-07T13:00:00Z", until="2024-03-07T13:00:00Z") == [ids["bce"]]
    assert wire(since="2024-03-07T13:00:01Z") == [ids["copie"]]
    assert wire(until="2024-03-07T13:59:59Z") == [ids["bce"], ids["auto"]]


def test_stored_wire_refuses_bad_times_and_unknown_listings(stored: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = stored
    for param, bad in (("since", "hier"), ("until", "2024-02-30"), ("until", "2024-03-07Tgarbage")):
        [err] = by_testid(page_of(client.get("/news", params={param: bad}), 400), "error")
        assert err.get("data-code") == "invalid_input" and f"`{param}`" in text(err), text(err)
    [err] = by_testid(page_of(client.get("/news", params={"since": "2024-03-08", "until": "2024-03-07"}), 400),
                      "error")
    assert "`since`" in text(err)
    for unknown in ("NOSUCHTICKER", "MWL0000000000"):
        [err] = by_testid(page_of(client.get("/news", params={"listing": unknown}), 404), "error")
        assert err.get("data-code") == "not_found" and "`listing`" in text(err), text(err)


# -- a real browser -------------------------------------------------------------------------------------

def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return {**env, "NO_PROXY": "*", "HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_CACHE_HOME": str(tmp / "cache"), "MARKETWIRE_HOME": str(tmp / "home")}


def _chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-default-apps", "--disable-sync", "--no-first-run",
             "--metrics-recording-only", "--disable-extensions", "--no-proxy-server", "--disable-breakpad",
             f"--user-data-dir={tmp / 'profile'}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=30, env=_env(tmp))


def _png_size_and_colours(data: bytes) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values in the image data (1-2 for a blank page)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    pos, width, height, idat = 8, 0, 0, b""
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


@pytest.fixture(scope="module")
def browser_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium) for the real-browser page test")
    from news_seed import write_seed_page

    tmp = tmp_path_factory.mktemp("browser")
    page = write_seed_page(tmp)  # skips when the seed is not beside the shared data
    home = tmp / "home"
    with ServedHome(home, env=_env(tmp), timeout=60) as base:
        added = subprocess.run([*_cli(), "--home", str(home), "news", "add", str(page), "--source", "Eulerpool News"],
                               capture_output=True, text=True, timeout=120, env=_env(tmp))
        assert added.returncode == 0, added.stdout + added.stderr
        [article_id] = [ln.strip() for ln in added.stdout.splitlines() if ln.strip().startswith("MWA")]
        yield base, article_id, tmp


def test_seed_article_page_in_headless_chromium(browser_site: tuple[str, str, Path]) -> None:
    from news_seed import NAV, read_seed

    base, article_id, tmp = browser_site
    run = _chromium(tmp, "--dump-dom", f"{base}/news/{article_id}")
    assert run.returncode == 0, run.stderr[-2000:]
    doc = lxml.html.fromstring(run.stdout)
    seed = read_seed()
    assert doc.xpath("/html/@lang") == ["fr"]
    assert text(by_testid(doc, "headline")[0]) == "Poutine et Pezeshkian forment une nouvelle alliance stratégique"
    assert text(by_testid(doc, "headline")[0]) == seed.title
    assert text(by_testid(doc, "source")[0]) == "Eulerpool News"
    assert by_testid(doc, "published")[0].get("datetime") == "2024-10-11T14:30:00+00:00"
    [body] = by_testid(doc, "body")
    body_text = text(body)
    assert " ".join(seed.body.split())[:200] in body_text
    for ad in ("Get in touch", "10m securities", "Modern Financial Markets Data", "Save up to 68"):
        assert ad not in body_text, ad
    for nav in [*NAV, "Mentions légales", "Rechercher une action"]:
        assert nav not in body_text, nav
    assert "Eulerpool" not in body_text
    # the stages integrated last: bullets and linked entities
    bullets = by_testid(doc, "bullet")
    assert 2 <= len(bullets) <= 3, f"{len(bullets)} bullets"
    # the publisher's own bullets are shown apart, and are not in the body
    assert [text(li) for li in by_testid(doc, "standfirst")[0].xpath(".//li")] == seed.bullets
    assert seed.bullets[0] not in body_text
    links = [(a.get("data-entity-kind"), a.get("href"), text(a)) for a in by_testid(doc, "entity")]
    assert ("country", "/news?country=RU") in {(k, h) for k, h, _ in links}, links
    assert any(k == "person" and "Poutine" in t and h.startswith("/news?entity=") for k, h, t in links), links


def test_seed_article_screenshot_in_headless_chromium(browser_site: tuple[str, str, Path]) -> None:
    base, article_id, tmp = browser_site
    shot = tmp / "page.png"
    run = _chromium(tmp, f"--screenshot={shot}", "--window-size=1200,1600", "--hide-scrollbars",
                    f"{base}/news/{article_id}")
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    data = shot.read_bytes()
    width, height, colours = _png_size_and_colours(data)
    assert (width, height) == (1200, 1600)
    assert len(data) > 20_000 and colours > 50, (len(data), colours)
