"""The US trading venues, by ISO 10383 MIC: defined here once for every module that needs them."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

#: The US venues in order of preference, for picking one listing of a US ticker among several: the primary
#: exchanges first (NYSE, Nasdaq, NYSE American), then NYSE Arca, Cboe BZX, IEX, and OTC Markets last.
US_MIC_PREFERENCE: Final[tuple[str, ...]] = ("XNYS", "XNAS", "XASE", "ARCX", "BATS", "IEXG", "OTCM")

#: Every US venue a listing of the master may sit on, OTC Markets (``OTCM``) included: the venues where a US
#: ticker is one name space (a venue-less SEC ticker attaches to a listing on any of them).
US_MICS: Final[frozenset[str]] = frozenset(US_MIC_PREFERENCE)

#: The venues a bare ticker (no venue, no suffix) prefers when it matches listings in several markets: the US
#: exchanges, without OTC Markets, in :data:`US_MIC_PREFERENCE` order.
DEFAULT_MICS: Final[tuple[str, ...]] = tuple(m for m in US_MIC_PREFERENCE if m != "OTCM")

#: MIC -> its place in :data:`US_MIC_PREFERENCE` (0 is preferred); sort with ``US_MIC_RANK.get(mic, 99)``
US_MIC_RANK: Final = MappingProxyType({m: k for k, m in enumerate(US_MIC_PREFERENCE)})
