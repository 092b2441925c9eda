"""Canonical datasets: columns, keys, time semantics and descriptions, declared once as data."""

from marketwire.datasets.base import COMMON_FIELDS, WRITE_MODES, Dataset
from marketwire.datasets.fundamentals import FUNDAMENTALS_DATASETS
from marketwire.datasets.esg import ESG_DATASETS
from marketwire.datasets.news import NEWS_DATASETS
from marketwire.datasets.prices import PRICE_DATASETS
from marketwire.datasets.reference import REFERENCE_DATASETS
from marketwire.datasets.stream import STREAM_DATASETS
from marketwire.errors import InvalidInput

ALL_DATASETS = REFERENCE_DATASETS + PRICE_DATASETS + NEWS_DATASETS + FUNDAMENTALS_DATASETS + STREAM_DATASETS + ESG_DATASETS
#: datasets added at run time (plugins)
_REGISTERED: dict[str, Dataset] = {}

__all__ = ["COMMON_FIELDS", "WRITE_MODES", "Dataset", "REFERENCE_DATASETS", "PRICE_DATASETS", "NEWS_DATASETS",
           "FUNDAMENTALS_DATASETS", "STREAM_DATASETS", "ESG_DATASETS", "ALL_DATASETS", "all_datasets", "get", "register"]


def register(ds: Dataset) -> None:
    """Add a dataset (a plugin's). A name already declared differently is an error."""
    current = {d.name: d for d in ALL_DATASETS}.get(ds.name) or _REGISTERED.get(ds.name)
    if current is not None and current != ds:
        raise ValueError(f"dataset {ds.name} is already declared")
    _REGISTERED[ds.name] = ds


def all_datasets() -> tuple[Dataset, ...]:
    return ALL_DATASETS + tuple(_REGISTERED.values())


def get(name: str) -> Dataset:
    for ds in all_datasets():
        if ds.name == name:
            return ds
    raise InvalidInput(f"`dataset`: unknown dataset {name!r}; known: {', '.join(d.name for d in all_datasets())}",
                       param="dataset")
