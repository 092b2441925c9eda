"""Identifier checks with python-stdnum: format and check digit, before anything is stored.

A bad identifier value is quarantined (rule, field, raw value, raw record); the record itself is kept without
that value and carries the rule code in ``flags`` - it is never silently repaired.
"""

from __future__ import annotations

import re
from typing import Any

from stdnum import cusip, figi, isin, lei
from stdnum.exceptions import InvalidChecksum, ValidationError

from marketwire.sources.base import Refusal

_CHECKS = (
    ("isin", "isin", isin),
    ("cusip", "cusip", cusip),
    ("figi", "figi", figi),
    ("composite_figi", "figi", figi),
    ("shareclass_figi", "figi", figi),
    ("lei", "lei", lei),
)


def check(scheme: str, value: str) -> str | None:
    """The rule code a value breaks, or ``None`` when it is valid."""
    mod = {"isin": isin, "cusip": cusip, "figi": figi, "lei": lei}.get(scheme)
    if scheme == "cik":
        return None if re.fullmatch(r"\d{1,10}", value) else "cik.format"
    if mod is None:
        return None
    try:
        mod.validate(value)
    except InvalidChecksum:
        return f"{scheme}.check_digit"
    except ValidationError:
        return f"{scheme}.format"
    return None


def verify_identifiers(rec: dict[str, Any], source: str) -> list[Refusal]:
    out: list[Refusal] = []
    for field, scheme, mod in _CHECKS:
        value = rec.get(field)
        if not value:
            continue
        value = str(value).strip().upper()
        code = check(scheme, value)
        if code is None:
            rec[field] = mod.compact(value)
            continue
        rec[field] = None
        rec["flags"] = sorted(set(rec.get("flags") or []) | {code})
        out.append(Refusal(code, f"{field} {value!r} fails the {scheme.upper()} {code.split('.')[1].replace('_', ' ')}",
                           rec.get("file"), rec.get("line"),
                           {k: v for k, v in rec.items() if k not in ("file", "line", "aliases")},
                           field=field, value=value, kept=True))
    return out
