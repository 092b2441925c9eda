"""Source registry: built-in sources and third-party ones (entry point group ``marketwire.sources``).

Built-ins go through the same seam as outside sources. A source that fails to load is listed with its error by
``marketwire sources``; it is never silently dropped.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points

from marketwire.errors import UnknownSource
from marketwire.sources.base import Batch, Query, RawFile, Refusal, Source

BUILTIN: dict[str, str] = {
    "nasdaqtrader": "marketwire.sources.nasdaqtrader:NasdaqTrader",
    "financedatabase": "marketwire.sources.financedatabase:FinanceDatabase",
    "sec-tickers": "marketwire.sources.sec_tickers:SecTickers",
    "mic": "marketwire.sources.iso:Mic",
    "iso4217": "marketwire.sources.iso:Iso4217",
    "iso3166": "marketwire.sources.iso:Iso3166",
    "sp500-constituents": "marketwire.sources.sp500:Sp500Constituents",
    "prices-csv": "marketwire.sources.prices:PricesCsv",
    "stooq": "marketwire.sources.prices:Stooq",
    "ecb-fx": "marketwire.sources.prices:EcbFx",
    "sec-companyfacts": "marketwire.sources.sec_companyfacts:SecCompanyFacts",
    "sec-submissions": "marketwire.sources.sec_submissions:SecSubmissions",
    "sec-fsds": "marketwire.sources.sec_fsds:SecFsds",
    "xbrl-instance": "marketwire.sources.xbrl_instance:XbrlInstance",
    "estimates-fmp": "marketwire.sources.estimates_fmp:FmpEstimates",
    "estimates-iex": "marketwire.sources.estimates_fmp:IexEstimates",
    "carbon-gap": "marketwire.sources.esg_carbon_gap:CarbonGap",
    "eu-ets": "marketwire.sources.esg_eu_ets:EuEts",
    "net-zero-tracker": "marketwire.sources.esg_targets:NetZeroTracker",
    "sbti": "marketwire.sources.esg_targets:Sbti",
    "wa-ghg": "marketwire.sources.esg_wa_ghg:WaGhg",
    "esg-risk-ratings": "marketwire.sources.esg_risk_ratings:EsgRiskRatings",
}


#: sources registered at run time (plugins): name -> class or "module:attribute"
_REGISTERED: dict[str, str | type[Source]] = {}


def register(name: str, target: str | type[Source]) -> None:
    """Add a source (a plugin's); a built-in name cannot be taken over."""
    if name in BUILTIN:
        raise ValueError(f"source {name!r} is built in")
    _REGISTERED[name] = target


@dataclass(frozen=True)
class SourceInfo:
    name: str
    target: str
    dataset: str | None
    url: str | None
    description: str | None
    error: str | None


def _targets() -> dict[str, str | type[Source]]:
    targets: dict[str, str | type[Source]] = {**BUILTIN, **_REGISTERED}
    for name, value in _entry_points():
        targets.setdefault(name, value)
    return targets


@lru_cache(maxsize=1)
def _entry_points() -> tuple[tuple[str, str], ...]:
    """Sources of installed packages (group ``marketwire.sources``), read once per process."""
    try:
        return tuple((ep.name, ep.value) for ep in entry_points(group="marketwire.sources"))
    except Exception:  # pragma: no cover - broken metadata must not hide the built-ins
        return ()


def _load(target: str | type[Source]) -> type[Source]:
    if not isinstance(target, str):
        return target
    mod, _, attr = target.partition(":")
    return getattr(importlib.import_module(mod), attr)  # type: ignore[no-any-return]


def get_source(name: str) -> Source:
    targets = _targets()
    if name not in targets:
        raise UnknownSource(f"`source`: unknown source {name!r}; known: {', '.join(sorted(targets))}",
                            param="source")
    return _load(targets[name])()


def list_sources() -> list[SourceInfo]:
    out = []
    for name, target in sorted(_targets().items()):
        try:
            cls = _load(target)
            out.append(SourceInfo(name, _name(target), cls.dataset, cls.url, cls.description, None))
        except Exception as e:  # noqa: BLE001 - reported, not raised
            out.append(SourceInfo(name, _name(target), None, None, None, f"{type(e).__name__}: {e}"))
    return out


def _name(target: str | type[Source]) -> str:
    return target if isinstance(target, str) else f"{target.__module__}:{target.__qualname__}"


__all__ = ["register", "Batch", "Query", "RawFile", "Refusal", "Source", "SourceInfo", "get_source", "list_sources"]
