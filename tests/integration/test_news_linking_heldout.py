"""Company linking on the held-out wire stories (benchmarks/news_linking/heldout.txt) against the reference master
built from the shared files: at least 90% of mentions linked to the right issuer, at most 2% spurious links.

The master is the session's `make run` lake (tests/conftest.py, shared with the README test); ``MARKETWIRE_LINKING_HOME``
names another lake that holds it."""

from __future__ import annotations

import os

import pytest

from conftest import benchmark_module  # type: ignore[import-not-found]

pytestmark = pytest.mark.integration

B = benchmark_module("news_linking")


@pytest.fixture(scope="module")
def home(request: pytest.FixtureRequest) -> str:
    """``MARKETWIRE_LINKING_HOME``, else the session's `make run` lake (the reference master the README uses)."""
    given = os.environ.get("MARKETWIRE_LINKING_HOME")
    if given:
        return given
    return str(request.getfixturevalue("make_run_lake"))


def test_held_out_linking_meets_the_bar(home):
    ann, rows = B.annotator(home)
    r = B.evaluate(B.parse(B.SETS["held-out"]), ann, rows)
    assert r["unknown_keys"] == []
    assert r["stories"] >= 40
    assert r["recall"] >= B.MIN_RIGHT, r["errors"]
    assert r["spurious_share"] <= B.MAX_SPURIOUS, r["errors"]
    assert B.meets(r)
