"""The news service as every surface calls it: ``listing`` takes any id the identity service resolves and matches
articles linked to the issuer, the security or any of its listings; an id that names nothing is not found (exit 3
in the CLI, 404 over REST); typed records whose ``to_dict()`` is the JSON the surfaces print.

A small real master (two Nasdaq listings, loaded through the nasdaqtrader source) and articles linked to it by the
pipeline's own entity stage.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import marketwire
from marketwire.cli import main
from marketwire.errors import InvalidInput, NotFound
from marketwire.news.articles import ArticleStore
from marketwire.news.gazetteer.companies import CompanyIndex
from marketwire.news.records import EXPORT_FIELDS, Article, Story
from marketwire.news.service import NewsService

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*deprecated")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.unit

APPLE = ("Apple Inc. reports a record quarter\nApple Inc. (NASDAQ: AAPL) said on Thursday that its quarterly revenue "
         "rose 8 percent, lifted by iPhone sales in China and Europe.\n")
MSFT = ("Microsoft Corporation buys a game studio\nMicrosoft Corporation (NASDAQ: MSFT) agreed on Monday to buy a game "
        "studio for 2 billion dollars in cash, the company said.\n")
CASHTAG = ("Traders pile into one software stock\nShares of $MSFT rose 3 percent in early trading on Tuesday after "
           "an analyst raised the target price to 500 dollars.\n")
OTHER = ("Le pétrole recule\nLes cours du pétrole ont reculé mardi à Londres, le baril de Brent perdant 2 % à 81 "
         "dollars, sur fond de hausse des stocks américains.\n")


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("news-service")
    src = root / "nasdaqlisted.csv"
    src.write_text("Symbol,Company Name\nAAPL,Apple Inc.\nMSFT,Microsoft Corporation\n", encoding="utf-8")
    mw = marketwire.open(root / "home")
    mw.ingest("nasdaqtrader", [str(src)], as_of=date(2015, 1, 10))
    ids: dict[str, str] = {}
    for name, text, when in (("apple", APPLE, "2024-05-02T20:30:00Z"), ("msft", MSFT, "2024-05-06T13:00:00Z"),
                             ("cashtag", CASHTAG, "2024-05-07T14:00:00Z"), ("other", OTHER, "2024-05-07T09:00:00Z")):
        f = root / f"{name}.txt"
        f.write_text(text, encoding="utf-8")
        (added,) = mw.news.add([f], source="Desk", published=when)
        ids[name] = added.article_id
    (apple,) = mw.identity.resolve("AAPL")
    (msft,) = mw.identity.resolve("MSFT")
    return {"mw": mw, "home": root / "home", "ids": ids, "apple": apple, "msft": msft}


def _keys(a: Article) -> set[str]:
    return {f"{e['link']['kind']}:{e['link']['id']}" for e in a.entities if e.get("link")}


def test_the_pipeline_linked_what_the_tests_below_rely_on(wire: dict[str, Any]) -> None:
    news, ids, apple, msft = wire["mw"].news, wire["ids"], wire["apple"], wire["msft"]
    # the names link the issuer, the cashtag only the listing: the filter has to bridge the two
    assert f"issuer:{apple['issuer_id']}" in _keys(news.show(ids["apple"]))
    assert f"issuer:{msft['issuer_id']}" in _keys(news.show(ids["msft"]))
    cashtag = _keys(news.show(ids["cashtag"]))
    assert f"listing:{msft['listing_id']}" in cashtag and f"issuer:{msft['issuer_id']}" not in cashtag


def test_listing_takes_any_id_the_identity_service_resolves(wire: dict[str, Any]) -> None:
    news, ids, apple, msft = wire["mw"].news, wire["ids"], wire["apple"], wire["msft"]

    def listed(listing: str) -> list[str]:
        return [a.id for a in news.list(listing=listing)]

    for ident in ("AAPL", "aapl", "AAPL@XNAS", apple["listing_id"], apple["security_id"], apple["issuer_id"]):
        assert listed(ident) == [ids["apple"]], ident
    # the issuer's news, whether an article names the company or only its listing's cashtag
    for ident in ("MSFT", msft["listing_id"], msft["security_id"], msft["issuer_id"]):
        assert listed(ident) == [ids["cashtag"], ids["msft"]], ident
    assert news.links_of("MSFT") == sorted({f"issuer:{msft['issuer_id']}", f"security:{msft['security_id']}",
                                             f"listing:{msft['listing_id']}"})
    # with the other filters, on the lake (as_of) as on the serving index
    assert [a.id for a in news.list(listing="MSFT", until="2024-05-06")] == [ids["msft"]]
    assert [a.id for a in news.list(listing="MSFT", since="2024-05-07", as_of="2030-01-01")] == [ids["cashtag"]]
    assert [s.article_ids for s in news.stories(listing="AAPL")] == [[ids["apple"]]]


def test_an_id_that_names_nothing_is_not_found(wire: dict[str, Any]) -> None:
    news = wire["mw"].news
    for unknown in ("NOSUCH", "MWL0000000000", "MWI0000000000"):
        with pytest.raises(NotFound) as e:
            news.list(listing=unknown)
        assert e.value.fields["param"] == "listing" and "`listing`" in e.value.message
        with pytest.raises(NotFound):
            news.stories(listing=unknown)


def test_an_id_of_ours_that_articles_carry_matches_though_the_master_does_not_know_it(tmp_path: Path) -> None:
    """Articles linked by an earlier master keep their ids; the raw id still finds them."""
    mw = marketwire.open(tmp_path / "home")
    old = CompanyIndex.from_rows([{"issuer_id": "MWI00000OLDCO", "issuer_name": "Oldco Holdings", "type": "equity",
                                   "security_id": "MWS00000OLDCO", "listing_id": "MWL00000OLDCO", "ticker": "OLDC",
                                   "mic": "XNAS"}])
    f = tmp_path / "old.txt"
    f.write_text("Oldco Holdings sells a plant\nOldco Holdings (NASDAQ: OLDC) agreed to sell its plant in Ohio for "
                 "20 million dollars, the company said on Friday.\n", encoding="utf-8")
    (added,) = ArticleStore(mw.lake, companies=old, engine=mw.engine).add([str(f)])
    assert "listing:MWL00000OLDCO" in _keys(mw.news.show(added.article_id))  # by its exchange ticker
    assert [a.id for a in mw.news.list(listing="MWL00000OLDCO")] == [added.article_id]
    assert [a.id for a in mw.news.list(listing="mwl00000oldco", as_of="2030-01-01")] == [added.article_id]
    # its issuer id: neither the master nor any article knows it
    with pytest.raises(NotFound):
        mw.news.list(listing="MWI00000OLDCO")


def test_cli_listing_exit_codes(wire: dict[str, Any]) -> None:
    home, ids, apple = wire["home"], wire["ids"], wire["apple"]
    runner = CliRunner()
    r = runner.invoke(main, ["--home", str(home), "news", "list", "--listing", apple["issuer_id"], "--format", "json"])
    assert r.exit_code == 0 and [a["id"] for a in json.loads(r.stdout)] == [ids["apple"]]
    for cmd in ("list", "stories"):
        r = runner.invoke(main, ["--home", str(home), "news", cmd, "--listing", "NOSUCH", "--format", "json"])
        assert r.exit_code == 3, r.output
        assert "error [not_found]: `listing`" in r.stderr and r.stdout == ""


def test_rest_listing_is_resolved_and_an_unknown_one_is_a_404(wire: dict[str, Any]) -> None:
    from marketwire.serve.api import create_app

    ids, msft = wire["ids"], wire["msft"]
    with TestClient(create_app(wire["home"]), raise_server_exceptions=False) as c:
        body = c.get("/v1/news", params={"listing": "MSFT"}).json()
        assert [a["id"] for a in body["data"]] == [ids["cashtag"], ids["msft"]]
        assert [a["id"] for a in c.get("/v1/news", params={"listing": msft["issuer_id"]}).json()["data"]] == \
            [ids["cashtag"], ids["msft"]]
        for path in ("/v1/news", "/v1/stories"):
            r = c.get(path, params={"listing": "NOSUCH"})
            assert r.status_code == 404, r.text
            assert r.json()["error"]["code"] == "not_found" and r.json()["error"]["param"] == "listing"
        r = c.get("/v1/news", params={"until": "2024-05-06"})  # a date: the whole day included
        assert [a["id"] for a in r.json()["data"]] == [ids["msft"], ids["apple"]]
        r = c.get("/v1/stories", params={"since": "2024-05-07T09:00:00Z", "until": "2024-05-07"})
        assert sorted(s["first_article"] for s in r.json()["data"]) == sorted([ids["cashtag"], ids["other"]])
        assert c.get("/v1/news", params={"until": "2024-05-06T25:00"}).status_code == 400
        story = c.get(f"/v1/news/{ids['apple']}").json()["data"]["story_id"]
        assert c.get(f"/v1/stories/{story}", params={"as_of": "2000-01-01"}).status_code == 404  # not known then
        assert c.get(f"/v1/stories/{story}", params={"as_of": "2030-01-01"}).json()["data"]["article_ids"] == \
            [ids["apple"]]


def test_records_are_typed_and_print_as_before(wire: dict[str, Any]) -> None:
    news, ids = wire["mw"].news, wire["ids"]
    assert tuple(f.name for f in fields(Article)) == EXPORT_FIELDS
    art = news.show(ids["apple"])
    assert isinstance(art, Article) and list(art.to_dict()) == list(EXPORT_FIELDS)
    assert art.to_dict() == news.store.show(ids["apple"])  # the dict the pipeline serves, unchanged
    (story,) = news.stories(listing="AAPL")
    assert isinstance(story, Story) and story.to_dict() == news.store.story(story.story_id)
    assert news.story(story.story_id) == story
    assert [a.id for a in news.export()] == [a.id for a in news.list()] and len(list(news.export())) == 4


def test_times_are_parsed_strictly_and_name_their_parameter(wire: dict[str, Any]) -> None:
    news = wire["mw"].news
    for param in ("since", "until", "as_of"):
        with pytest.raises(InvalidInput) as e:
            news.list(**{param: "notadate"})
        assert e.value.fields["param"] == param
    with pytest.raises(InvalidInput, match="`since`"):
        news.list(since="2024-05-08", until="2024-05-07")
    with pytest.raises(InvalidInput, match="`published`"):
        news.add([Path("whatever.txt")], published="yesterday")
    with pytest.raises(InvalidInput, match="`allow`"):
        news.poll_once(allow=["not a network/99"])


def test_the_service_stands_alone(tmp_path: Path) -> None:
    """Constructed directly (as the facade does), over a lake with no master: news works, listing is not found."""
    mw = marketwire.open(tmp_path / "home")
    news = NewsService(mw.lake, mw.engine, mw.identity, mw.home)
    f = tmp_path / "n.txt"
    f.write_text(OTHER, encoding="utf-8")
    (added,) = news.add([f])
    assert [a.id for a in news.list(lang="fr")] == [added.article_id]
    with pytest.raises(NotFound):
        news.list(listing="AAPL")
    assert (tmp_path / "home" / "cache" / "news" / "articles.sqlite").is_file()
