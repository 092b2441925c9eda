"""Ticker symbol conventions of US venues, mapped onto one canonical spelling.

Canonical tickers use the CMS-like form most vendors print: class shares ``BRK.B``, preferreds ``ABR-PA``
(plain preferred ``AA-P``), warrants ``BIOA.WS`` (series ``KODK.WS.A``), units ``AAC.U``, rights ``XX.R``,
when-issued ``XX.WI``. The ACT (``ABR$A``, ``BIOA.W``), CQS (``ABRpA``, ``BIOA/WS``), Nasdaq integrated
(``ABR-A``, ``BIOA+``, ``AAC=``) and Yahoo (``ABR-PA``, ``BRK-B``) spellings are kept as aliases and all
resolve to the same listing.
"""

from __future__ import annotations

import re

_NASDAQ_SUFFIX = re.compile(r"^([A-Z0-9]+)((?:[.\-+=^#*][A-Z]?)*)$")


def from_nasdaq_integrated(sym: str) -> str:
    """Nasdaq integrated symbology (``ABR-A``, ``BIOA+``, ``KODK+A``, ``AAC=``, ``BF.B``) -> canonical."""
    sym = sym.strip().upper()
    m = _NASDAQ_SUFFIX.match(sym)
    if not m:
        return sym
    base, rest = m.group(1), m.group(2)
    out = base
    for part in re.findall(r"[.\-+=^#*][A-Z]?", rest):
        kind, series = part[0], part[1:]
        if kind == ".":
            out += f".{series}"
        elif kind == "-":
            out += f"-P{series}"
        elif kind == "+":
            out += ".WS" + (f".{series}" if series else "")
        elif kind == "=":
            out += ".U" + (f".{series}" if series else "")
        elif kind == "^":
            out += ".R" + (f".{series}" if series else "")
        elif kind == "#":
            out += ".WI" + (f".{series}" if series else "")
        elif kind == "*":
            out += ".CL" + (f".{series}" if series else "")
    return out


def from_cqs(sym: str) -> str:
    """CQS symbology (``ABRpA``, ``AAp``, ``BIOA/WS``, ``KODK/WS/A``, ``BF/B``, ``AAC.U``) -> canonical."""
    sym = sym.strip()
    m = re.match(r"^([A-Z0-9]+)p([A-Z]?)$", sym)
    if m:
        return f"{m.group(1)}-P{m.group(2)}"
    s = sym.upper().replace("/", ".")
    s = re.sub(r"\.WS\.([A-Z])$", r".WS.\1", s)
    s = re.sub(r"\.RT$", ".R", s)
    s = re.sub(r"\.WD$", ".WI", s)
    return s


def to_yahoo(canonical: str) -> str:
    """Canonical -> Yahoo spelling for US listings (``BRK-B``, ``ABR-PA``, ``BIOA-WT``, ``AAC-UN``)."""
    s = canonical
    s = re.sub(r"\.WS(?:\.([A-Z]))?$", lambda m: "-WT" + (m.group(1) or ""), s)
    s = re.sub(r"\.U$", "-UN", s)
    s = re.sub(r"\.R$", "-RI", s)
    s = s.replace(".", "-")
    return s


def variants(canonical: str, *others: str | None) -> list[str]:
    """Every distinct spelling of one ticker (canonical first)."""
    out: list[str] = []
    for s in (canonical, *others, to_yahoo(canonical)):
        if s and s not in out:
            out.append(s)
    return out
