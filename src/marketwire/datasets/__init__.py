"""Canonical datasets: columns, keys, time semantics and descriptions, declared once as data."""

from marketwire.datasets.base import COMMON_FIELDS, Dataset
from marketwire.datasets.news import NEWS_DATASETS
from marketwire.datasets.prices import PRICE_DATASETS
from marketwire.datasets.reference import REFERENCE_DATASETS

ALL_DATASETS = REFERENCE_DATASETS + PRICE_DATASETS + NEWS_DATASETS

__all__ = ["COMMON_FIELDS", "Dataset", "REFERENCE_DATASETS", "PRICE_DATASETS", "NEWS_DATASETS", "ALL_DATASETS", "get"]


def get(name: str) -> Dataset:
    from marketwire.errors import InvalidInput

    for ds in ALL_DATASETS:
        if ds.name == name:
            return ds
    raise InvalidInput(f"`dataset`: unknown dataset {name!r}", param="dataset")
