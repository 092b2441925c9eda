"""A mention found in an article's text (:class:`Span`) and the link it carries (:func:`link`).

Shared by the entity stage (:mod:`marketwire.news.entities`) and the company gazetteer
(:mod:`marketwire.news.gazetteer.companies`), which both build spans; it imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Span:
    start: int
    end: int
    type: str
    source: str                      # model | product | gazetteer | company | demonym
    link: dict[str, Any] | None = None
    key: tuple[str, ...] | None = None  # what groups mentions into one entity

    def overlaps(self, o: Span) -> bool:
        return self.start < o.end and o.start < self.end

    def contains(self, o: Span) -> bool:
        return self.start <= o.start and o.end <= self.end and (self.end - self.start) > (o.end - o.start)


def link(kind: str, id: str, name: str, confidence: float, method: str, evidence: str) -> dict[str, Any]:
    """A link of a mention to a country, a person or an entity of the securities master."""
    return {"kind": kind, "id": id, "name": name, "confidence": round(confidence, 2), "method": method,
            "evidence": [evidence]}


__all__ = ["Span", "link"]
