"""The REST API driven over HTTP (in-process) against a small lake built from fixtures written here."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*deprecated")  # starlette's nudge towards httpx2
    from fastapi.testclient import TestClient

from marketwire.errors import Ambiguous
from marketwire.serve.api import create_app
from marketwire.serve.facade import Marketwire

pytestmark = pytest.mark.e2e

SNAPSHOT = Path(__file__).with_name("openapi.json")
NASDAQLISTED = "Symbol,Company Name\nAAPL,Apple Inc.\nMSFT,Microsoft Corporation\n"
DUPLICATE_LINE = 4  # the repeated MSFT row below is refused at ingest and lands in quarantine


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("api")
    src = root / "nasdaqlisted.csv"
    src.write_text(NASDAQLISTED + "MSFT,Microsoft Corporation\n", encoding="utf-8")
    lake = root / "home"
    Marketwire(lake).ingest("nasdaqtrader", [str(src)], as_of=date(2015, 1, 10))
    return lake


@pytest.fixture(scope="module")
def client(home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(home), raise_server_exceptions=False) as c:
        yield c


def error_of(resp: Any, status: int, code: str) -> dict[str, Any]:
    """Assert the one error envelope and return its body."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert list(body) == ["error"], body
    err = body["error"]
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"], err
    assert "Traceback" not in resp.text
    return err


# -- contract ------------------------------------------------------------------------------------------

def test_openapi_matches_snapshot(client: TestClient) -> None:
    current = json.loads(json.dumps(client.app.openapi()))  # type: ignore[attr-defined]
    stored = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert current == stored, (
        "the OpenAPI schema differs from tests/e2e/openapi.json; if the API changed on purpose, "
        "run `.venv/bin/python tools/snapshot_openapi.py` and commit the new snapshot"
    )


def test_openapi_documents_every_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {
        "/v1/health", "/v1/resolve", "/v1/search", "/v1/securities/{security_id}",
        "/v1/listings/{listing_id}", "/v1/indexes/{index}/members", "/v1/quarantine",
        "/v1/prices/{id}", "/v1/prices", "/v1/actions/{id}", "/v1/quality/{id}", "/v1/disagreements/{id}",
        "/v1/fx/{base}/{quote}", "/v1/news", "/v1/news/{id}", "/v1/stories", "/v1/stories/{id}",
        "/v1/fundamentals/{id}/facts", "/v1/fundamentals/{id}/statements/{statement}", "/v1/fundamentals/{id}/ratios",
        "/v1/estimates/{id}/consensus", "/v1/estimates/{id}/surprises",
        "/v1/last/{id}", "/v1/ticks/{id}", "/v1/bars/{id}", "/v1/stream/stats",
        "/v1/esg/metrics/{id}", "/v1/esg/derived/{id}", "/v1/esg/coverage", "/v1/esg/review", "/v1/esg/catalogue",
    }
    for path, ops in schema["paths"].items():
        op = ops["get"]
        assert op["summary"] and op["tags"], path
        assert op["responses"]["200"]["description"] != "Successful Response", path
        assert "422" not in op["responses"], path
        assert "500" in op["responses"], path


# -- success shapes ------------------------------------------------------------------------------------

def test_health_ok(client: TestClient) -> None:
    resp = client.get("/v1/health")
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"]["status"] == "ok"


def test_resolve_ticker(client: TestClient) -> None:
    resp = client.get("/v1/resolve", params={"id": "AAPL"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["count"] == 1
    [match] = body["data"]
    assert match["name"].startswith("Apple")
    assert [x["ticker"] for x in match["listings"]] == ["AAPL"]
    assert match["listing_id"] and match["security_id"] and match["issuer_id"]


def test_resolve_then_fetch_listing_and_security(client: TestClient) -> None:
    [match] = client.get("/v1/resolve", params={"id": "MSFT"}).json()["data"]
    listing = client.get(f"/v1/listings/{match['listing_id']}")
    assert listing.status_code == 200, listing.text
    assert listing.json()["data"]["ticker"] == "MSFT"
    assert listing.json()["data"]["valid_from"] == "2015-01-10"  # dates leave as ISO strings
    security = client.get(f"/v1/securities/{match['security_id']}")
    assert security.status_code == 200, security.text
    assert security.json()["data"]["security_id"] == match["security_id"]


def test_resolve_before_the_data_is_not_found(client: TestClient) -> None:
    err = error_of(client.get("/v1/resolve", params={"id": "AAPL", "as_of": "2014-01-01"}), 404, "not_found")
    assert "AAPL" in err["message"]


def test_search_by_name(client: TestClient) -> None:
    body = client.get("/v1/search", params={"q": "microsoft", "limit": 5}).json()
    assert body["count"] == len(body["data"]) >= 1
    assert body["data"][0]["name"].startswith("Microsoft")


def test_quarantine_lists_refused_rows(client: TestClient) -> None:
    body = client.get("/v1/quarantine", params={"source": "nasdaqtrader"}).json()
    assert body["count"] == len(body["data"]) == 1
    [row] = body["data"]
    assert (row["source"], row["rule"], row["line"]) == ("nasdaqtrader", "row.duplicate", DUPLICATE_LINE)
    assert row["file"].endswith("nasdaqlisted.csv")
    assert client.get("/v1/quarantine", params={"rule": "no.such.rule"}).json() == {"data": [], "count": 0}


def test_search_limit(client: TestClient) -> None:
    both = client.get("/v1/search", params={"q": "i"}).json()  # "i" is in both names
    assert sorted(hit["ticker"] for hit in both["data"]) == ["AAPL", "MSFT"]
    one = client.get("/v1/search", params={"q": "i", "limit": 1}).json()
    assert one["count"] == len(one["data"]) == 1


def test_one_facade_per_app(client: TestClient) -> None:
    before = client.app.state.marketwire  # type: ignore[attr-defined]
    client.get("/v1/health")
    client.get("/v1/resolve", params={"id": "AAPL"})
    assert client.app.state.marketwire is before  # type: ignore[attr-defined]


# -- the error envelope --------------------------------------------------------------------------------

def test_bad_as_of_names_the_parameter(client: TestClient) -> None:
    err = error_of(client.get("/v1/resolve", params={"id": "AAPL", "as_of": "2024-02-30"}), 400,
                   "invalid_input")
    assert err["param"] == "as_of"
    assert err["message"].startswith("`as_of`: '2024-02-30' is not a date")
    assert err["value"] == "2024-02-30" and "day is out of range" in err["message"]


def test_framework_validation_is_our_400(client: TestClient) -> None:
    err = error_of(client.get("/v1/search", params={"q": "apple", "limit": "many"}), 400, "invalid_input")
    assert err["param"] == "limit"
    assert err["message"].startswith("`limit`: ")
    err = error_of(client.get("/v1/resolve"), 400, "invalid_input")
    assert err["param"] == "id"


def test_invalid_identifier(client: TestClient) -> None:
    err = error_of(client.get("/v1/resolve", params={"id": "US0378331006"}), 400, "invalid_identifier")
    assert "US0378331006" in json.dumps(err)


def test_unknown_listing_is_404(client: TestClient) -> None:
    err = error_of(client.get("/v1/listings/no-such-listing"), 404, "not_found")
    assert "no-such-listing" in json.dumps(err)


def test_unknown_route_is_404(client: TestClient) -> None:
    err = error_of(client.get("/v1/no/such/route"), 404, "not_found")
    assert "/v1/no/such/route" in err["message"]


def test_unknown_index_is_404(client: TestClient) -> None:
    err = error_of(client.get("/v1/indexes/NOPE500/members"), 404, "not_found")
    assert err["param"] == "index"


def test_ambiguous_is_409_with_candidates(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    cands = [{"listing_id": "L1", "ticker": "ABC", "valid_from": date(2015, 1, 10)},
             {"listing_id": "L2", "ticker": "ABC", "valid_from": date(2016, 2, 1)}]

    def ambiguous(id: str, as_of: date | None = None) -> list[dict[str, Any]]:
        raise Ambiguous(f"{id} names 2 instruments", candidates=cands)

    monkeypatch.setattr(client.app.state.marketwire, "resolve", ambiguous)  # type: ignore[attr-defined]
    err = error_of(client.get("/v1/resolve", params={"id": "ABC"}), 409, "ambiguous")
    assert [c["listing_id"] for c in err["candidates"]] == ["L1", "L2"]
    assert err["candidates"][1]["valid_from"] == "2016-02-01"


def test_unexpected_failure_is_500_without_traceback(client: TestClient,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> dict[str, Any]:
        raise RuntimeError("secret internals at /srv/lake")

    monkeypatch.setattr(client.app.state.marketwire, "health", boom)  # type: ignore[attr-defined]
    resp = client.get("/v1/health")
    err = error_of(resp, 500, "internal")
    assert "secret" not in resp.text and "RuntimeError" not in resp.text
    assert set(err) == {"code", "message"}


def test_prices_routes(tmp_path: Path) -> None:
    import marketwire

    f = tmp_path / "abc.us.txt"
    f.write_text("Date,Open,High,Low,Close,Volume,OpenInt\n2024-01-02,10.0,10.5,9.9,10.2,1000,0\n"
                 "2024-01-03,10.2,10.4,10.0,10.1,1200,0\n")
    marketwire.open(tmp_path / "h").ingest("prices-csv", [f])
    with TestClient(create_app(tmp_path / "h"), raise_server_exceptions=False) as c:
        body = c.get("/v1/prices/ABC.US").json()
        assert body["count"] == 2 and body["data"][0] == {"date": "2024-01-02", "open": 10.0, "high": 10.5,
                                                          "low": 9.9, "close": 10.2, "volume": 1000}
        assert body["meta"]["basis"] == "adjusted"
        cols = c.get("/v1/prices/ABC.US?orient=columns").json()["data"]
        assert cols == {"date": ["2024-01-02", "2024-01-03"], "open": [10.0, 10.2], "high": [10.5, 10.4],
                        "low": [9.9, 10.0], "close": [10.2, 10.1], "volume": [1000, 1200]}
        r = c.get("/v1/prices/ABC.US?format=csv&start=2024-01-03")
        assert r.text.splitlines() == ["date,open,high,low,close,volume", "2024-01-03,10.2,10.4,10.0,10.1,1200"]
        import pyarrow.ipc as ipc

        t = ipc.open_file(c.get("/v1/prices/ABC.US?format=arrow").content).read_all()
        assert t.column("close").to_pylist() == [10.2, 10.1]
        error_of(c.get("/v1/prices/NOPE"), 404, "not_found")
        error_of(c.get("/v1/prices/ABC.US?adjust=sideways"), 400, "invalid_input")
        error_of(c.get("/v1/prices/ABC.US?as_of=yesterday"), 400, "invalid_input")
        assert c.get("/v1/quality/ABC.US").json()["data"]["score"] == 100.0
        import pyarrow.parquet as pq

        bulk = pq.read_table(io.BytesIO(c.get("/v1/prices?format=parquet").content))
        assert bulk.num_rows == 2 and "listing_id" in bulk.column_names


def test_news_routes(tmp_path: Path) -> None:
    import marketwire

    f = tmp_path / "a.txt"
    f.write_text("Titre de l'article\nLa banque centrale a laissé ses taux inchangés jeudi, a-t-elle annoncé.\n",
                 encoding="utf-8")
    aid = marketwire.open(tmp_path / "h").articles().add([str(f)])[0].article_id
    with TestClient(create_app(tmp_path / "h"), raise_server_exceptions=False) as c:
        body = c.get("/v1/news?lang=fr").json()
        assert body["count"] == 1 and body["data"][0]["id"] == aid
        assert c.get(f"/v1/news/{aid}").json()["data"]["title"] == "Titre de l'article"
        error_of(c.get("/v1/news/MWANOPE"), 404, "not_found")
        assert c.get("/v1/news?lang=de").json()["count"] == 0
        assert c.get("/v1/news?q=banque%20taux").json()["count"] == 1
        assert c.get("/v1/news?q=banque%20dollar").json()["count"] == 0
        assert c.get("/v1/news?since=2999-01-01").json()["count"] == 0
        error_of(c.get("/v1/news?since=hier"), 400, "invalid_input")
        sid = c.get(f"/v1/news/{aid}").json()["data"]["story_id"]
        stories = c.get("/v1/stories").json()
        assert stories["count"] == 1 and stories["data"][0]["story_id"] == sid
        assert stories["data"][0]["article_ids"] == [aid] and stories["data"][0]["languages"] == ["fr"]
        assert c.get(f"/v1/stories/{sid}").json()["data"]["articles"] == 1
        assert c.get("/v1/stories?source=tmp").json()["count"] == 0
        assert c.get(f"/v1/stories?source={f.parent.name}").json()["count"] == 1
        assert c.get("/v1/stories?entity=person:vladimir-putin").json()["count"] == 0
        error_of(c.get("/v1/stories/MWTNOPE"), 404, "not_found")
