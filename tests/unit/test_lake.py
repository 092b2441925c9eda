"""The store's as-of read equals a pure-Python replay of the append log."""

from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketwire.datasets.base import Dataset
from marketwire.store import Lake

pytestmark = pytest.mark.unit

DS = Dataset("facts", (pa.field("k", pa.string(), False), pa.field("v", pa.int64())), key=("k",), description="t")
T0 = datetime(2020, 1, 1, tzinfo=timezone.utc)

events = st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 99), st.integers(0, 30)), min_size=1, max_size=25)


def oracle(log, as_of):
    best = {}
    for seq, (k, v, day) in enumerate(log):
        t = T0 + timedelta(days=day)
        if as_of is not None and t > as_of:
            continue
        if k not in best or (t, seq) >= best[k][0]:
            best[k] = ((t, seq), v)
    return {k: v for k, (_, v) in best.items()}


@settings(max_examples=15, deadline=None)
@given(log=events, probe=st.integers(0, 31))
def test_read_as_of_matches_replay(tmp_path_factory, log, probe):
    lake = Lake(tmp_path_factory.mktemp("lake"))
    for seq, (k, v, day) in enumerate(log):
        t = T0 + timedelta(days=day)
        ingested = T0 + timedelta(seconds=seq)
        lake.append(DS, pa.Table.from_pylist([{"k": k, "v": v, "knowledge_time": t, "ingested_at": ingested,
                                               "source": "test", "ingest_id": str(seq)}], schema=DS.schema))
    as_of = T0 + timedelta(days=probe)
    got = {r["k"]: r["v"] for r in lake.read(DS, as_of=as_of).to_pylist()}
    assert got == oracle(log, as_of)
    assert {r["k"]: r["v"] for r in lake.read(DS).to_pylist()} == oracle(log, None)


def test_hot_index_hash_is_the_same_vectorised_and_for_one_value():
    import polars as pl

    from marketwire.identity.hot import _hash, _hash_one

    values = ["AAPL", "", "é" * 40, "MWL0S0YWT3DEV", "SAN@XPAR", "x" * 31, "x" * 33]
    assert [int(h) for h in _hash(pl.Series(values))] == [_hash_one(v) for v in values]
    assert _hash_one("x" * 40) == _hash_one("x" * 50)  # beyond the hashed width: equality decides
