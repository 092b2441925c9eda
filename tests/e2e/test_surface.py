"""Nothing a caller sends is ignored, and the API's documentation works without internet: unknown query parameters
are a 400 naming them on every REST route (and on the web pages), filters filter, /docs and /redoc load their
assets from the app itself."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*deprecated")
    from fastapi.routing import APIRoute
    from fastapi.testclient import TestClient

from marketwire.serve.api import create_app
from marketwire.serve.facade import Marketwire
from marketwire.serve.params import route_query_names

pytestmark = pytest.mark.e2e

NASDAQLISTED = "Symbol,Company Name\nAAPL,Apple Inc.\nMSFT,Microsoft Corporation\nMSFT,Microsoft Corporation\n"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("surface")
    src = root / "nasdaqlisted.csv"
    src.write_text(NASDAQLISTED, encoding="utf-8")
    Marketwire(root / "home").ingest("nasdaqtrader", [str(src)], as_of=date(2015, 1, 10))
    with TestClient(create_app(root / "home"), raise_server_exceptions=False) as c:
        yield c


def v1_routes(client: TestClient) -> list[APIRoute]:
    return [r for r in client.app.routes if isinstance(r, APIRoute) and r.path.startswith("/v1")  # type: ignore[attr-defined]
            and "GET" in r.methods]  # the read routes (POST-only writes take a body, not a query)


def test_every_rest_route_refuses_an_unknown_parameter(client: TestClient) -> None:
    routes = v1_routes(client)
    assert len(routes) >= 17
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "X", route.path)
        resp = client.get(path, params={"limti": "5"})
        assert resp.status_code == 400, (route.path, resp.text)
        err = resp.json()["error"]
        assert err["code"] == "invalid_input" and err["param"] == "limti", (route.path, err)
        # the message lists what the route does take, from its own declaration
        for name in route_query_names(route):
            assert name in err["message"], (route.path, name, err["message"])


def test_declared_parameters_still_pass(client: TestClient) -> None:
    r = client.get("/v1/search", params={"q": "apple", "limit": 1})
    assert r.status_code == 200 and r.json()["data"][0]["ticker"] == "AAPL"
    r = client.get("/v1/resolve", params={"id": "AAPL", "as_of": "2015-01-10", "as-of": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "as-of"


def test_two_unknown_parameters_are_both_named(client: TestClient) -> None:
    err = client.get("/v1/health", params={"b": "1", "a": "2"}).json()["error"]
    assert err["param"] == "a" and "`a`, `b`" in err["message"] and "no query parameters" in err["message"]


def test_quarantine_filters_by_dataset(client: TestClient) -> None:
    every = client.get("/v1/quarantine").json()
    assert every["count"] == 1 and every["data"][0]["dataset"] == "ref_observations"
    assert client.get("/v1/quarantine", params={"dataset": "ref_observations"}).json()["count"] == 1
    assert client.get("/v1/quarantine", params={"dataset": "bars_daily"}).json() == {"data": [], "count": 0}


def test_web_pages_refuse_unknown_parameters_and_bad_times(client: TestClient) -> None:
    r = client.get("/news", params={"sinse": "2024-01-01"})
    assert r.status_code == 400 and "sinse" in r.text and "text/html" in r.headers["content-type"]
    r = client.get("/news", params={"since": "notadate"})
    assert r.status_code == 400 and "since" in r.text
    r = client.get("/news", params={"since": "2024-01-02", "until": "2024-01-01"})
    assert r.status_code == 400
    assert client.get("/news", params={"since": "2024-01-01", "page": "1"}).status_code == 200
    assert client.get("/news/MWA0000000000", params={"x": "1"}).status_code == 400


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(client: TestClient, page: str) -> None:
    r = client.get(page)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert not EXTERNAL.search(r.text), r.text
    assert "cdn.jsdelivr.net" not in r.text and "fonts.googleapis" not in r.text
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", r.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    for a in assets:
        got = client.get(a)
        assert got.status_code == 200 and len(got.content) > 100, a
    assert "/openapi.json" in r.text and client.get("/openapi.json").json()["info"]["title"] == "marketwire"


def test_query_string_security_schemes_count_as_declared() -> None:
    from fastapi import FastAPI, Security
    from fastapi.security import APIKeyQuery

    app = FastAPI(dependencies=[Security(APIKeyQuery(name="api_key", auto_error=False))])

    @app.get("/v1/x")
    def x(a: int = 1) -> dict[str, int]:
        return {"a": a}

    [route] = [r for r in app.routes if isinstance(r, APIRoute)]
    assert route_query_names(route) == {"a", "api_key"}
