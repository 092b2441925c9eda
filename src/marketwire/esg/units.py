"""Units of ESG values, on ``pint``: exact conversions between g, kg, t, kt, Mt and Gt of CO2 equivalent; a unit
the library does not know is flagged (``esg.unknown_unit``) and never converted.

Conversions are done with :class:`fractions.Fraction` factors from pint's definitions, so that kt -> t -> kt
gives back the same number (1 kt = 1000 t exactly; no binary-float drift in the factor).
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache
from typing import Any

#: the unit every emissions metric is stored in
CANONICAL_EMISSIONS = "t CO2e"

_DEFS = """
tonne_co2e = [co2e_mass] = tCO2e
kilotonne_co2e = 1000 * tonne_co2e = ktCO2e
megatonne_co2e = 1000000 * tonne_co2e = MtCO2e
gigatonne_co2e = 1000000000 * tonne_co2e = GtCO2e
kilogram_co2e = tonne_co2e / 1000 = kgCO2e
gram_co2e = tonne_co2e / 1000000 = gCO2e
allowance = [allowance]
"""

#: spellings found in sources -> the pint unit name
_ALIASES = {
    "tco2e": "tonne_co2e", "tco2": "tonne_co2e", "tonsco2e": "tonne_co2e", "tonnesco2e": "tonne_co2e",
    "tonneco2e": "tonne_co2e", "metrictonsco2e": "tonne_co2e", "mtco2e(metrictons)": "tonne_co2e",
    "tonsco₂e": "tonne_co2e", "t": "tonne_co2e",
    "ktco2e": "kilotonne_co2e", "kilotonnesco2e": "kilotonne_co2e", "kt": "kilotonne_co2e",
    "mtco2e": "megatonne_co2e", "megatonnesco2e": "megatonne_co2e", "milliontco2e": "megatonne_co2e",
    "gtco2e": "gigatonne_co2e", "kgco2e": "kilogram_co2e", "gco2e": "gram_co2e",
    "allowance": "allowance", "allowances": "allowance", "eua": "allowance",
}

#: what the stored unit of each canonical pint unit is written as
_WRITTEN = {"tonne_co2e": "t CO2e", "kilotonne_co2e": "kt CO2e", "megatonne_co2e": "Mt CO2e",
            "gigatonne_co2e": "Gt CO2e", "kilogram_co2e": "kg CO2e", "gram_co2e": "g CO2e", "allowance": "allowance"}

#: non-physical units the catalogue uses (no conversion)
PLAIN_UNITS = {"year", "percent", "score", "USD", "EUR", "GBP", ""}


class UnknownUnit(ValueError):
    """A unit the library does not know: the value is flagged, not converted."""


@lru_cache(maxsize=1)
def registry() -> Any:
    import pint

    ureg = pint.UnitRegistry(non_int_type=Fraction)
    for line in _DEFS.strip().splitlines():
        ureg.define(line)
    return ureg


def _key(unit: str) -> str:
    return re.sub(r"[\s_\-]+", "", unit.strip().lower()).replace("₂", "2")


def canonical(unit: str | None) -> str:
    """The pint unit name of ``unit`` as a source writes it (``kt CO2e``, ``tCO2e``, ``tons CO₂e``, ``MTCO2e``...).

    Note ``MTCO2e`` (upper-case M and T) is how US agencies write *metric tons* CO2e; it is read as tonnes
    when the source says so (``metric=True`` in :func:`parse_unit`), otherwise as megatonnes."""
    if unit is None or not unit.strip():
        raise UnknownUnit("no unit given")
    k = _key(unit)
    if k in _ALIASES:
        return _ALIASES[k]
    raise UnknownUnit(f"unknown unit {unit!r}")


def written(unit: str) -> str:
    """How a unit is stored: ``t CO2e``, ``kt CO2e``, ``Mt CO2e`` ..."""
    return _WRITTEN[canonical(unit)]


@lru_cache(maxsize=256)
def factor(from_unit: str, to_unit: str) -> Fraction:
    """The exact factor from ``from_unit`` to ``to_unit`` (both known, same dimension), as a fraction."""
    ureg = registry()
    a, b = ureg.Unit(canonical(from_unit)), ureg.Unit(canonical(to_unit))
    q = ureg.Quantity(Fraction(1), a).to(b)
    return Fraction(q.magnitude)


def convert(value: float | int | str | Fraction, from_unit: str, to_unit: str = CANONICAL_EMISSIONS) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit``: exact decimal arithmetic (the value is read as the
    decimal it prints as), rounded once to the nearest float. Unknown units raise :class:`UnknownUnit`."""
    f = factor(from_unit, to_unit)
    v = Fraction(str(value)) if not isinstance(value, Fraction) else value
    return float(v * f)


@lru_cache(maxsize=1024)
def is_known(unit: str | None) -> bool:
    if unit is not None and unit in PLAIN_UNITS:
        return True
    try:
        canonical(unit)
        return True
    except UnknownUnit:
        return False


__all__ = ["CANONICAL_EMISSIONS", "PLAIN_UNITS", "UnknownUnit", "canonical", "convert", "factor", "is_known",
           "registry", "written"]
