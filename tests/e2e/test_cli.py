"""The CLI as a user drives it: output formats, exit codes, and bad input that never ends in a traceback."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from marketwire.cli import main

pytestmark = pytest.mark.e2e

NASDAQ_2015 = "Symbol,Company Name\nAI,Arlington Asset Investment Corp\nADBE,Adobe Systems Incorporated\n"
NASDAQ_2026 = ("Symbol,Company Name,Security Name,Market Category,Test Issue,Financial Status,Round Lot Size,ETF,"
               "NextShares\nAI,C3.ai Inc.,C3.ai Inc. Class A Common Stock,Q,N,N,100,N,N\n"
               "ADBE,Adobe Inc.,Adobe Inc. - Common Stock,Q,N,N,100,N,N\n"
               "ZXYZ.A,Nasdaq Symbology Test Common Stock,Nasdaq Symbology Test Common Stock,Q,Y,N,100,N,N\n"
               "File Creation Time: 0731202621:31,,,,,,,,\n")


def run(home, *args):
    r = CliRunner().invoke(main, ["--home", str(home), *args])
    assert "Traceback" not in (r.output + (r.stderr or "")), r.output
    return r


@pytest.fixture()
def home(tmp_path):
    (tmp_path / "nasdaqlisted_2015-01-10.csv").write_text(NASDAQ_2015)
    (tmp_path / "nasdaqlisted.csv").write_text(NASDAQ_2026)
    return tmp_path


def test_ingest_counts_and_trailer_date_and_idempotence(home):
    r = run(home / "h", "ingest", "nasdaqtrader", str(home / "nasdaqlisted_2015-01-10.csv"))
    assert r.exit_code == 0 and "accepted 2, flagged 0, quarantined 0" in r.output
    r = run(home / "h", "ingest", "nasdaqtrader", str(home / "nasdaqlisted.csv"))
    assert "accepted 2, flagged 0, quarantined 1" in r.output and "listing.test_issue: 1" in r.output
    r = run(home / "h", "ingest", "nasdaqtrader", str(home / "nasdaqlisted.csv"), str(home / "nasdaqlisted_2015-01-10.csv"))
    assert "accepted 0, flagged 0, quarantined 0, unchanged 4" in r.output
    # the 2026 file is dated by its File Creation Time trailer (2026-07-31), not by the ingest time
    r = run(home / "h", "resolve", "AI", "--as-of", "2026-08-01", "--format", "json")
    [m] = json.loads(r.stdout)
    assert r.exit_code == 0 and m["name"].startswith("C3.ai")
    assert set(m) >= {"issuer_id", "security_id", "listing_id", "name", "type", "status", "identifiers", "listings",
                      "flags"}
    assert m["identifiers"]["ticker_mic"] == "AI@XNAS" and m["flags"] == []
    r = run(home / "h", "resolve", "AI", "--as-of", "2015-01-10", "--format", "json")
    assert json.loads(r.stdout)[0]["name"].startswith("Arlington")


def test_quarantine_csv_has_source_rule_and_raw_value(home):
    run(home / "h", "ingest", "nasdaqtrader", str(home / "nasdaqlisted.csv"))
    r = run(home / "h", "quarantine", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [(x["source"], x["rule"], x["field"], x["value"], x["line"]) for x in rows] == [
        ("nasdaqtrader", "listing.test_issue", "Test Issue", "Y", "4")]
    assert "ZXYZ.A" in rows[0]["raw"]


def test_exit_codes(home):
    run(home / "h", "ingest", "nasdaqtrader", str(home / "nasdaqlisted_2015-01-10.csv"))
    assert run(home / "h", "resolve", "US0378331006").exit_code == 4
    r = run(home / "h", "resolve", "US0378331006")
    assert "isin.check_digit" in r.stderr
    assert run(home / "h", "resolve", "NOPE", "--as-of", "2015-01-10").exit_code == 3
    assert run(home / "h", "resolve", "AI", "--as-of", "2015-02-30").exit_code == 4


def test_ambiguous_exit_and_candidates(tmp_path):
    p = tmp_path / "otherlisted_2020-01-02.csv"
    p.write_text("ACT Symbol,Company Name,Security Name,Exchange,CQS Symbol,ETF,Round Lot Size,Test Issue,"
                 "NASDAQ Symbol\nXYZ,Xyz Corp,Xyz Corp,N,XYZ,N,100,N,XYZ\nXYZ,Xyz Fund,Xyz Fund,P,XYZ,Y,100,N,XYZ\n")
    run(tmp_path / "h", "ingest", "nasdaqtrader", str(p))
    r = run(tmp_path / "h", "resolve", "XYZ", "--as-of", "2020-01-02", "--format", "json")
    assert r.exit_code == 2
    assert sorted(c["mic"] for c in json.loads(r.stdout)) == ["ARCX", "XNYS"]


@pytest.mark.parametrize("content,expect", [
    (b"Ticker,Name\nAAPL,Apple\n", "missing column 'Symbol' or 'ACT Symbol'"),
    (b"Symbol,Company Name\nAAPL,Apple \xff Inc\n", "line 2, column 12: not valid UTF-8"),
    (b'Symbol,Company Name\nAAPL,"Apple\n', "line"),
])
def test_unreadable_files_name_file_line_and_column(tmp_path, content, expect):
    p = tmp_path / "bad_2020-01-02.csv"
    p.write_bytes(content)
    r = run(tmp_path / "h", "ingest", "nasdaqtrader", str(p))
    assert r.exit_code != 0
    assert str(p) in r.stderr and expect in r.stderr


def test_duplicate_rows_and_unknown_mic_are_kept_with_a_rule(tmp_path):
    mic = tmp_path / "ISO10383_MIC.csv"
    mic.write_text('"MIC","OPERATING MIC","OPRT/SGMT","MARKET NAME-INSTITUTION DESCRIPTION","ISO COUNTRY CODE (ISO 3166)"\n'
                   '"XPAR","XPAR","OPRT","EURONEXT - EURONEXT PARIS","FR"\n')
    fd = tmp_path / "equities.csv"
    fd.write_text("symbol,name,currency,exchange,mic,country,isin,cusip,figi,composite_figi,shareclass_figi\n"
                  "SAN.PA,Sanofi,EUR,PAR,XPAR,France,FR0000120578,,,,\n"
                  "SAN.PA,Sanofi,EUR,PAR,XPAR,France,FR0000120578,,,,\n"
                  "FOO.ZZ,Foo,EUR,ZZZ,XZZZ,France,FR0000120579,,,,\n"
                  "BAR.XX,Bar,EUR,XXX,,France,,,,,\n")
    h = tmp_path / "h"
    run(h, "ingest", "mic", str(mic))
    r = run(h, "ingest", "financedatabase", str(fd), "--as-of", "2026-08-16")
    assert "accepted 2, flagged 1, quarantined 3" in r.output
    rules = {x["rule"]: x for x in csv.DictReader(io.StringIO(run(h, "quarantine", "--format", "csv").stdout))}
    assert set(rules) == {"row.duplicate", "isin.check_digit", "listing.mic_missing"}
    assert rules["isin.check_digit"]["value"] == "FR0000120579" and rules["row.duplicate"]["line"] == "3"
    [foo] = json.loads(run(h, "resolve", "FOO@XZZZ", "--as-of", "2026-09-01", "--format", "json").stdout)
    assert "listing.unknown_mic" in foo["flags"] and "isin.check_digit" in foo["flags"]


# -- prices ---------------------------------------------------------------------------------------------

PRICES = ("Date,Open,High,Low,Close,Volume,OpenInt\n2024-01-02,10.0,10.5,9.9,10.2,1000,0\n"
          "2024-01-03,10.2,10.4,10.0,10.1,1200,0\n2024-01-06,10.1,10.3,10.0,10.2,900,0\n"
          "2024-01-05,10.1,10.3,9.5,10.2,-3,0\n")


def test_prices_contract_csv_actions_quality_quarantine(tmp_path):
    (tmp_path / "abc.us.txt").write_text(PRICES)
    h = tmp_path / "h"
    r = run(h, "ingest", "prices-csv", str(tmp_path / "abc.us.txt"), "--preset", "kaggle")
    assert r.exit_code == 0 and "accepted 2" in r.output and "quarantined 2" in r.output
    r = run(h, "prices", "ABC.US", "--format", "csv")
    assert r.exit_code == 0
    assert r.output.splitlines() == ["date,open,high,low,close,volume", "2024-01-02,10.0,10.5,9.9,10.2,1000",
                                     "2024-01-03,10.2,10.4,10.0,10.1,1200"]
    r = run(h, "prices", "ABC.US", "--format", "csv", "--flags", "--as-of", "2999-01-01T00:00:00Z")
    assert r.output.splitlines()[0] == "date,open,high,low,close,volume,flags"
    r = run(h, "prices", "ABC.US", "--format", "csv", "--as-of", "2000-01-01")
    assert r.exit_code == 3  # nothing was known then
    r = run(h, "actions", "ABC.US", "--format", "csv")
    assert r.exit_code == 0 and r.output.splitlines()[0].startswith("ex_date,type,value")
    r = run(h, "quality", "ABC.US", "--format", "json")
    rep = json.loads(r.output)
    assert rep["sources"][0]["quarantined"] == 2 and rep["sources"][0]["rows"] == 2
    r = run(h, "quarantine", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert {(x["rule"], x["line"]) for x in rows} == {("bar.weekend", "4"), ("bar.negative_volume", "5")}
    r = run(h, "prices", "ABC.US", "--adjust", "sideways")
    assert r.exit_code != 0 and "Traceback" not in r.output


def test_prices_bad_file_names_line_and_column(tmp_path):
    (tmp_path / "bad.us.txt").write_text("Date,Open,High,Low,Close,Volume,OpenInt\n2024-01-02,1,2,0.5,1.5,10,0\n"
                                         "2024-01-03,1,2,0.5,1,5,10,0\n")
    r = run(tmp_path / "h", "ingest", "prices-csv", str(tmp_path / "bad.us.txt"))
    assert r.exit_code != 0 and "line 3" in r.output + (r.stderr or "") and "column" in r.output + (r.stderr or "")


def test_news_feeds_add_and_poll_refuses_a_loopback_feed_without_connecting(tmp_path):
    """The CLI polls with the default SSRF policy: a feed on loopback is refused and the server never hit."""
    import http.server
    import threading

    hits: list[str] = []

    class Canary(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        h = tmp_path / "h"
        url = f"http://0x7f.1:{srv.server_port}/feed.xml"
        r = run(h, "news", "feeds", "add", url, "--format", "json")
        assert r.exit_code == 0 and json.loads(r.output)[0]["feed_id"].startswith("MWF")
        r = run(h, "news", "poll", "--once", "--format", "json")
        assert r.exit_code == 0, r.output
        rep = json.loads(r.output)
        assert rep["statuses"] == {"refused_ssrf": 1}
    finally:
        srv.shutdown()
    assert hits == []


def test_news_list_filters_and_stories(tmp_path):
    """Two articles about one event in two languages, one unrelated: filters and stories from the CLI."""
    h = tmp_path / "h"
    fr = tmp_path / "fr.txt"
    fr.write_text("Siemens relève sa prévision annuelle\nLe groupe allemand Siemens a relevé jeudi sa prévision "
                  "annuelle après un troisième trimestre meilleur que prévu. Son bénéfice net a progressé de 12 % "
                  "à 2,1 milliards d'euros, a indiqué le directeur général Roland Busch à Munich.\n", encoding="utf-8")
    other = tmp_path / "other.txt"
    other.write_text("Le pétrole recule\nLes cours du pétrole ont reculé mardi à Londres, le baril de Brent "
                     "perdant 2 % à 81 dollars, sur fond de hausse des stocks américains.\n", encoding="utf-8")
    r = run(h, "news", "add", str(fr), str(other), "--published", "2024-08-08T08:00:00Z")
    assert r.exit_code == 0, r.output
    fr_id, other_id = r.output.split()
    r = run(h, "news", "list", "--q", "siemens busch", "--format", "json")
    assert [a["id"] for a in json.loads(r.output)] == [fr_id]
    r = run(h, "news", "list", "--lang", "fr", "--since", "2024-08-01", "--until", "2024-08-09", "--format", "json")
    assert {a["id"] for a in json.loads(r.output)} == {fr_id, other_id}
    r = run(h, "news", "list", "--until", "2024-08-01", "--format", "json")
    assert json.loads(r.stdout) == []
    assert "note: the news wire holds articles published from 2024-08-08T08:00:00+00:00" in r.stderr
    r = run(h, "news", "list", "--since", "hier", "--format", "json")
    assert r.exit_code != 0 and "since" in r.output + (r.stderr or "")
    r = run(h, "news", "stories", "--format", "json")
    stories = json.loads(r.output)
    assert sorted(s["article_ids"][0] for s in stories) == sorted([fr_id, other_id])
    r = run(h, "news", "story", stories[0]["story_id"])
    assert json.loads(r.output)["story_id"] == stories[0]["story_id"]
