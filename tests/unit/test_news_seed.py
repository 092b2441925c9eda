"""The seed article, inside a publisher's page with navigation and the advertisement around it, through the wire.

The acceptance checks of the news wire on the document the product started from: language, people, countries,
weapon systems that are not places, bullets that pass the faithfulness gate, and a body free of advertisement and
navigation text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from news_seed import NAV, read_seed, write_seed_page

import marketwire
from marketwire.news.summarize import unfaithful

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def seed_article(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("seed")
    page = write_seed_page(folder)
    mw = marketwire.open(folder / "home")
    (added,) = mw.articles().add([str(page)], source="Eulerpool News")
    return mw.articles().show(added.article_id)


def _links(a: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {e["link"]["id"]: e for e in a["entities"] if e["link"] and e["link"]["kind"] == kind}


def test_language_and_clean_body(seed_article: dict[str, Any]) -> None:
    a, s = seed_article, read_seed()
    assert a["language"] == "fr"
    assert a["title"] == s.title
    assert a["body"] == s.body  # the text, whole, and nothing else
    assert a["standfirst"] == s.bullets  # the publisher's own bullets, kept apart from the body
    for ad in ("Eulerpool Data & Analytics", "Modern Financial Markets Data", "Get in touch", "10m securities",
               "Save up to 68", "realtime data", "50-year history", "10.000+ sources"):
        assert ad not in a["body"], ad
    for nav in NAV + ["Mentions légales", "Rechercher une action"]:
        assert nav not in a["body"], nav


def test_people(seed_article: dict[str, Any]) -> None:
    people = {e["link"]["name"]: e for e in _links(seed_article, "person").values()}
    assert {"Vladimir Poutine", "Masoud Pezeshkian"} <= set(people) or \
        {"Vladimir Putin", "Masoud Pezeshkian"} <= set(people)
    for e in people.values():
        assert e["type"] == "PER" and 0 < e["link"]["confidence"] <= 1 and e["link"]["evidence"]
    # the later bare surnames are mentions of the same two people, not new entities
    assert sum(e["mentions"] for e in people.values()) >= 6


def test_countries(seed_article: dict[str, Any]) -> None:
    countries = _links(seed_article, "country")
    assert {"RU", "IR", "IL", "TM", "UA", "SA", "AE"} <= set(countries)


def test_s400_is_not_a_place(seed_article: dict[str, Any]) -> None:
    s400 = [e for e in seed_article["entities"] if "S-400" in e["text"]]
    assert s400, "S-400 should be recognised as a weapon system"
    assert all(e["type"] not in ("LOC", "GPE") for e in s400)
    assert all(not (e["link"] and e["link"]["kind"] == "country") for e in s400)
    assert not any(e["text"] in ("État", "États", "chefs d'État") and e["type"] == "LOC"
                   for e in seed_article["entities"])


def test_bullets_pass_the_faithfulness_gate(seed_article: dict[str, Any]) -> None:
    a = seed_article
    assert 2 <= len(a["bullets"]) <= 3
    source = f"{a['title']}\n\n{a['body']}"
    for b in a["bullets"]:
        assert len(b.split()) <= 25, b
        assert unfaithful(b, source) == [], b
    assert a["headline"] == a["title"]


def test_cli_show_prints_the_contract_fields(seed_article: dict[str, Any], tmp_path: Path) -> None:
    for key in ("id", "url", "source", "title", "body", "language", "published", "bullets", "entities", "story_id",
                "duplicate_of"):
        assert key in seed_article
    assert seed_article["story_id"] and seed_article["story_id"].startswith("MWT")
    assert seed_article["published"].startswith("2024-10-11")
    assert all(set(e) >= {"text", "type", "link"} for e in seed_article["entities"])
