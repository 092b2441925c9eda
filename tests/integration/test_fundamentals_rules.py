"""The fact rules against faults injected into the real SEC facts, scored by ``benchmarks/fundamentals_rules.py``'s own
code: >= 95% of the faults caught with <= 0.5% of the clean facts flagged, on seeds the rules were not developed on."""

from __future__ import annotations

import polars as pl
import pytest
from conftest import benchmark_module

from marketwire.fundamentals import verify
from tests.conftest import shared_data

pytestmark = pytest.mark.integration

B = benchmark_module("fundamentals_rules")


@pytest.fixture(scope="module")
def facts() -> pl.DataFrame:
    if not (shared_data() / "fundamentals" / "companyfacts").is_dir():
        pytest.skip("shared fundamentals data not found (set MARKETWIRE_DATA)")
    return B.load()


@pytest.mark.parametrize("seed", [7, 11])
def test_faults_caught_and_clean_facts_left_alone(facts: pl.DataFrame, seed: int) -> None:
    clean, kinds = B.score(facts, seed)
    injected = sum(n for n, _ in kinds.values())
    caught = sum(c for _, c in kinds.values())
    assert clean <= 0.005, clean
    assert caught / injected >= 0.95, kinds
    assert all(c / n >= 0.9 for n, c in kinds.values()), kinds


def test_sign_expectations_from_the_prior_and_from_names() -> None:
    base = {"cik": [1] * 4, "taxonomy": ["us-gaap"] * 4, "unit": ["USD"] * 4, "dims": [""] * 4,
            "accession": ["a", "b", "c", "d"]}
    # PropertyPlantAndEquipmentGross: the prior (hundreds of companies, none negative) says non-negative
    f = pl.DataFrame({**base, "tag": ["PropertyPlantAndEquipmentGross"] * 4, "value": [5.0, 6.0, -7.0, 8.0]})
    assert verify._expected_sign(f.with_row_index("_i")).to_list() == [2]
    # a tag the prior does not know, named as an amount that cannot be negative: its only negative value
    f = f.with_columns(pl.lit("WidgetInventoryHeldAtDepots").alias("tag"))
    assert verify._expected_sign(f.with_row_index("_i")).to_list() == [2]
    # named as a gain or loss: either sign is fine
    f = f.with_columns(pl.lit("WidgetRevaluationGainLoss").alias("tag"))
    assert verify._expected_sign(f.with_row_index("_i")).to_list() == []
    prior = verify.sign_prior()
    assert prior.filter(pl.col("tag") == "PropertyPlantAndEquipmentGross").item(0, "prior_nonneg")
    assert not prior.filter(pl.col("tag") == "NetCashProvidedByUsedInInvestingActivities").item(0, "prior_mostly")
