"""ISO 10383 market identifier codes, shipped with the package.

``iso10383_mic.csv`` beside this module holds five columns (``mic``, ``operating_mic``, ``country``, ``name``,
``status``) of the official ISO 10383 MIC list as published free of charge by the registration authority
(SWIFT, https://www.iso20022.org/market-identifier-codes), in the edition last updated on 2025-05-26 (2,767 codes,
active and expired alike: old data names expired venues too). It was derived from the full CSV of that edition
(``shared/data/securities_master/ISO10383_MIC_2025-05.csv``) with::

    python -m marketwire.refdata.mics ISO10383_MIC.csv src/marketwire/refdata/iso10383_mic.csv

The same command refreshes it from a newer edition. A lake into which a MIC list was ingested
(``marketwire ingest mic FILE``) overlays this table (see :mod:`marketwire.identity.reference`).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from marketwire.errors import ParseError

FILE = "iso10383_mic.csv"
EDITION = "2025-05-26"
COLUMNS = ("mic", "operating_mic", "country", "name", "status")
#: column of the official CSV -> column of the shipped one
_OFFICIAL = {"MIC": "mic", "OPERATING MIC": "operating_mic", "ISO COUNTRY CODE (ISO 3166)": "country",
             "MARKET NAME-INSTITUTION DESCRIPTION": "name", "STATUS": "status"}


class Mic(NamedTuple):
    mic: str
    operating_mic: str | None
    country: str | None  # ISO 3166-1 alpha-2 of the venue
    name: str | None
    status: str | None  # ACTIVE, UPDATED or EXPIRED


@lru_cache(maxsize=1)
def mics() -> Mapping[str, Mic]:
    """Every MIC of the shipped ISO 10383 list (read once, on first use)."""
    from importlib.resources import files

    text = files(__package__).joinpath(FILE).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise ParseError(f"{FILE}: line 1: the columns are {reader.fieldnames}, expected {list(COLUMNS)}",
                         file=FILE, line=1)
    return MappingProxyType({r["mic"]: Mic(*(r[c] or None for c in COLUMNS)) for r in reader})  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def mic_countries() -> Mapping[str, str]:
    """MIC -> ISO 3166-1 alpha-2 country of the venue (``XETR`` -> ``DE``)."""
    return MappingProxyType({m: r.country for m, r in mics().items() if r.country})


def compact(source: str, dest: str) -> int:
    """Write the shipped CSV from an official ISO 10383 CSV; returns the number of codes written."""
    with open(source, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _OFFICIAL if c not in (reader.fieldnames or ())]
        if missing:
            raise ParseError(f"{source}: line 1: missing columns {missing}", file=source, line=1)
        rows = {}
        for r in reader:
            mic = (r["MIC"] or "").strip().upper()
            if len(mic) == 4 and mic.isalnum():
                rows[mic] = {out: (r[col] or "").strip() for col, out in _OFFICIAL.items()} | {"mic": mic}
    with open(dest, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows[m] for m in sorted(rows))
    return len(rows)


if __name__ == "__main__":  # pragma: no cover - the refresh command of the docstring
    print(compact(sys.argv[1], sys.argv[2]), "codes written")
