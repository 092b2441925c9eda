"""One time parser: a date and an instant mean the same on every surface, and the same bad text is refused.

The property test drives the SDK, the CLI and REST with the same ``as_of`` / ``since`` / ``until`` text on prices
and news and requires the same answer from all three (or the same refusal, naming the parameter)."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import polars as pl
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import marketwire
from marketwire.cli import main
from marketwire.errors import InvalidInput, NotFound
from marketwire.serve.api import create_app
from marketwire.timeparse import parse_day, parse_instant

UTC = timezone.utc


# -- the parser itself ---------------------------------------------------------------------------------------------

def test_a_date_is_the_end_of_its_day_for_as_of_and_until_and_the_start_for_since() -> None:
    assert parse_instant("2024-01-31", "as_of") == datetime(2024, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_instant("2024-01-31", "until") == datetime(2024, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_instant("2024-01-31", "since") == datetime(2024, 1, 31, tzinfo=UTC)
    assert parse_instant(date(2024, 1, 31), "as_of") == parse_instant("2024-01-31", "as_of")


def test_instants_are_utc_and_naive_means_utc() -> None:
    assert parse_instant("2024-01-31T15:30") == datetime(2024, 1, 31, 15, 30, tzinfo=UTC)
    assert parse_instant("2024-01-31 15:30:00Z") == datetime(2024, 1, 31, 15, 30, tzinfo=UTC)
    assert parse_instant("2024-01-31T17:30:00.25+02:00") == datetime(2024, 1, 31, 15, 30, 0, 250000, tzinfo=UTC)
    assert parse_day("2024-01-31T23:30-02:00") == date(2024, 2, 1)  # an instant stands for its UTC day


@pytest.mark.parametrize("text", ["2024-01-31Tgarbage", "20240131", "2024-1-31", "notadate", "2024-02-30",
                                  "2024-01-31T25:00", "2024-01-31T12:00+5", " ", "2024-01-31\x00", "31/01/2024"])
def test_bad_text_is_refused_naming_the_parameter(text: str) -> None:
    for fn in (parse_instant, parse_day):
        with pytest.raises(InvalidInput) as e:
            fn(text, "since")
        assert e.value.fields["param"] == "since"


def test_nothing_given_is_none() -> None:
    assert parse_instant(None) is None and parse_instant("") is None and parse_day(None) is None


# -- every surface, the same answer ------------------------------------------------------------------------------

KNOWN_1 = "2024-01-10T12:00:00Z"
KNOWN_2 = "2024-01-20T00:00:00Z"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    h = tmp_path_factory.mktemp("time") / "h"
    mw = marketwire.open(h)
    bars = pl.DataFrame({"symbol": ["TTT"] * 3, "date": [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)],
                         "open": [10.0, 11.0, 12.0], "high": [10.5, 11.5, 12.5], "low": [9.5, 10.5, 11.5],
                         "close": [10.2, 11.2, 12.2], "volume": [100, 200, 300]})
    mw.ingest_bars(bars, source="t", mic="XNYS", currency="USD", as_of=KNOWN_1)
    corrected = bars.with_columns(pl.col("close") + 0.1)  # a correction known later
    mw.ingest_bars(corrected, source="t", mic="XNYS", currency="USD", as_of=KNOWN_2)
    texts = h.parent / "texts"
    texts.mkdir()
    for name, when in (("a", "2024-01-09T23:30:00Z"), ("b", "2024-01-10T00:30:00Z"), ("c", "2024-01-11T12:00:00Z")):
        p = texts / f"{name}.txt"
        p.write_text(f"Report {name} on the harbour\nThe harbour authority published report {name} on shipping "
                     f"volumes, number {ord(name)}, with figures for the quarter.\n", encoding="utf-8")
        mw.news.add([str(p)], source="wire", published=when)
    return h


def _sdk(h, kind: str, param: str, text: str):
    mw = marketwire.open(h)
    try:
        if kind == "prices":
            return "ok", mw.prices("TTT", output="polars", **{param: text}).write_csv()
        return "ok", [a.id for a in mw.news.list(**{param: text})]
    except InvalidInput as e:
        return "refused", e.fields.get("param")
    except NotFound:
        return "not found", None


def _cli(h, kind: str, param: str, text: str):
    flag = "--" + param.replace("_", "-")
    if kind == "prices":
        r = CliRunner().invoke(main, ["--home", str(h), "prices", "TTT", f"{flag}={text}", "--format", "csv"])
    else:
        r = CliRunner().invoke(main, ["--home", str(h), "news", "list", f"{flag}={text}", "--format", "json"])
    if r.exit_code == 4:
        return "refused", param if f"`{param}`" in (r.stderr if r.stderr_bytes is not None else r.output) else None
    if r.exit_code == 3:
        return "not found", None
    assert r.exit_code == 0, r.output
    return "ok", r.stdout if kind == "prices" else [x["id"] for x in json.loads(r.stdout)]


def _rest(client: TestClient, kind: str, param: str, text: str):
    if kind == "prices":
        r = client.get("/v1/prices/TTT", params={param: text, "format": "csv"})
    else:
        r = client.get("/v1/news", params={param: text})
    if r.status_code == 400:
        return "refused", r.json()["error"].get("param")
    if r.status_code == 404:
        return "not found", None
    assert r.status_code == 200, r.text
    return "ok", r.text if kind == "prices" else [x["id"] for x in r.json()["data"]]


_DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2024, 1, 25))
_INSTANTS = st.builds(lambda d, h, m, sep, tz: f"{d.isoformat()}{sep}{h:02d}:{m:02d}{tz}", _DAYS,
                      st.integers(0, 23), st.sampled_from([0, 29, 30, 59]), st.sampled_from(["T", " "]),
                      st.sampled_from(["", "Z", ":00Z", ":00.5", "+02:00", "-05:00"]))
_BAD = st.one_of(st.sampled_from(["2024-01-31Tgarbage", "20240131", "2024-1-31", "notadate", "2024-02-30",
                                  "2024-01-10T24:00", "2024-01-10T12:00+5", " ", "10/01/2024"]),
                 st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=12))
TEXTS = st.one_of(_DAYS.map(date.isoformat), _INSTANTS, _BAD)
CASES = st.sampled_from([("prices", "as_of"), ("news", "as_of"), ("news", "since"), ("news", "until")])


@pytest.fixture(scope="module")
def client(home):
    with TestClient(create_app(home)) as c:
        yield c


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=CASES, text=TEXTS)
def test_sdk_cli_and_rest_agree_on_every_time_text(home, client, case, text: str) -> None:
    kind, param = case
    sdk, cli, rest = _sdk(home, kind, param, text), _cli(home, kind, param, text), _rest(client, kind, param, text)
    assert sdk == cli == rest, (text, sdk, cli, rest)
    if sdk[0] == "refused":
        assert sdk[1] == param


def test_the_surfaces_agree_on_what_each_date_means(home) -> None:
    """The answers themselves: a date as_of is the end of that day; since/until include the whole day."""
    mw = marketwire.open(home)
    before = mw.prices("TTT", as_of="2024-01-10", output="polars")["close"].to_list()
    after = mw.prices("TTT", as_of="2024-01-20", output="polars")["close"].to_list()
    assert before == [10.2, 11.2, 12.2]  # KNOWN_1 is during 2024-01-10: known by its end
    assert after == pytest.approx([10.3, 11.3, 12.3])  # KNOWN_2 is midnight starting 2024-01-20
    with pytest.raises(NotFound):  # a second before the first delivery, nothing was known
        mw.prices("TTT", as_of="2024-01-10T11:59:59Z")
    ids = {a.title.split()[1]: a.id for a in mw.news.list()}
    assert {a.id for a in mw.news.list(since="2024-01-10")} == {ids["b"], ids["c"]}
    assert {a.id for a in mw.news.list(until="2024-01-10")} == {ids["a"], ids["b"]}
    assert {a.id for a in mw.news.list(since="2024-01-10", until="2024-01-10")} == {ids["b"]}
    assert set(_cli(home, "news", "until", "2024-01-10")[1]) == {ids["a"], ids["b"]}
