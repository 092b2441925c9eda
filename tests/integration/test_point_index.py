"""The point index (memory-mapped, standard library only) answers ``resolve`` exactly as the identity service
does, for a random sample of the identifiers of the `make run` lake and the cases with errors; and it steps aside
(None: the full platform answers) whenever its files are not those of the lake's current state."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import marketwire
from marketwire.errors import MarketwireError
from marketwire.identity.point import open_point, quick_resolve

pytestmark = pytest.mark.integration


def _answer(call):
    try:
        return ("ok", call())
    except MarketwireError as e:
        return (type(e).__name__, e.message, e.fields.get("candidates"))


@pytest.fixture(scope="module")
def home(make_run_lake: Path) -> Path:
    mw = marketwire.open(make_run_lake)
    mw.resolve("AAPL")  # the first lookup builds the lookup files of the current state
    return make_run_lake


def test_point_answers_equal_the_services_on_a_random_sample_and_every_error(home: Path) -> None:
    mw = marketwire.open(home)
    opened = open_point(home)
    assert opened is not None, "the lookup files of the current state should exist after a resolve"
    folder = next(p for p in (home / "cache").glob("hot-*") if (p / "point.done").exists())
    ids = pl.read_parquet(folder / "ids.parquet").filter(pl.col("scheme") != "name")
    rng = random.Random(20261203)
    sample = [ids["value"][rng.randrange(ids.height)] for _ in range(150)]
    sample += ["AAPL", "aapl", "US0378331005", "CIK:320193", "CIK:0000320193", "320193", "US0378331006",
               "ZZZZZZZZ", "VOD", "SHEL", "MSFT@XNAS", "BRK.B", "SAN.PA", "FR0000120578", "isin:US0378331005"]
    kinds = set()
    for value in sample:
        for as_of in (None, "2015-01-10"):
            full = _answer(lambda: mw.resolve(value, as_of))
            quick = _answer(lambda: quick_resolve(home, value, as_of))
            assert quick == full, (value, as_of)
            kinds.add(full[0])
    assert {"ok", "NotFound", "InvalidIdentifier", "Ambiguous"} <= kinds  # every kind of answer was compared


def test_own_ids_and_missing_files_go_the_full_way(home: Path, tmp_path: Path) -> None:
    listing = marketwire.open(home).resolve("AAPL")[0]["listing_id"]
    assert quick_resolve(home, listing) is None  # merges and provisional listings live in the lake
    copy = tmp_path / "home"
    shutil.copytree(home / "lake", copy / "lake")
    assert quick_resolve(copy, "AAPL") is None  # no lookup files for this state yet
    shutil.copytree(home / "cache", copy / "cache")
    assert quick_resolve(copy, "AAPL") is not None
    for f in (copy / "cache").glob("hot-*/point.done"):
        f.unlink()  # half-written files are never read
    assert quick_resolve(copy, "AAPL") is None


def test_the_cli_answers_from_the_point_index_without_loading_the_data_stack(home: Path) -> None:
    code = ("import sys, runpy; sys.argv = ['marketwire', '--home', sys.argv[1], 'resolve', 'AAPL', '--format', 'csv'];"
            "import marketwire.cli as c\n"
            "try:\n c.main(standalone_mode=False)\nfinally:\n"
            " heavy = sorted(m for m in ('numpy', 'pyarrow', 'polars', 'duckdb', 'deltalake', 'pandas') if m in sys.modules)\n"
            " print('LOADED', heavy)")
    out = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True, text=True, check=True).stdout
    assert "AAPL,XNAS,USD,Apple Inc." in out
    assert "LOADED []" in out
