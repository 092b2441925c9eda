"""A plugin adds a dataset, a source, rules and a verifier with no change to marketwire, and the CLI serves them.

The plugin is ``tests/plugin`` (package ``marketwire-testplugin``, module ``mw_testplugin``), installed by ``make test``
(``pip install -e tests/plugin``) and found through the entry point group ``marketwire.plugins``: daily station
temperatures (dataset ``weather_obs``, key (station, date), write mode versioned), source ``weather-csv``, rule
``weather.implausible_temperature`` (reject below -90 or above 60 degrees Celsius).
"""

from __future__ import annotations

import json
from importlib.metadata import entry_points

import pytest
from click.testing import CliRunner

import marketwire
from marketwire.cli import main
from marketwire.datasets import get as get_dataset

TARGET = "mw_testplugin:register"
INSTALLED = any(ep.value == TARGET for ep in entry_points(group="marketwire.plugins"))

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not INSTALLED, reason="the test plugin is not installed: no entry point "
                                 f"{TARGET} in group marketwire.plugins (run `make test`, or "
                                 "`.venv/bin/pip install -e tests/plugin`)")]

# line 1 is the header; the bounds -90 and 60 are plausible, a tenth of a degree beyond them is not
WEATHER = ("station,date,temperature_c\n"
           "OSLO,2024-01-01,-3.5\n"         # 2
           "OSLO,2024-01-02,-4.0\n"         # 3
           "VOSTOK,2024-01-01,-90.0\n"      # 4  on the lower bound: accepted
           "VOSTOK,2024-01-02,-90.1\n"      # 5  below it: quarantined
           "DEATHVALLEY,2024-07-10,60.0\n"  # 6  on the upper bound: accepted
           "DEATHVALLEY,2024-07-11,60.1\n"  # 7  above it: quarantined
           "OSLO,2024-01-03,n/a\n")         # 8  not a number: quarantined by the source
CORRECTION = ("station,date,temperature_c\n"
              "OSLO,2024-01-02,-4.5\n"      # a corrected value: a new version of (OSLO, 2024-01-02)
              "OSLO,2024-01-01,-3.5\n"      # the same value again: nothing new
              "VOSTOK,2024-01-02,-80.1\n")  # the refused reading, corrected: now accepted


def run(home, *args):
    r = CliRunner().invoke(main, ["--home", str(home), *args])
    assert "Traceback" not in (r.output + (r.stderr or "")), r.output
    return r


def run_json(home, *args):
    r = run(home, *args, "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "weather.csv").write_text(WEATHER)
    (tmp_path / "weather_fix.csv").write_text(CORRECTION)
    return tmp_path


def rows_of(home, *args):
    return sorted(run_json(home, "dataset", "weather_obs", *args), key=lambda r: (r["station"], r["date"]))


def temps(rows):
    return {(r["station"], r["date"]): r["temperature_c"] for r in rows}


def stored(home) -> int:
    """Every record version in the lake's weather_obs table (not just the latest per key)."""
    mw = marketwire.open(home)
    return mw.lake.scan(get_dataset("weather_obs")).num_rows


def test_plugins_lists_what_the_plugin_added(tmp_path):
    plugins = run_json(tmp_path / "h", "plugins")
    mine = [p for p in plugins if p["target"] == TARGET]
    assert len(mine) == 1, plugins
    assert mine[0]["error"] is None
    assert set(mine[0]["added"]) == {"dataset:weather_obs", "source:weather-csv", "rule:weather.unparseable",
                                     "rule:weather.implausible_temperature", "verifier:weather_obs"}
    sources = {s["name"]: s for s in run_json(tmp_path / "h", "sources")}
    assert sources["weather-csv"]["dataset"] == "weather_obs" and sources["weather-csv"]["error"] is None
    rules = {r["code"]: r for r in run_json(tmp_path / "h", "rules")}
    assert rules["weather.implausible_temperature"]["severity"] == "reject"
    assert rules["weather.implausible_temperature"]["dataset"] == "weather_obs"
    ds = {d["name"]: d for d in run_json(tmp_path / "h", "datasets")}
    assert ds["weather_obs"]["key"] == ["station", "date"] and ds["weather_obs"]["write_mode"] == "versioned"


@pytest.fixture()
def loaded(files):
    """weather.csv ingested with knowledge time 2024-03-01; returns (folder, home, the CLI's report)."""
    home = files / "h"
    r = run(home, "ingest", "weather-csv", str(files / "weather.csv"), "--as-of", "2024-03-01")
    assert r.exit_code == 0, r.output
    return files, home, r.output


def test_ingest_reports_accepted_and_quarantined(loaded):
    _, _, out = loaded
    assert "weather-csv: 1 file(s): accepted 4, flagged 0, quarantined 3, unchanged 0" in out
    assert "quarantined by weather.implausible_temperature: 2" in out
    assert "quarantined by weather.unparseable: 1" in out


def test_quarantine_shows_the_refused_rows_with_rule_file_line_and_raw_values(loaded):
    _, home, _ = loaded
    q = sorted(run_json(home, "quarantine", "--dataset", "weather_obs"), key=lambda x: x["line"])
    assert [(x["rule"], x["line"]) for x in q] == [("weather.implausible_temperature", 5),
                                                    ("weather.implausible_temperature", 7),
                                                    ("weather.unparseable", 8)]
    vostok = q[0]
    assert vostok["file"].endswith("weather.csv") and vostok["source"] == "weather-csv"
    assert vostok["dataset"] == "weather_obs" and vostok["field"] == "temperature_c" and vostok["value"] == "-90.1"
    assert json.loads(vostok["raw"]) == {"station": "VOSTOK", "date": "2024-01-02", "temperature_c": "-90.1"}
    assert "-90.1" in vostok["message"]
    assert json.loads(q[1]["raw"]) == {"station": "DEATHVALLEY", "date": "2024-07-11", "temperature_c": "60.1"}
    assert q[1]["value"] == "60.1"
    assert q[2]["field"] == "temperature_c" and q[2]["value"] == "n/a"
    assert json.loads(q[2]["raw"])["temperature_c"] == "n/a"
    only = run_json(home, "quarantine", "--dataset", "weather_obs", "--rule", "weather.unparseable")
    assert [x["line"] for x in only] == [8]


def test_accepted_rows_can_be_queried(loaded):
    _, home, _ = loaded
    rows = rows_of(home)
    assert temps(rows) == {("DEATHVALLEY", "2024-07-10"): 60.0, ("OSLO", "2024-01-01"): -3.5,
                           ("OSLO", "2024-01-02"): -4.0, ("VOSTOK", "2024-01-01"): -90.0}  # both bounds accepted
    assert {(r["station"], r["line"]) for r in rows} == {("OSLO", 2), ("OSLO", 3), ("VOSTOK", 4), ("DEATHVALLEY", 6)}
    assert all(r["source"] == "weather-csv" and r["file"].endswith("weather.csv") for r in rows)
    assert stored(home) == 4
    oslo = rows_of(home, "--where", "station=OSLO")
    assert [(r["date"], r["temperature_c"]) for r in oslo] == [("2024-01-01", -3.5), ("2024-01-02", -4.0)]
    assert len(rows_of(home, "--limit", "2")) == 2
    assert rows_of(home, "--as-of", "2024-02-29") == []  # known from 2024-03-01 on
    mw = marketwire.open(home)  # the same through the SDK
    sdk = mw.dataset("weather_obs", where={"station": "VOSTOK"})
    assert [(str(r["date"]), r["temperature_c"], r["line"]) for r in sdk] == [("2024-01-01", -90.0, 4)]


def test_a_corrected_value_is_a_new_version(loaded):
    files, home, _ = loaded
    r = run(home, "ingest", "weather-csv", str(files / "weather_fix.csv"), "--as-of", "2024-03-02")
    assert r.exit_code == 0, r.output
    assert "quarantined 0" in r.output
    now = temps(rows_of(home))
    assert now[("OSLO", "2024-01-02")] == -4.5 and now[("VOSTOK", "2024-01-02")] == -80.1 and len(now) == 5
    fixed = [x for x in rows_of(home, "--where", "station=OSLO") if x["date"] == "2024-01-02"]
    assert [(x["file"].rsplit("/", 1)[-1], x["line"]) for x in fixed] == [("weather_fix.csv", 2)]
    # point in time: what was known on 2024-03-01 is the first reading
    then = temps(rows_of(home, "--as-of", "2024-03-01"))
    assert then[("OSLO", "2024-01-02")] == -4.0 and ("VOSTOK", "2024-01-02") not in then and len(then) == 4
    mw = marketwire.open(home)
    sdk = mw.dataset("weather_obs", as_of="2024-03-01", where={"station": "OSLO"})
    assert sorted((str(x["date"]), x["temperature_c"]) for x in sdk) == [("2024-01-01", -3.5), ("2024-01-02", -4.0)]


def test_a_refusal_seen_again_is_not_quarantined_twice(loaded):
    files, home, _ = loaded
    r = run(home, "ingest", "weather-csv", str(files / "weather.csv"))
    assert r.exit_code == 0, r.output
    assert "quarantined 0" in r.output
    assert len(run_json(home, "quarantine", "--dataset", "weather_obs")) == 3


def test_reingesting_the_same_file_adds_nothing(loaded):
    files, home, _ = loaded
    r = run(home, "ingest", "weather-csv", str(files / "weather.csv"))
    assert r.exit_code == 0, r.output
    assert "accepted 0, flagged 0, quarantined 0, unchanged 4" in r.output
    assert stored(home) == 4


def test_a_correction_appends_only_what_changed(loaded):
    files, home, _ = loaded
    r = run(home, "ingest", "weather-csv", str(files / "weather_fix.csv"), "--as-of", "2024-03-02")
    assert r.exit_code == 0, r.output
    assert "accepted 2, flagged 0, quarantined 0, unchanged 1" in r.output
    assert stored(home) == 6


def test_a_bad_header_is_an_error_naming_the_column(files):
    (files / "bad.csv").write_text("station,day,temperature_c\nOSLO,2024-01-01,1.0\n")
    r = run(files / "h", "ingest", "weather-csv", str(files / "bad.csv"))
    assert r.exit_code != 0
    assert "missing column 'date'" in (r.output + (r.stderr or ""))


def test_a_value_corrected_back_is_a_new_version(files):
    home = files / "h"
    (files / "a.csv").write_text("station,date,temperature_c\nOSLO,2024-01-01,1.0\n")
    (files / "b.csv").write_text("station,date,temperature_c\nOSLO,2024-01-01,2.0\n")
    (files / "a_again.csv").write_text("station,date,temperature_c\nOSLO,2024-01-01,1.0\n")
    for name, day in (("a.csv", "2024-03-01"), ("b.csv", "2024-03-02"), ("a_again.csv", "2024-03-03")):
        r = run(home, "ingest", "weather-csv", str(files / name), "--as-of", day)
        assert r.exit_code == 0, r.output
    assert temps(rows_of(home, "--as-of", "2024-03-01")) == {("OSLO", "2024-01-01"): 1.0}
    assert temps(rows_of(home, "--as-of", "2024-03-02")) == {("OSLO", "2024-01-01"): 2.0}
    assert temps(rows_of(home)) == {("OSLO", "2024-01-01"): 1.0}
    assert stored(home) == 3
