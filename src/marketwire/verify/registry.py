"""The verifiers registered per dataset: the checks the ingest engine runs on every record of a delivery.

A verifier is ``fn(record, context) -> iterable of findings``: a :class:`~marketwire.sources.base.Refusal`
(the record goes to quarantine, or, with ``kept=True``, only the refused value does and the record is stored
without it), or a rule code (``str``: the record is stored with that flag). Rules are declared in the rule catalogue
(:mod:`marketwire.verify.rules`); a verifier only reports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from marketwire.sources.base import Refusal
from marketwire.verify.identifiers import verify_identifiers


@dataclass
class VerifyContext:
    """What a verifier may know besides the record: the source, the dataset and shared lookups (``tables``:
    reference tables a service provides, such as the known MICs)."""

    source: str
    dataset: str
    tables: dict[str, Any] = field(default_factory=dict)


Finding = Refusal | str
Verifier = Callable[[dict[str, Any], VerifyContext], Iterable[Finding]]

_VERIFIERS: dict[str, list[Verifier]] = {}


def register_verifier(dataset: str, fn: Verifier) -> None:
    """Run ``fn`` on every record of ``dataset`` that any source delivers (once per function)."""
    fns = _VERIFIERS.setdefault(dataset, [])
    if fn not in fns:
        fns.append(fn)


def verifiers_for(dataset: str) -> list[Verifier]:
    return list(_VERIFIERS.get(dataset, ()))


def _identifiers(record: dict[str, Any], ctx: VerifyContext) -> Iterable[Finding]:
    return verify_identifiers(record, ctx.source)


def _unknown_mic(record: dict[str, Any], ctx: VerifyContext) -> Iterable[Finding]:
    known = ctx.tables.get("mics")
    if known and record.get("mic") and record["mic"] not in known:
        yield "listing.unknown_mic"


register_verifier("ref_observations", _identifiers)
register_verifier("ref_observations", _unknown_mic)

__all__ = ["Finding", "VerifyContext", "Verifier", "register_verifier", "verifiers_for"]
