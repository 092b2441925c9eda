"""Draw the hand-check sample of ESG links: up to 120 linked entities per source (all of them when fewer), seeded,
with what a reviewer needs to judge each (the raw name, country and identifiers the source gave, the issuer's name
and country, method, confidence). The verdicts live in benchmarks/esg_linking_checked.csv; this script writes the
draw and, with --score, the precision per source from the checked file.

    python benchmarks/esg_linking_sample.py HOME > draw.csv
    python benchmarks/esg_linking_sample.py --score benchmarks/esg_linking_checked.csv

The entities of the sealed out-of-sample set (benchmarks/esg_holdout.csv) are never drawn here: they are checked
and scored apart (benchmarks/esg_holdout.py). A link already judged in the checked file (same entity, same issuer)
keeps its verdict and note; a new or changed link is drawn with an empty verdict, to be checked by hand.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

PER_SOURCE = 120
COLUMNS = ["source", "entity_id", "raw_name", "country", "evidence_ids", "issuer_id", "issuer_name", "method",
           "confidence", "verdict", "note"]


HERE = Path(__file__).parent
#: evidence keys of the rules added after the first hand-check (legal form confirming a country, names compared
#: without spaces): links carrying one are drawn apart, at the rate of the rest
NEW_RULES = {"country_from_legal_form", "matched_without_spaces"}
#: sources with few links: every link outside the sealed set is checked
EVERY_LINK = {"eu-ets", "wa-ghg"}


def held_out() -> set[str]:
    with open(HERE / "esg_holdout.csv", encoding="utf-8") as f:
        return {r["entity_id"] for r in csv.DictReader(f)}


def judged(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as f:
        return {(r["entity_id"], r["issuer_id"]): r for r in csv.DictReader(f) if r["verdict"]}


def draw(home: str, checked: Path = HERE / "esg_linking_checked.csv") -> list[dict[str, str]]:
    import marketwire

    mw = marketwire.open(home)
    hold = held_out()
    old = judged(checked)
    links = [r for r in mw.dataset("esg_links") if r["status"] == "linked" and r["entity_id"] not in hold]
    by: dict[str, list[dict]] = defaultdict(list)
    for r in sorted(links, key=lambda r: r["entity_id"]):
        by[r["entity_id"].split(":", 1)[0]].append(r)
    out = []
    for source, rows in sorted(by.items()):
        rng = random.Random(f"esg-links-{source}")
        kept = [r for r in rows if (r["entity_id"], r["issuer_id"]) in old]
        if source in EVERY_LINK:
            pick = rows
        elif not kept:
            pick = rows if len(rows) <= PER_SOURCE else rng.sample(rows, PER_SOURCE)
        else:
            # the judged links are a uniform sample of the links the earlier rules make; the links only a later rule
            # makes (its evidence key says which) are drawn at the same rate, so the sample stays representative
            new = [r for r in rows if (r["entity_id"], r["issuer_id"]) not in old and
                   NEW_RULES & set(json.loads(r["evidence"] or "{}"))]
            rate = len(kept) / max(1, len(rows) - len(new))
            pick = kept + rng.sample(new, min(len(new), round(rate * len(new))))
        for r in sorted(pick, key=lambda r: r["entity_id"]):
            ev = json.loads(r["evidence"] or "{}")
            ids = " ".join(f"{k}={ev[k]}" for k in ("isin", "lei", "ticker") if ev.get(k))
            out.append({"source": source, "entity_id": r["entity_id"], "raw_name": r["raw_name"],
                        "country": r["country"] or "", "evidence_ids": ids, "issuer_id": r["issuer_id"],
                        "issuer_name": r["issuer_name"], "method": r["method"], "confidence": r["confidence"],
                        "verdict": old.get((r["entity_id"], r["issuer_id"]), {}).get("verdict", ""),
                        "note": old.get((r["entity_id"], r["issuer_id"]), {}).get("note", "")})
    return out


def score(path: str) -> dict[str, dict[str, float]]:
    return score_rows(list(csv.DictReader(open(path, encoding="utf-8"))))


def score_rows(rows: list[dict[str, str]]) -> dict[str, dict[str, float]]:
    """Per source: links checked (verdict right or wrong), right, and the precision."""
    res: dict[str, dict[str, float]] = {}
    for source in sorted({r["source"] for r in rows}):
        rs = [r for r in rows if r["source"] == source and r["verdict"] in ("right", "wrong")]
        right = sum(r["verdict"] == "right" for r in rs)
        res[source] = {"checked": len(rs), "right": right, "precision": round(right / len(rs), 4) if rs else 0.0}
    return res


if __name__ == "__main__":
    if sys.argv[1] == "--score":
        for s, d in score(sys.argv[2]).items():
            print(f"{s}: {d['right']}/{d['checked']} right, precision {d['precision']:.1%}")
    else:
        w = csv.DictWriter(sys.stdout, COLUMNS)
        w.writeheader()
        w.writerows(draw(sys.argv[1]))
