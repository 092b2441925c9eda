"""The linking precision the docs state, scored from the hand-checked files with the benchmark's own code: the
in-sample check (benchmarks/esg_linking_checked.csv) and the sealed out-of-sample set checked after the rules were
fixed, twice (benchmarks/esg_holdout_checked.csv, then a second draw of its unchecked links after the identifier
rule: benchmarks/esg_holdout_fresh_checked.csv). Fails when a source drops below the bar or a sample shrinks."""

from __future__ import annotations

import csv
from pathlib import Path

from conftest import benchmark_module  # type: ignore[import-not-found]

B = benchmark_module("esg_linking_sample")
H = benchmark_module("esg_holdout")
ROOT = Path(__file__).resolve().parents[2]
CHECKED = ROOT / "benchmarks" / "esg_linking_checked.csv"
HOLDOUT = ROOT / "benchmarks" / "esg_holdout_checked.csv"
FRESH = ROOT / "benchmarks" / "esg_holdout_fresh_checked.csv"


def test_in_sample_precision_per_source():
    res = B.score(str(CHECKED))
    assert set(res) == {"carbon-gap", "eu-ets", "net-zero-tracker", "sbti", "wa-ghg", "esg-risk-ratings"}
    for source, d in res.items():
        assert d["precision"] >= 0.97, (source, d)
        # at least 100 checked links per source, except where a source has fewer links in all (WA)
        assert d["checked"] >= 100 or source == "wa-ghg", (source, d)


def test_every_checked_link_has_a_verdict_and_no_holdout_entity_is_in_sample():
    rows = list(csv.DictReader(open(CHECKED, encoding="utf-8")))
    assert all(r["verdict"] in ("right", "wrong") for r in rows)
    hold = {r["entity_id"] for r in csv.DictReader(open(ROOT / "benchmarks" / "esg_holdout.csv", encoding="utf-8"))}
    assert not hold & {r["entity_id"] for r in rows}
    out = {r["entity_id"] for r in csv.DictReader(open(HOLDOUT, encoding="utf-8"))}
    assert out <= hold


def test_out_of_sample_precision_is_reported():
    res = B.score(str(HOLDOUT))
    checked = sum(d["checked"] for d in res.values())
    right = sum(d["right"] for d in res.values())
    assert checked >= 200 and right / checked >= 0.97, res  # pooled out-of-sample (208 of 212 when written)
    for source, d in res.items():
        assert d["precision"] >= 0.95, (source, d)  # net-zero-tracker 58 of 60 (96.7%) when written


def test_the_second_draw_is_of_sealed_links_checked_nowhere_before():
    rows = list(csv.DictReader(open(FRESH, encoding="utf-8")))
    assert rows and all(r["verdict"] in ("right", "wrong") for r in rows)
    hold = {r["entity_id"] for r in csv.DictReader(open(ROOT / "benchmarks" / "esg_holdout.csv", encoding="utf-8"))}
    seen = {r["entity_id"] for p in (CHECKED, HOLDOUT) for r in csv.DictReader(open(p, encoding="utf-8"))}
    ids = [r["entity_id"] for r in rows]
    assert len(ids) == len(set(ids)) and set(ids) <= hold and not set(ids) & seen
    res = B.score(str(FRESH))
    assert {s: (d["right"], d["checked"]) for s, d in res.items()} == {
        "esg-risk-ratings": (25, 25), "net-zero-tracker": (42, 42), "sbti": (38, 40)}
    right, checked = sum(d["right"] for d in res.values()), sum(d["checked"] for d in res.values())
    assert right / checked >= 0.97  # 105 of 107 (98.1%) when written


def test_out_of_sample_precision_over_both_checks_meets_the_bar_per_source():
    res = H.combined(HOLDOUT, FRESH, H.NO_LONGER_LINKED)
    assert set(res) == {"carbon-gap", "eu-ets", "net-zero-tracker", "sbti", "wa-ghg", "esg-risk-ratings"}
    for source, d in res.items():
        assert d["precision"] >= 0.97, (source, d)  # sbti 97 of 100 when written: the lowest
    # 100 checked links per source where the sealed set has that many; every link of it where it has fewer
    # (carbon-gap 7, eu-ets 24, wa-ghg 1, the risk ratings 85)
    assert {s: d["checked"] for s, d in res.items()} == {"carbon-gap": 7, "eu-ets": 24, "net-zero-tracker": 100,
                                                         "sbti": 100, "wa-ghg": 1, "esg-risk-ratings": 85}
