"""The sealed out-of-sample set for ESG linking: entities to link drawn by a hash of their id (one in five), minus
every entity of the in-sample hand-check file, frozen in ``benchmarks/esg_holdout.csv`` and committed before any
later linking rule was written. The rules are not written while reading these rows; their links are checked by
hand only after the rules are fixed, and scored separately (out-of-sample) from the in-sample check.

    python benchmarks/esg_holdout.py DATA_DIR > benchmarks/esg_holdout.csv      # the draw (done once, committed)
    python benchmarks/esg_holdout.py --links HOME benchmarks/esg_holdout.csv    # their links, for the hand-check
    python benchmarks/esg_holdout.py --score benchmarks/esg_holdout_checked.csv # precision, out-of-sample
    python benchmarks/esg_holdout.py --fresh HOME > benchmarks/esg_holdout_fresh_checked.csv  # the second draw
    python benchmarks/esg_holdout.py --combined HOME                             # both checks, links still made

The second draw (``--fresh``, after the identifier rule of 2026-12-04 was committed): the set's links not yet
checked in either file, seeded, as many per source as bring its checked out-of-sample links (the first check's
links the rules still make, plus these) to FRESH_TARGET, every one where fewer exist; with the issuer's country,
names and listings for the reviewer.

The draw needs no lake: it runs each ESG source's transform over the shared files and keeps the linkable entities
(the kinds the ESG stage links: companies, account holders at the top of their chain, parents, symbols).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

SHARE = 5  # one entity in SHARE
PER_SOURCE = 60  # links checked by hand per source (all of them where a source has fewer)
FILES = {
    "carbon-gap": ["openclimate_raw/carbon_gap"],
    "eu-ets": ["eutl_installations"],
    "net-zero-tracker": ["openclimate_raw/net_zero_tracker"],
    "sbti": ["openclimate_raw/science_based_targets"],
    "wa-ghg": ["openclimate_raw/US_WA_dept_ecology_GHGRP"],
    "esg-risk-ratings": ["sp500_esg_risk_ratings_sustainalytics_2023.csv"],
}
LINKABLE = ("company", "account_holder", "parent", "symbol")
COLUMNS = ["source", "entity_id", "raw_name", "country"]
HERE = Path(__file__).parent
CHECKED = HERE / "esg_linking_checked.csv"
FIRST = Path(__file__).with_name("esg_holdout_checked.csv")
FRESH_TARGET = 100  # checked out-of-sample links per source after the second draw (all there are where fewer)


def held_out(entity_id: str) -> bool:
    return int(hashlib.sha256(entity_id.encode()).hexdigest(), 16) % SHARE == 0


def entities(data: Path) -> dict[str, dict[str, str]]:
    from marketwire.sources import get_source
    from marketwire.sources.base import Query

    out: dict[str, dict[str, str]] = {}
    for name, paths in FILES.items():
        src = get_source(name)
        q = Query(tuple(str(data / "esg" / p) for p in paths))
        for raw in src.extract(q):
            b = src.transform(q, raw)
            ents = list(b.entities) + [o for o in b.observations if o.get("kind") in LINKABLE]
            for e in ents:
                if e.get("kind") in LINKABLE or "kind" not in e:
                    out.setdefault(e["entity_id"], {"source": name, "entity_id": e["entity_id"],
                                                    "raw_name": e.get("name") or "", "country": e.get("country") or ""})
    return out


def draw(data: Path) -> list[dict[str, str]]:
    seen = {r["entity_id"] for r in csv.DictReader(open(CHECKED, encoding="utf-8"))}
    return [e for k, e in sorted(entities(data).items()) if held_out(k) and k not in seen]


def links(home: str, holdout: str) -> list[dict[str, str]]:
    import random
    from collections import defaultdict

    import marketwire

    ids = {r["entity_id"] for r in csv.DictReader(open(holdout, encoding="utf-8"))}
    mw = marketwire.open(home)
    by: dict[str, list[dict]] = defaultdict(list)
    for r in sorted(mw.dataset("esg_links"), key=lambda r: r["entity_id"]):
        if r["entity_id"] in ids and r["status"] == "linked":
            by[r["entity_id"].split(":", 1)[0]].append(r)
    picked = []
    for source, rows in sorted(by.items()):
        rng = random.Random(f"esg-holdout-{source}")
        picked += sorted(rows if len(rows) <= PER_SOURCE else rng.sample(rows, PER_SOURCE),
                         key=lambda r: r["entity_id"])
    out = []
    for r in picked:
        ev = json.loads(r["evidence"] or "{}")
        out.append({"source": r["entity_id"].split(":", 1)[0], "entity_id": r["entity_id"],
                    "raw_name": r["raw_name"], "country": r["country"] or "",
                    "evidence_ids": " ".join(f"{k}={ev[k]}" for k in ("isin", "lei", "ticker") if ev.get(k)),
                    "issuer_id": r["issuer_id"], "issuer_name": r["issuer_name"], "method": r["method"],
                    "confidence": r["confidence"], "verdict": "", "note": ""})
    return out


#: links of the first check that the rules no longer make: the identifier rule written after that check (an ISIN
#: whose holder's names agree only through the first word is not trusted alone) sends both to review; ``--combined
#: HOME`` recomputes this from a lake and says if it differs
NO_LONGER_LINKED = {"net-zero-tracker:company:COM-0214", "net-zero-tracker:company:COM-1149"}
FRESH = HERE / "esg_holdout_fresh_checked.csv"


def combined(first: Path = FIRST, second: Path = FRESH,
             dropped: set[str] = NO_LONGER_LINKED) -> dict[str, dict[str, float]]:
    """Out-of-sample precision per source over both checks: the first check's links the rules still make and the
    second draw."""
    sys.path.insert(0, str(Path(__file__).parent))
    from esg_linking_sample import score_rows

    rows = [r for r in csv.DictReader(open(first, encoding="utf-8")) if r["entity_id"] not in dropped]
    rows += list(csv.DictReader(open(second, encoding="utf-8")))
    return score_rows(rows)


def no_longer_linked(home: str) -> set[str]:
    """The first check's links (entity and issuer) that the lake's links no longer make."""
    import marketwire

    now = {r["entity_id"]: r["issuer_id"] for r in marketwire.open(home).dataset("esg_links")
           if r["status"] == "linked"}
    return {r["entity_id"] for r in csv.DictReader(open(FIRST, encoding="utf-8"))
            if now.get(r["entity_id"]) != r["issuer_id"]}


def fresh(home: str) -> list[dict[str, str]]:
    """The second draw: linked entities of the sealed set checked in neither file, up to FRESH_TARGET per source
    with the first check's links still made (same entity, same issuer)."""
    import random
    from collections import defaultdict

    import marketwire

    hold = {r["entity_id"] for r in csv.DictReader(open(HERE / "esg_holdout.csv", encoding="utf-8"))}
    first = {r["entity_id"]: r["issuer_id"] for r in csv.DictReader(open(FIRST, encoding="utf-8"))}
    seen = set(first) | {r["entity_id"] for r in csv.DictReader(open(CHECKED, encoding="utf-8"))}
    mw = marketwire.open(home)
    linker = mw.esg.linker
    issuers = linker._index()
    venues: dict[str, set[str]] = defaultdict(set)
    for r in mw.identity.company_rows():
        if r.get("ticker"):
            isin = f" {r['isin']}" if r.get("isin") else ""
            venues[r["issuer_id"]].add(f"{r['ticker']}@{r.get('mic') or '?'}{isin}")
    by: dict[str, list[dict]] = defaultdict(list)
    still: dict[str, int] = defaultdict(int)
    for r in sorted(mw.dataset("esg_links"), key=lambda r: r["entity_id"]):
        if r["entity_id"] not in hold or r["status"] != "linked":
            continue
        source = r["entity_id"].split(":", 1)[0]
        if first.get(r["entity_id"]) == r["issuer_id"]:
            still[source] += 1
        elif r["entity_id"] not in seen:
            by[source].append(r)
    out = []
    for source, rows in sorted(by.items()):
        want = max(0, FRESH_TARGET - still[source])
        rng = random.Random(f"esg-holdout-fresh-{source}")
        for r in sorted(rows if len(rows) <= want else rng.sample(rows, want), key=lambda r: r["entity_id"]):
            ev = json.loads(r["evidence"] or "{}")
            it = issuers.get(r["issuer_id"])
            out.append({"source": source, "entity_id": r["entity_id"], "raw_name": r["raw_name"],
                        "country": r["country"] or "", "sector": r.get("sector") or "",
                        "evidence_ids": " ".join(f"{k}={ev[k]}" for k in ("isin", "lei", "ticker") if ev.get(k)),
                        "issuer_id": r["issuer_id"], "issuer_name": r["issuer_name"],
                        "issuer_country": (it.country if it else "") or "",
                        "issuer_names": " | ".join(sorted(it.names)) if it else "",
                        "listings": " ".join(sorted(venues.get(r["issuer_id"], ())))[:300],
                        "method": r["method"], "confidence": r["confidence"], "verdict": "", "note": ""})
    return out


if __name__ == "__main__":
    if sys.argv[1] == "--fresh":
        rows = fresh(sys.argv[2])
        w = csv.DictWriter(sys.stdout, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    elif sys.argv[1] == "--combined":
        gone = no_longer_linked(sys.argv[2])
        if gone != NO_LONGER_LINKED:
            print(f"first-check links no longer made differ from NO_LONGER_LINKED: {sorted(gone)}")
        for s, d in combined(dropped=gone).items():
            print(f"{s}: {d['right']}/{d['checked']} right, precision {d['precision']:.1%} "
                  "(out-of-sample, both checks)")
    elif sys.argv[1] == "--links":
        rows = links(sys.argv[2], sys.argv[3])
        w = csv.DictWriter(sys.stdout, list(rows[0]) if rows else COLUMNS)
        w.writeheader()
        w.writerows(rows)
    elif sys.argv[1] == "--score":
        sys.path.insert(0, str(Path(__file__).parent))
        from esg_linking_sample import score

        for s, d in score(sys.argv[2]).items():
            print(f"{s}: {d['right']}/{d['checked']} right, precision {d['precision']:.1%} (out-of-sample)")
    else:
        w = csv.DictWriter(sys.stdout, COLUMNS)
        w.writeheader()
        w.writerows(draw(Path(sys.argv[1])))
