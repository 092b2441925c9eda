"""The fundamentals REST routes and the company page (statements and a revenue / EPS chart) in headless Chromium."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest

from support.servers import ServedHome
from tests.conftest import shared_data

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
AAPL = shared_data() / "fundamentals" / "companyfacts" / "sec_companyfacts_AAPL_CIK0000320193.json"
FMP = shared_data() / "estimates" / "fmp_historical_earning_calendar_AAPL_2023-11-11.DERIVED.json"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not AAPL.is_file():
        pytest.skip(f"shared fundamentals data not found at {AAPL.parent} (set MARKETWIRE_DATA)")
    import marketwire

    h = tmp_path_factory.mktemp("fundweb") / "home"
    mw = marketwire.open(h)
    mw.ingest("sec-companyfacts", [AAPL])
    mw.ingest("estimates-fmp", [FMP])
    return h


def test_rest_routes(home: Path) -> None:
    from fastapi.testclient import TestClient

    from marketwire.serve.api import create_app

    c = TestClient(create_app(home))
    r = c.get("/v1/fundamentals/CIK:320193/statements/income", params={"period": "annual"})
    assert r.status_code == 200, r.text
    rows = [x for x in r.json()["data"] if x["line_item"] == "revenue" and x["period_end"] == "2023-09-30"]
    assert rows and rows[0]["value"] == 383_285_000_000
    r = c.get("/v1/fundamentals/CIK:320193/facts", params={"tag": "EarningsPerShareDiluted", "fy": 2023,
                                                           "as_of": "2023-12-31"})
    assert r.status_code == 200 and r.json()["count"] > 0
    assert all(x["filed"] <= "2023-12-31" for x in r.json()["data"])
    assert c.get("/v1/fundamentals/CIK:320193/statements/nonsense").status_code in (400, 422)
    bad = c.get("/v1/fundamentals/CIK:320193/statements/income", params={"as_of": "yesterday"})
    assert bad.status_code == 400 and "error" in bad.json()
    assert c.get("/v1/fundamentals/CIK:999999999/facts").status_code == 404
    r = c.get("/v1/estimates/AAPL/consensus", params={"as_of": "2023-11-01", "metric": "eps"})
    assert r.status_code == 200 and any(x["period_end"] == "2023-09-30" and x["mean"] == 1.39
                                        for x in r.json()["data"])
    r = c.get("/v1/estimates/AAPL/surprises")
    assert r.status_code == 200 and r.json()["count"] > 50


@pytest.fixture(scope="module")
def site(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium) for the real-browser page test")
    tmp = tmp_path_factory.mktemp("fundbrowser")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update({"NO_PROXY": "*", "HOME": str(tmp), "PYTHONPATH": str(ROOT / "src")})
    with ServedHome(home, env=env) as base:
        yield base, tmp


def _dom(tmp: Path, url: str) -> lxml.html.HtmlElement:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
             "--disable-extensions", "--no-proxy-server", f"--user-data-dir={tmp / 'profile'}", "--dump-dom", url]
    run = subprocess.run([CHROMIUM, *flags], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "HOME": str(tmp)})
    assert run.returncode == 0, run.stderr[-2000:]
    return lxml.html.fromstring(run.stdout)


def test_company_page_in_chromium(site: tuple[str, Path]) -> None:
    base, tmp = site
    doc = _dom(tmp, f"{base}/companies/CIK:320193")
    assert doc.xpath("//*[@data-testid='company']/@data-cik") == ["320193"]
    assert len(doc.xpath("//*[@data-testid='revenue-bar']")) == 10
    assert doc.xpath("//*[@data-testid='eps-line']")
    points = [p.text_content() for p in doc.xpath("//*[@data-testid='eps-point']")]
    assert "2023: 6.13" in points
    rev = doc.xpath("//table[@data-testid='statement-income']//tr[@data-item='revenue']/td/text()")
    assert "383,285" in rev
    assert doc.xpath("//table[@data-testid='statement-balance']") and \
        doc.xpath("//table[@data-testid='statement-cash_flow']")
    # point in time: as filed by 2021-06-30 the page ends at fiscal 2020
    old = _dom(tmp, f"{base}/companies/CIK:320193?as_of=2021-06-30")
    heads = old.xpath("//table[@data-testid='statement-income']//th[@scope='col']/text()")
    assert heads[-1] == "2020-09-26"
    missing = _dom(tmp, f"{base}/companies/CIK:999999999")
    assert "no SEC facts" in missing.text_content()
