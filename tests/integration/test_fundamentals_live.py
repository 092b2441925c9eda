"""The live SEC connector against a loopback HTTP server: declared User-Agent, at most 10 requests/s, pagination."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import shared_data

pytestmark = pytest.mark.integration

FUND = shared_data() / "fundamentals"


@pytest.fixture()
def sec(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, float]]]:
    files = {
        "/api/xbrl/companyfacts/CIK0001835632.json": FUND / "companyfacts" / "sec_companyfacts_MRVL_CIK0001835632.json",
        "/submissions/CIK0001318605.json": FUND / "submissions" / "sec_submissions_TSLA_CIK0001318605.json",
        "/submissions/CIK0001318605-submissions-001.json":
            FUND / "submissions" / "sec_submissions_TSLA_CIK0001318605-submissions-001.json",
    }
    if not all(p.is_file() for p in files.values()):
        pytest.skip(f"shared fundamentals data not found at {FUND}")
    seen: list[tuple[str, str, float]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append((self.path, self.headers.get("User-Agent", ""), time.monotonic()))
            p = files.get(self.path)
            if p is None:
                self.send_response(404)
                self.end_headers()
                return
            body = Path(p).read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    monkeypatch.setenv("MARKETWIRE_SEC_BASE", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("MARKETWIRE_SEC_USER_AGENT", "marketwire tests test@example.org")
    for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()


def test_live_companyfacts_and_submissions(sec: list[tuple[str, str, float]], tmp_path: Path) -> None:
    import marketwire

    mw = marketwire.open(tmp_path / "h")
    rep = mw.ingest("sec-companyfacts", [], symbol="CIK:1835632")
    assert rep.accepted > 7000
    rep = mw.ingest("sec-submissions", [], symbol="1318605")
    assert mw.fundamentals.filings("CIK:1318605").height == 1002 + 720  # the older page was fetched too
    assert [p for p, _, _ in sec] == ["/api/xbrl/companyfacts/CIK0001835632.json", "/submissions/CIK0001318605.json",
                                      "/submissions/CIK0001318605-submissions-001.json"]
    assert all(ua == "marketwire tests test@example.org" for _, ua, _ in sec)
    gaps = [b - a for (_, _, a), (_, _, b) in zip(sec, sec[1:])]
    assert min(gaps) >= 0.099  # never more than 10 requests per second


def test_live_needs_a_user_agent_and_a_cik(sec: list[tuple[str, str, float]], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import marketwire
    from marketwire.errors import InvalidInput

    mw = marketwire.open(tmp_path / "h")
    with pytest.raises(InvalidInput, match="symbol"):
        mw.ingest("sec-companyfacts", [])
    monkeypatch.setenv("MARKETWIRE_SEC_MAX_RPS", "50")
    with pytest.raises(InvalidInput, match="SEC's limit"):
        mw.ingest("sec-companyfacts", [], symbol="CIK:1835632")
    monkeypatch.delenv("MARKETWIRE_SEC_MAX_RPS")
    monkeypatch.delenv("MARKETWIRE_SEC_USER_AGENT")
    with pytest.raises(InvalidInput, match="User-Agent"):
        mw.ingest("sec-companyfacts", [], symbol="CIK:1835632")
    assert sec == []  # nothing was sent without a declared User-Agent
