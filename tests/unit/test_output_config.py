"""Where the CLI finds its lake, what an empty lake says, and how results are rendered for a terminal and a pipe."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from marketwire import output
from marketwire.cli import main
from marketwire.config import default_home, is_empty, project_home, resolve_home

pytestmark = pytest.mark.unit


# -- the lake ---------------------------------------------------------------------------------------------

def test_project_lake_is_found_here_or_above(tmp_path, monkeypatch):
    monkeypatch.delenv("MARKETWIRE_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    deep = tmp_path / "repo" / "docs" / "sub"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert project_home() is None and default_home() == tmp_path / "xdg" / "marketwire"  # none: per-user
    (tmp_path / "repo" / ".marketwire").mkdir()
    assert project_home() == tmp_path / "repo" / ".marketwire" == default_home()
    (deep / ".marketwire").mkdir()  # the nearest one wins
    assert default_home() == deep / ".marketwire"
    (tmp_path / "repo" / "file").write_text("")
    assert project_home(tmp_path / "repo") == tmp_path / "repo" / ".marketwire"
    monkeypatch.setenv("MARKETWIRE_HOME", str(tmp_path / "env"))  # the environment before the project
    assert default_home() == tmp_path / "env" and resolve_home(tmp_path / "given") == tmp_path / "given"


def test_a_file_named_like_the_lake_is_not_a_lake(tmp_path, monkeypatch):
    monkeypatch.delenv("MARKETWIRE_HOME", raising=False)
    (tmp_path / ".marketwire").write_text("not a folder")
    assert project_home(tmp_path) is None


def test_empty_lake_says_so_and_how_to_fill_it(tmp_path, monkeypatch):
    monkeypatch.delenv("MARKETWIRE_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".marketwire").mkdir()
    assert is_empty(tmp_path / ".marketwire")
    r = CliRunner().invoke(main, ["resolve", "AAPL"])
    assert r.exit_code == 3
    assert f"the lake at {tmp_path / '.marketwire'} is empty" in r.stderr and "make run" in r.stderr
    (tmp_path / ".marketwire" / "lake" / "listings").mkdir(parents=True)
    assert not is_empty(tmp_path / ".marketwire")


# -- rendering --------------------------------------------------------------------------------------------

def test_summaries_of_nested_values():
    assert output.summarize([]) == "" and output.summarize(None) == ""
    assert output.summarize(["figi.shared", "isin.multiple_issuers"]) == "figi.shared, isin.multiple_issuers"
    long = [f"rule.number_{i}" for i in range(5)]
    assert output.summarize(long, "flags") == "5 flags (--format json)"
    assert output.summarize([{"a": 1}], "listings") == "1 listing (--format json)"
    assert output.summarize({"isin": "FR0000120578"}) == "isin=FR0000120578"
    assert output.summarize({f"k{i}": "x" * 10 for i in range(4)}) == "4 fields (--format json)"
    # the borderline: exactly INLINE characters stay inline, one more is summarised
    assert output.summarize(["x" * output.INLINE]) == "x" * output.INLINE
    assert output.summarize(["x" * (output.INLINE + 1)], "names") == "1 name (--format json)"


def test_piped_table_is_plain_tab_separated_and_whole():
    rows = [{"listing_id": "MWLTQ1MPPVYDR", "name": "Apple\tInc.\nCommon", "flags": [], "n": 17},
            {"listing_id": "MWL" + "X" * 200, "name": None, "flags": ["a", "b"], "n": 1}]
    text = output.to_tsv(rows)
    lines = text.splitlines()
    assert lines[0] == "listing_id\tname\tflags\tn"
    assert lines[1] == "MWLTQ1MPPVYDR\tApple Inc. Common\t\t17"
    assert lines[2] == "MWL" + "X" * 200 + "\t\ta, b\t1"  # never cut, never wrapped


def test_single_object_as_field_value_lines():
    health = {"status": "ok", "counts": {"issuers": 3, "listings": 4}, "listings": [{"a": 1}, {"a": 2}]}
    assert output.fields(health) == [
        {"field": "status", "value": "ok"}, {"field": "counts.issuers", "value": "3"},
        {"field": "counts.listings", "value": "4"}, {"field": "listings", "value": "2 listings (--format json)"}]


def test_cli_health_piped_has_one_count_a_line(tmp_path):
    r = CliRunner().invoke(main, ["--home", str(tmp_path / "h"), "health"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "field\tvalue" and "status\tok" in lines
    assert any(ln.startswith("counts.listings\t") for ln in lines)
    r = CliRunner().invoke(main, ["--home", str(tmp_path / "h"), "health", "--format", "json"])
    assert isinstance(json.loads(r.stdout)["counts"], dict)


def test_price_header_names_source_and_basis():
    meta = {"listing_id": "MWLTQ1MPPVYDR", "source": "prices-csv:kaggle", "basis": "adjusted", "adjust": "none",
            "currency": "USD", "as_of": ""}
    line = output.price_header("AAPL", meta)
    assert line.startswith("# AAPL  listing MWLTQ1MPPVYDR  source prices-csv:kaggle  basis adjusted (")
    assert "--adjust none returns adjusted prices" in line and line.endswith("adjust none  currency USD")
    raw = output.price_header("IBM", {**meta, "basis": "raw", "adjust": "total_return", "convention": "ex_close"})
    assert "basis raw (stored as traded)" in raw and "adjust total_return (ex_close)" in raw


PRICES = ("Date,Open,High,Low,Close,Volume,OpenInt\n2024-01-02,10.0,10.5,9.9,10.2,1000,0\n"
          "2024-01-03,10.2,10.4,10.0,10.1,1200,0\n")


def test_prices_say_their_source_and_basis(tmp_path, monkeypatch):
    (tmp_path / "abc.us.txt").write_text(PRICES)
    h = str(tmp_path / "h")
    assert CliRunner().invoke(main, ["--home", h, "ingest", "prices-csv", str(tmp_path / "abc.us.txt"),
                                     "--preset", "kaggle"]).exit_code == 0
    r = CliRunner().invoke(main, ["--home", h, "prices", "ABC.US", "--format", "csv"])
    assert r.stderr == "" and r.stdout.splitlines()[0] == "date,open,high,low,close,volume"  # piped: data only
    r = CliRunner().invoke(main, ["--home", h, "prices", "ABC.US", "--format", "csv", "--provenance"])
    assert r.stdout.splitlines()[:2] == ["date,open,high,low,close,volume,source,basis",
                                         "2024-01-02,10.0,10.5,9.9,10.2,1000,prices-csv:kaggle,adjusted"]
    monkeypatch.setattr("marketwire.cli.is_terminal", lambda stream=None: True)  # stderr on a terminal
    r = CliRunner().invoke(main, ["--home", h, "prices", "ABC.US", "--format", "csv"])
    assert r.exit_code == 0
    assert r.stderr.startswith("# ABC.US  listing MWL") and "source prices-csv:kaggle  basis adjusted (" in r.stderr
    assert r.stdout.splitlines()[0] == "date,open,high,low,close,volume"
