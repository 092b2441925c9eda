"""The pipe-delimited Nasdaq Trader format, read from a server on loopback as the public endpoint is read."""

import http.server
import threading
from datetime import date
from functools import partial

import pytest

from marketwire.sources.base import fetch_url
from marketwire.sources.nasdaqtrader import NasdaqTrader

pytestmark = pytest.mark.unit

OTHERLISTED = (
    "ACT Symbol|Security Name|Exchange|CQS Symbol|ETF|Round Lot Size|Test Issue|NASDAQ Symbol\n"
    "ABR$D|Arbor Realty Trust 6.375% Series D Cumulative Redeemable Preferred Stock|N|ABRpD|N|100|N|ABR-D\n"
    "BRK.B|Berkshire Hathaway Inc. Class B|N|BRK.B|N|100|N|BRK.B\n"
    'XQ"T|A "quoted" name, with a comma|Q|XQT|N|100|N|XQT\n'
    "File Creation Time: 0731202621:31|||||||\n"
)


@pytest.fixture()
def server(tmp_path):
    (tmp_path / "otherlisted.txt").write_text(OTHERLISTED)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_pipe_file_over_http_with_trailer_date_and_symbol_conventions(server):
    src = NasdaqTrader()
    raw = fetch_url(f"{server}/otherlisted.txt")
    batch = src.transform(src.query([]), raw)
    recs = {r["ticker"]: r for r in batch.records}
    assert set(recs) == {"ABR-PD", "BRK.B"}
    assert recs["ABR-PD"]["mic"] == "XNYS" and recs["ABR-PD"]["type"] == "preferred"
    assert {"ABR$D", "ABRpD", "ABR-D", "ABR-PD"} <= set(recs["ABR-PD"]["aliases"])
    assert recs["BRK.B"]["snapshot_date"] == date(2026, 7, 31)  # from "File Creation Time: 0731202621:31"
    [bad] = batch.refusals  # exchange code Q is not defined by the format
    assert (bad.rule, bad.field, bad.value, bad.line) == ("listing.unknown_exchange", "Exchange", "Q", 4)
