"""Keys, scopes, entitlements, rate limits, metering, the Host allow-list and local paths, driven over HTTP
(in-process) against a small lake with reference data, bars, a quarantine and a news article."""

from __future__ import annotations

import json
import re
import sqlite3
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*deprecated")
    from fastapi.testclient import TestClient

import marketwire
from marketwire.serve.access import POLICY, UNMAPPED, AccessPolicy, routes_of
from marketwire.serve.api import create_app
from marketwire.serve.keys import NO_DATASET, KeyStore, RateLimit

pytestmark = pytest.mark.e2e

HOST = "testserver"
NASDAQ = "Symbol,Company Name\nAAPL,Apple Inc.\nMSFT,Microsoft Corporation\nMSFT,Microsoft Corporation\n"
BARS = ("Date,Open,High,Low,Close,Volume,OpenInt\n2024-01-02,10.0,10.5,9.9,10.2,1000,0\n"
        "2024-01-03,10.2,10.4,10.0,10.1,1200,0\n")
ARTICLE = "Titre de l'article\nLa banque centrale a laissé ses taux inchangés jeudi, a-t-elle annoncé.\n"
NEW_ARTICLE = {"text": "Rates held\nThe central bank left its rates unchanged on Thursday, it said in a statement.",
               "url": "https://example.com/2024/rates", "published": "2024-08-08"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("access")
    data = root / "incoming" / "wire"
    data.mkdir(parents=True)
    (data / "nasdaqlisted.csv").write_text(NASDAQ, encoding="utf-8")
    (data / "abc.us.txt").write_text(BARS, encoding="utf-8")
    (data / "article.txt").write_text(ARTICLE, encoding="utf-8")
    home = root / "home"
    mw = marketwire.open(home)
    mw.ingest("nasdaqtrader", [str(data / "nasdaqlisted.csv")], as_of=date(2015, 1, 10))
    mw.ingest("prices-csv", [data / "abc.us.txt"])
    [added] = mw.news.add([str(data / "article.txt")])
    match = mw.resolve("AAPL")[0]
    article = mw.news.show(added.article_id)
    return {"root": root, "home": home, "data": data, "article": added.article_id, "story": article.story_id,
            "security": match["security_id"], "listing": match["listing_id"]}


@pytest.fixture(scope="module")
def store(lake: dict[str, Any]) -> KeyStore:
    return KeyStore(lake["home"])


@pytest.fixture(scope="module")
def client(lake: dict[str, Any]) -> Iterator[TestClient]:
    app = create_app(lake["home"], AccessPolicy(require_keys=True, allowed_hosts=(HOST,), rate_limit=None))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sample_urls(lake: dict[str, Any]) -> dict[tuple[str, str], str]:
    """A real URL for every route template (a new route must be added here, and to POLICY)."""
    return {
        ("GET", "/v1/health"): "/v1/health",
        ("GET", "/v1/resolve"): "/v1/resolve?id=AAPL",
        ("GET", "/v1/search"): "/v1/search?q=apple",
        ("GET", "/v1/securities/{security_id}"): f"/v1/securities/{lake['security']}",
        ("GET", "/v1/listings/{listing_id}"): f"/v1/listings/{lake['listing']}",
        ("GET", "/v1/indexes/{index}/members"): "/v1/indexes/SP500/members",
        ("GET", "/v1/quarantine"): "/v1/quarantine?dataset=ref_observations",
        ("GET", "/v1/prices/{id}"): "/v1/prices/ABC.US",
        ("GET", "/v1/prices"): "/v1/prices?format=arrow",
        ("GET", "/v1/actions/{id}"): "/v1/actions/ABC.US",
        ("GET", "/v1/quality/{id}"): "/v1/quality/ABC.US",
        ("GET", "/v1/disagreements/{id}"): "/v1/disagreements/ABC.US",
        ("GET", "/v1/fx/{base}/{quote}"): "/v1/fx/USD/EUR",
        ("GET", "/v1/news"): "/v1/news",
        ("POST", "/v1/news"): "/v1/news",
        ("GET", "/v1/news/{id}"): f"/v1/news/{lake['article']}",
        ("GET", "/v1/stories"): "/v1/stories",
        ("GET", "/v1/stories/{id}"): f"/v1/stories/{lake['story']}",
        ("GET", "/news"): "/news",
        ("GET", "/news/{id}"): f"/news/{lake['article']}",
        ("GET", "/v1/stream/sse"): "/v1/stream/sse?channels=trades&ids=*&seconds=0.1",
        ("GET", "/v1/stream/stats"): "/v1/stream/stats",
        ("GET", "/stream/{id}"): f"/stream/{lake['listing']}",
        ("GET", "/v1/last/{id}"): f"/v1/last/{lake['listing']}",
        ("GET", "/v1/ticks/{id}"): f"/v1/ticks/{lake['listing']}?start=2024-01-02",
        ("GET", "/v1/bars/{id}"): f"/v1/bars/{lake['listing']}?interval=1m",
        ("GET", "/static"): "/static/site.css",
        ("GET", "/openapi.json"): "/openapi.json",
        ("GET", "/docs"): "/docs",
        ("GET", "/docs/oauth2-redirect"): "/docs/oauth2-redirect",
        ("GET", "/redoc"): "/redoc",
        ("GET", "/docs-assets"): "/docs-assets/swagger-ui.css",
        ("GET", "/v1/fundamentals/{id}/facts"): "/v1/fundamentals/AAPL/facts",
        ("GET", "/v1/fundamentals/{id}/statements/{statement}"): "/v1/fundamentals/AAPL/statements/income",
        ("GET", "/v1/fundamentals/{id}/ratios"): "/v1/fundamentals/AAPL/ratios",
        ("GET", "/v1/estimates/{id}/consensus"): "/v1/estimates/AAPL/consensus",
        ("GET", "/v1/estimates/{id}/surprises"): "/v1/estimates/AAPL/surprises",
        ("GET", "/companies/{id}"): "/companies/AAPL",
        ("GET", "/v1/esg/metrics/{id}"): "/v1/esg/metrics/AAPL",
        ("GET", "/v1/esg/derived/{id}"): "/v1/esg/derived/AAPL",
        ("GET", "/v1/esg/coverage"): "/v1/esg/coverage",
        ("GET", "/v1/esg/review"): "/v1/esg/review",
        ("GET", "/v1/esg/catalogue"): "/v1/esg/catalogue",
        ("GET", "/companies/{id}/esg"): "/companies/AAPL/esg",
    }


def call(c: TestClient, method: str, url: str, headers: dict[str, str] | None = None) -> Any:
    if method == "POST":
        return c.post(url, json=NEW_ARTICLE, headers=headers or {})
    return c.request(method, url, headers=headers or {})


def refused(resp: Any, status: int, code: str, secrets: list[str], root: Path) -> dict[str, Any]:
    """The error envelope with ``status`` and ``code``, and nothing of the keys, the server's folders or a trace."""
    assert resp.status_code == status, (resp.request.url, resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert list(body) == ["error"] and body["error"]["code"] == code and body["error"]["message"], body
    text = resp.text + json.dumps(dict(resp.headers))
    for s in secrets:
        assert s not in text, f"key material in the answer to {resp.request.url}"
    assert str(root) not in text and "Traceback" not in text and "File \"" not in text
    if status == 401:
        assert resp.headers["www-authenticate"].startswith("Bearer realm=\"marketwire\"")
    return dict(body["error"])


# -- every route is mapped ---------------------------------------------------------------------------------------

def test_every_route_has_an_access_rule_and_a_sample(client: TestClient, lake: dict[str, Any]) -> None:
    routes = routes_of(client.app)
    unmapped = [(m, p) for m, p in routes if POLICY.get(p, {}).get(m) is None]
    assert not unmapped, f"routes without an entry in marketwire.serve.access.POLICY: {unmapped}"
    local = {(m, p) for m, p in routes if POLICY[p][m].scope == "local"}
    assert local == {("POST", "/v1/local/news/files")}  # hand-offs of the CLI: tested below and in test_access_cli
    assert set(routes) - local == set(sample_urls(lake)), "add a sample URL for each new route to this test"
    assert UNMAPPED.scope == "admin"  # a route missing from the table is for admin keys only


# -- the matrix: every route x every way to be refused -----------------------------------------------------------

def test_every_route_refuses_every_bad_key(client: TestClient, lake: dict[str, Any], store: KeyStore) -> None:
    root = lake["root"]
    full = ["read", "ingest"]
    good, good_key = store.create(scopes=full, name="matrix-good")
    expired, expired_key = store.create(scopes=full, name="matrix-expired")
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE keys SET expires = '2020-01-01T00:00:00+00:00' WHERE id = ?", (expired_key.id,))
    revoked, revoked_key = store.create(scopes=full, name="matrix-revoked")
    store.revoke(revoked_key.id)
    unentitled, _ = store.create(scopes=full, datasets=["countries"], name="matrix-unentitled")
    read_only, _ = store.create(scopes=["read"], name="matrix-read")
    ingest_only, _ = store.create(scopes=["ingest"], name="matrix-ingest")
    wrong_secret = good[:-10] + ("A" * 10 if not good.endswith("A" * 10) else "B" * 10)
    tokens = [good, expired, revoked, unentitled, read_only, ingest_only, wrong_secret]
    secrets = tokens + [t.split("_", 2)[2] for t in tokens]
    cases = 0
    for (method, template), url in sample_urls(lake).items():
        access = POLICY[template][method]
        for headers in ({}, bearer("mwk_not_a_key"), bearer(wrong_secret), {"Authorization": "Basic dXNlcjpwdw=="},
                        bearer(expired), bearer(revoked)):
            refused(call(client, method, url, headers), 401, "unauthorized", secrets, root)
            cases += 1
        # a key without the action the route needs: read-only on a write, ingest-only on a read
        wrong_scope = read_only if access.scope != "read" else ingest_only
        err = refused(call(client, method, url, bearer(wrong_scope)), 403, "not_entitled", secrets, root)
        assert err["scope"] == access.scope
        cases += 1
        needed = access.needs({}) + ((url.split("dataset=")[1],) if access.dataset_param else ())
        if needed:
            err = refused(call(client, method, url, bearer(unentitled)), 403, "not_entitled", secrets, root)
            assert err["dataset"] in needed, err
            cases += 1
        else:
            assert template in ("/v1/health", "/static", "/openapi.json", "/docs", "/docs/oauth2-redirect",
                                "/redoc", "/docs-assets"), f"{template} serves no dataset: map it in POLICY"
            assert call(client, method, url, bearer(unentitled)).status_code == 200
        if access.dataset_param:  # without naming a dataset, a key with some datasets only is refused
            err = refused(call(client, method, url.split("?")[0], bearer(unentitled)), 403, "not_entitled", secrets,
                          root)
            assert err["param"] == "dataset"
            cases += 1
    meta = 7  # health, static, the schema, the three documentation pages and their assets serve no dataset
    assert cases == 7 * len(sample_urls(lake)) + (len(sample_urls(lake)) - meta) + 1
    # and the good key passes everywhere, seeing no local path (it is not an admin key)
    statuses = {}
    for (method, template), url in sample_urls(lake).items():
        resp = call(client, method, url, bearer(good))
        statuses[template] = resp.status_code
        assert str(lake["data"]) not in resp.text and str(lake["home"]) not in resp.text, url
    # this small lake has no index, no FX rates and no fundamentals: those answer 404, everything else answers
    fundamentals = {t: 404 for t in ("/v1/fundamentals/{id}/facts", "/v1/fundamentals/{id}/statements/{statement}",
                                      "/v1/fundamentals/{id}/ratios", "/v1/estimates/{id}/consensus",
                                      "/v1/estimates/{id}/surprises", "/companies/{id}")}
    assert {t: s for t, s in statuses.items() if s >= 400} == {"/v1/indexes/{index}/members": 404,
                                                              "/v1/fx/{base}/{quote}": 404, **fundamentals}
    assert good_key.id and expired_key.id


def test_the_local_routes_refuse_every_key_and_anonymous_callers(client: TestClient, store: KeyStore,
                                                                 lake: dict[str, Any]) -> None:
    """`/v1/local/*` admit only this run's token (serve/local.py), which a server without a run file has not: an
    admin key, a wrong token and nothing at all are all refused, before the body is read."""
    admin, _ = store.create(scopes=["read", "ingest", "admin"], name="local-admin")
    body = {"paths": ["/etc/passwd"]}
    for headers in ({}, bearer(admin), {"x-marketwire-local": "guess"}, {"x-marketwire-local": ""}):
        resp = client.post("/v1/local/news/files", json=body, headers=headers)
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "not_entitled", headers
        assert "passwd" not in resp.text


def test_unknown_routes_and_methods_need_a_key_too(client: TestClient, store: KeyStore, lake: dict[str, Any]) -> None:
    refused(client.get("/v1/no/such/route"), 401, "unauthorized", [], lake["root"])
    refused(client.delete("/v1/news"), 401, "unauthorized", [], lake["root"])
    token, _ = store.create(scopes=["read"])
    assert client.get("/v1/no/such/route", headers=bearer(token)).json()["error"]["code"] == "not_found"


def test_entitled_key_sees_only_its_datasets(client: TestClient, store: KeyStore) -> None:
    prices, key = store.create(scopes=["read"], datasets=["prices"])
    assert "bars_daily" in key.datasets and "news_articles" not in key.datasets
    assert client.get("/v1/prices/ABC.US", headers=bearer(prices)).json()["count"] == 2
    assert client.get("/v1/quarantine?dataset=bars_daily", headers=bearer(prices)).json() == {"data": [], "count": 0}
    for url, dataset in (("/v1/news", "news_articles"), ("/v1/resolve?id=AAPL", "issuers"),
                         ("/v1/quarantine?dataset=ref_observations", "ref_observations"),
                         ("/v1/stories", "news_articles"), ("/v1/prices/ABC.US?adjust=splits", None)):
        resp = client.get(url, headers=bearer(prices))
        if dataset is None:  # corporate_actions is in the prices group: adjusting is allowed
            assert resp.status_code == 200
            continue
        assert resp.status_code == 403 and resp.json()["error"]["dataset"] == dataset, url
    bars_only, _ = store.create(scopes=["read"], datasets=["bars_daily"])
    assert client.get("/v1/prices/ABC.US", headers=bearer(bars_only)).status_code == 200
    resp = client.get("/v1/prices/ABC.US?adjust=total_return", headers=bearer(bars_only))
    assert resp.status_code == 403 and resp.json()["error"]["dataset"] == "corporate_actions"
    resp = client.get("/v1/prices/ABC.US?currency=EUR", headers=bearer(bars_only))
    assert resp.status_code == 403 and resp.json()["error"]["dataset"] == "fx_rates"


# -- local paths -------------------------------------------------------------------------------------------------

def test_local_paths_only_for_admin_keys_and_the_local_user(lake: dict[str, Any], store: KeyStore,
                                                            client: TestClient) -> None:
    reader, _ = store.create(scopes=["read"])
    admin, _ = store.create(scopes=["admin"])
    full = str(lake["data"] / "nasdaqlisted.csv")
    [row] = client.get("/v1/quarantine", headers=bearer(reader)).json()["data"]
    assert row["file"] == "nasdaqlisted.csv" and row["line"] == 4
    [row] = client.get("/v1/quarantine", headers=bearer(admin)).json()["data"][:1]
    assert row["file"] == full
    art = client.get(f"/v1/news/{lake['article']}", headers=bearer(reader)).json()["data"]
    assert art["url"] == "article.txt" and art["title"] == "Titre de l'article"
    assert client.get(f"/v1/news/{lake['article']}", headers=bearer(admin)).json()["data"]["url"] == \
        str(lake["data"] / "article.txt")
    with TestClient(create_app(lake["home"]), raise_server_exceptions=False) as local:  # loopback, no key
        assert local.get("/v1/quarantine").json()["data"][0]["file"] == full
        assert local.get("/v1/quarantine", headers=bearer(reader)).json()["data"][0]["file"] == "nasdaqlisted.csv"
        refused(local.get("/v1/health", headers=bearer("mwk_wrong")), 401, "unauthorized", [], lake["root"])


# -- rate limits -------------------------------------------------------------------------------------------------

SF_ITEM = re.compile(r'^"key";r=(\d+);t=(\d+)$')


def test_rate_limit_429_with_ratelimit_headers_and_retry_after(lake: dict[str, Any], store: KeyStore) -> None:
    a, _ = store.create(scopes=["read"])
    b, _ = store.create(scopes=["read"])
    own, _ = store.create(scopes=["read"], rate_limit="1/3600")
    app = create_app(lake["home"], AccessPolicy(require_keys=True, allowed_hosts=(HOST,), rate_limit=RateLimit(3, 60)))
    with TestClient(app, raise_server_exceptions=False) as c:
        remaining = []
        for _ in range(3):
            resp = c.get("/v1/health", headers=bearer(a))
            assert resp.status_code == 200
            assert resp.headers["ratelimit-policy"] == '"key";q=3;w=60'
            m = SF_ITEM.match(resp.headers["ratelimit"])
            assert m and 1 <= int(m.group(2)) <= 60
            remaining.append(int(m.group(1)))
        assert remaining == [2, 1, 0]
        over = c.get("/v1/health", headers=bearer(a))
        err = refused(over, 429, "rate_limited", [a], lake["root"])
        assert "3 requests every 60 s" in err["message"]
        assert 1 <= int(over.headers["retry-after"]) <= 60
        assert SF_ITEM.match(over.headers["ratelimit"]).group(1) == "0"  # type: ignore[union-attr]
        assert int(over.headers["retry-after"]) >= int(SF_ITEM.match(over.headers["ratelimit"]).group(2))  # type: ignore[union-attr]
        assert c.get("/v1/health", headers=bearer(b)).status_code == 200  # another key has its own window
        assert c.get("/v1/health", headers=bearer(own)).headers["ratelimit-policy"] == '"key";q=1;w=3600'
        assert c.get("/v1/health", headers=bearer(own)).status_code == 429
        assert "ratelimit" not in c.get("/v1/health", headers={}).headers  # 401: no key, no quota to report


REDIS = "redis://127.0.0.1:6379/0"


def test_rate_limits_counted_in_redis_are_shared_by_every_server_process(lake: dict[str, Any], store: KeyStore
                                                                          ) -> None:
    """Two apps (two API processes) with one Redis store: one quota between them; an unreachable store is an error
    at start naming it. The real Redis on loopback (the CI starts it where it is stopped)."""
    import redis

    from marketwire.serve.access import RateStoreUnavailable

    try:
        redis.Redis.from_url(REDIS, socket_timeout=1).ping()
    except redis.RedisError as e:
        pytest.fail(f"Redis is not running at {REDIS} ({e}): start it (redis-server) to run this test")
    a, _ = store.create(scopes=["read"])
    policy = AccessPolicy(require_keys=True, allowed_hosts=(HOST,), rate_limit=RateLimit(4, 3600), rate_store=REDIS)
    with TestClient(create_app(lake["home"], policy), raise_server_exceptions=False) as one, \
            TestClient(create_app(lake["home"], policy), raise_server_exceptions=False) as two:
        statuses = [c.get("/v1/health", headers=bearer(a)) for c in (one, two, one, two, one, two)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 200, 429, 429]
    assert [SF_ITEM.match(r.headers["ratelimit"]).group(1) for r in statuses[:4]] == ["3", "2", "1", "0"]  # type: ignore[union-attr]
    assert 1 <= int(statuses[-1].headers["retry-after"]) <= 3600
    with pytest.raises(RateStoreUnavailable, match="6390"):
        create_app(lake["home"], AccessPolicy(rate_store="redis://127.0.0.1:6390/0"))


# -- metering ----------------------------------------------------------------------------------------------------

def test_usage_counts_match_the_requests_made(lake: dict[str, Any], store: KeyStore) -> None:
    a, ka = store.create(scopes=["read"], datasets=["prices", "news"])
    b, kb = store.create(scopes=["read"], datasets=["reference"])
    app = create_app(lake["home"], AccessPolicy(require_keys=True, allowed_hosts=(HOST,), rate_limit=None))
    sizes: dict[str, int] = {}
    with TestClient(app, raise_server_exceptions=False) as c:
        for _ in range(3):
            r = c.get("/v1/prices/ABC.US", headers=bearer(a))
            assert r.json()["count"] == 2
            sizes["plain"] = sizes.get("plain", 0) + len(r.content)
        for _ in range(2):
            r = c.get("/v1/prices/ABC.US?adjust=splits&format=csv", headers=bearer(a))
            assert r.status_code == 200
            sizes["adjusted"] = sizes.get("adjusted", 0) + len(r.content)
        r = c.get("/v1/news?lang=fr", headers=bearer(a))
        assert r.json()["count"] == 1
        sizes["news"] = len(r.content)
        sizes["health"] = len(c.get("/v1/health", headers=bearer(a)).content)
        assert c.get("/v1/resolve?id=AAPL", headers=bearer(a)).status_code == 403  # not entitled: not metered
        assert c.get("/v1/prices/NOPE", headers=bearer(a)).status_code == 404  # answered: metered as an error
        assert c.get("/v1/listings/MWLNOPE", headers=bearer(b)).status_code == 404
        assert c.get("/v1/resolve?id=MSFT", headers=bearer(b)).json()["count"] == 1
    got = {r["dataset"]: r for r in store.usage(ka.id)}  # leaving the client flushed the counts
    assert set(got) == {"bars_daily", "corporate_actions", "news_articles", NO_DATASET}
    assert (got["bars_daily"]["requests"], got["bars_daily"]["errors"], got["bars_daily"]["rows"]) == (6, 1, 10)
    assert (got["corporate_actions"]["requests"], got["corporate_actions"]["rows"]) == (2, 4)
    assert got["corporate_actions"]["bytes"] == sizes["adjusted"]
    assert got["news_articles"]["requests"] == 1 and got["news_articles"]["rows"] == 1
    assert got["news_articles"]["bytes"] == sizes["news"]
    assert got[NO_DATASET]["requests"] == 1 and got[NO_DATASET]["bytes"] == sizes["health"]
    assert got["bars_daily"]["bytes"] > sizes["plain"] + sizes["adjusted"]  # plus the 404's envelope
    gb = {r["dataset"]: r for r in store.usage(kb.id)}
    assert {d: (r["requests"], r["errors"], r["rows"]) for d, r in gb.items()} == {
        d: (2, 1, 1) for d in ("issuers", "securities", "listings", "identifiers")}
    [day] = store.usage(kb.id, by_day=True)[:1]
    assert day["day"] == date.today().isoformat() or day["day"]
    assert store.usage(kb.id, since="2999-01-01") == []


# -- Host --------------------------------------------------------------------------------------------------------

def test_host_header_allow_list(lake: dict[str, Any]) -> None:
    app = create_app(lake["home"], AccessPolicy(allowed_hosts=("localhost", "127.0.0.1", "::1", "data.example")))
    with TestClient(app, raise_server_exceptions=False) as c:
        for host in ("localhost:8000", "127.0.0.1", "[::1]:8000", "DATA.example", "data.example."):
            assert c.get("/v1/health", headers={"Host": host}).status_code == 200, host
        for host in ("evil.example", "localhost.evil.example", "127.0.0.2", "", "a:b:c"):
            err = refused(c.get("/v1/health", headers={"Host": host}), 400, "invalid_host", [], lake["root"])
            assert err["param"] == "Host"


# -- POST /v1/news -----------------------------------------------------------------------------------------------

def test_post_news_adds_an_article(client: TestClient, store: KeyStore, lake: dict[str, Any]) -> None:
    writer, _ = store.create(scopes=["read", "ingest"], datasets=["news"])
    h = bearer(writer)
    first = client.post("/v1/news", json=NEW_ARTICLE, headers=h)
    assert first.status_code in (200, 201), first.text  # 200 when the matrix test posted it already
    aid = first.json()["data"]["article_id"]
    again = client.post("/v1/news", json=NEW_ARTICLE, headers=h)
    assert again.status_code == 200 and again.json()["data"]["article_id"] == aid
    assert again.json()["data"]["status"] == "unchanged"
    art = client.get(f"/v1/news/{aid}", headers=h).json()["data"]
    assert art["title"] == "Rates held" and art["url"] == NEW_ARTICLE["url"] and art["published"].startswith("2024-08-08")
    html = {"html": "<html><head><title>Page</title></head><body><article><h1>Budget</h1><p>" + "The finance minister "
            "presented the budget to parliament on Tuesday. " * 5 + "</p></article></body></html>", "source": "desk"}
    made = client.post("/v1/news", json=html, headers=h)
    assert made.status_code == 201 and made.json()["data"]["url"].startswith("api://news/")
    for body, param in (({"text": "a", "html": "<p>b</p>"}, "text"), ({}, "text"),
                        ({"html": "<p>x</p>", "title": "t"}, "title"), ({"text": "t\nx", "url": "file:///etc"}, "url"),
                        ({"text": "t\nx", "published": "yesterday"}, "published"), ({"text": "t\nx", "x": 1}, "x"),
                        ({"text": "t\nx" * 400_000}, "text")):
        err = refused(client.post("/v1/news", json=body, headers=h), 400, "invalid_input", [writer], lake["root"])
        assert err["param"] == param, (body if len(str(body)) < 100 else param, err)
    err = refused(client.post("/v1/news", json={"text": "   "}, headers=h), 422, "verification_failed", [writer],
                  lake["root"])
    assert err["rule"] == "news.no_text"
    err = refused(client.post("/v1/news", content=b"{" + b" " * (9 * 1024 * 1024) + b"}", headers=h), 413,
                  "invalid_input", [writer], lake["root"])
    assert err["param"] == "body"


def test_openapi_declares_the_bearer_scheme(client: TestClient, store: KeyStore) -> None:
    token, _ = store.create()
    schema = client.get("/openapi.json", headers=bearer(token)).json()
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": schema["components"]["securitySchemes"]["bearer"][
            "description"]}
    assert schema["security"] == [{"bearer": []}, {}]
    assert "422" in schema["paths"]["/v1/news"]["post"]["responses"]
