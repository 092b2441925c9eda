"""Crash consistency on real data: a half-built or stale master is seen, repaired on open and by ``check --repair``;
``kill -9`` trials of price ingests answer as a clean run; concurrent ingests store each key once."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import marketwire
from marketwire.datasets import reference as R
from marketwire.engine.write import Provenance, commit
from marketwire.identity.master import master_state

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _tool() -> Any:
    spec = importlib.util.spec_from_file_location("crash_trials", ROOT / "tools" / "crash_trials.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MARKETWIRE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "marketwire.cli", *args], env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def home(securities_master: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    h = tmp_path_factory.mktemp("crash")
    mw = marketwire.open(h)
    mw.ingest("mic", [securities_master / "ISO10383_MIC_2025-05.csv"])
    mw.ingest("nasdaqtrader", [securities_master / "nasdaq-listed-symbols_2015-01-10.csv",
                               securities_master / "nasdaqtrader-other-listed_2015-01-10.csv"])
    return h


def _names(mw: Any) -> dict[str, str]:
    t = mw.lake.read(R.LISTINGS, columns=["listing_id", "name", "retracted"]).to_pylist()
    return {r["listing_id"]: r["name"] for r in t if not r["retracted"]}


def test_a_build_killed_halfway_is_invisible_reported_and_repaired(home: Path) -> None:
    mw = marketwire.open(home, repair=False)
    assert master_state(mw.lake).status == "current"
    published = _names(mw)
    ibm = mw.resolve("IBM", as_of="2015-01-10")[0]
    # what a build killed after writing its first tables leaves: listings (and issuers) written, never published
    raw = pl.from_arrow(mw.lake.read(R.LISTINGS))
    assert isinstance(raw, pl.DataFrame)
    half = raw.filter(~pl.col("retracted")).with_columns(pl.concat_str(pl.col("name"), pl.lit(" (half-built)"))
                                                         .alias("name"))
    now = datetime.now(timezone.utc)
    horizon = raw.get_column("knowledge_time").max()  # a build's records are known from its latest snapshot
    assert isinstance(horizon, datetime)
    horizon = datetime.fromtimestamp(horizon.timestamp(), timezone.utc)
    commit(mw.lake.unpinned(), R.LISTINGS, half.drop(["knowledge_time", "ingested_at", "ingest_id"]).to_dicts(),
           Provenance(horizon, now, "marketwire.build", "build-killed-" + uuid.uuid4().hex[:6]), mode="derived")
    assert mw.lake.committed_version(R.LISTINGS) > mw.lake.version(R.LISTINGS)
    # readers keep the published master
    again = marketwire.open(home, repair=False)
    assert _names(again) == published
    assert again.resolve("IBM", as_of="2015-01-10")[0]["name"] == ibm["name"]
    st = master_state(again.lake)
    assert st.status == "unpublished" and "listings" in st.detail
    # check sees it and exits 1; --repair rebuilds and publishes; check is clean again
    p = _cli(home, "check", "--format", "json")
    assert p.returncode == 1, p.stderr
    rep = json.loads(p.stdout)
    assert rep["master"]["status"] == "unpublished"
    assert any(x.startswith("master: unpublished") for x in rep["problems"])
    p = _cli(home, "check", "--repair")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "repaired: master: unpublished, rebuilt and published" in p.stdout
    assert _cli(home, "check").returncode == 0
    fixed = marketwire.open(home, repair=False)
    assert master_state(fixed.lake).status == "current"
    assert _names(fixed) == published  # the rebuild put the derived names back, as a new version
    assert fixed.lake.version(R.LISTINGS) == fixed.lake.committed_version(R.LISTINGS)


def test_a_stale_master_is_rebuilt_when_the_home_is_opened_unless_deferred(home: Path,
                                                                             securities_master: Path) -> None:
    mw = marketwire.open(home, repair=False)
    manifest = mw.lake.manifest("master")
    assert manifest is not None
    # an ingest killed after it wrote the observations and before its rebuild: the inputs moved on
    mw.lake.publish("master", {**manifest, "inputs": {**manifest["inputs"], "ref_observations": -1}})
    assert master_state(mw.lake).status == "stale"
    p = _cli(home, "check")
    assert p.returncode == 1 and "problem: master: stale" in p.stdout
    marketwire.open(home)  # opening repairs it
    assert master_state(mw.lake).status == "current"
    # a rebuild deferred on purpose (--no-rebuild) is left to `rebuild`, and check says so
    mw.lake.publish("master", {**mw.lake.manifest("master"), "inputs": {"ref_observations": -1}})
    mw.lake.publish("master.deferred", {"since": "now"})
    marketwire.open(home)
    st = master_state(mw.lake)
    assert st.status == "stale" and st.deferred
    p = _cli(home, "check")
    assert p.returncode == 1 and "deferred by --no-rebuild" in p.stdout
    p = _cli(home, "rebuild")
    assert p.returncode == 0, p.stderr
    st = master_state(mw.lake)
    assert st.status == "current" and not st.deferred


def test_a_damaged_lookup_cache_is_reported_and_rebuilt(home: Path) -> None:
    mw = marketwire.open(home)
    assert mw.resolve("IBM", as_of="2015-01-10")
    st = mw.identity.index.status()
    assert st["built"] and st["readable"] and st["hot_complete"]
    assert st["built_from"] == st["versions"]  # the file records the table versions it was built from
    path = home / "cache" / f"master-{st['stamp']}.duckdb"
    path.write_bytes(b"not a database" * 100)
    p = _cli(home, "check", "--format", "json")
    assert p.returncode == 1
    assert "master index: the cache file cannot be read" in json.loads(p.stdout)["problems"]
    assert _cli(home, "check", "--repair").returncode == 0
    assert _cli(home, "check").returncode == 0
    # and a query after damage rebuilds it by itself
    path.write_bytes(b"garbage")
    assert marketwire.open(home).resolve("IBM", as_of="2015-01-10")[0]["ticker"] == "IBM"


def test_kill_9_during_price_ingests_then_the_next_command_answers_as_a_clean_run(
        prices_dir: Path, tmp_path: Path) -> None:
    tool = _tool()
    base, steps = tool.prices_scenario(3)
    prep = tool.prepare(tmp_path, "prices", base, steps)
    assert prep["prefix"][-1]["questions"]["prices aa"][0] > 1000  # the clean run has the bars
    import random

    rng = random.Random(7)
    results = [tool.trial(tmp_path, n, "prices", prep, steps, rng) for n in range(2)]
    for r in results:
        assert r["ok"], r
        assert r["duplicates"] == 0 and r["final_equals_clean"]


def test_concurrent_price_ingests_store_each_bar_once(prices_dir: Path, tmp_path: Path) -> None:
    tool = _tool()
    cmd = tool.prices_scenario(3)[1][0]
    r = tool.concurrent(tmp_path, "prices", [], cmd, 3)
    assert r["exit_codes"] == [0, 0, 0]
    assert not r["duplicates"]
    bars = r["rows_clean_vs_concurrent"]["bars_daily"]
    assert bars[0] == bars[1] and bars[0] > 10_000
    assert r["ok"], r
