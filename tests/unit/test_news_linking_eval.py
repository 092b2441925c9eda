"""The company-linking evaluation (benchmarks/news_linking.py): its parser, its scoring and its thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import benchmark_module  # type: ignore[import-not-found]

pytestmark = pytest.mark.unit

B = benchmark_module("news_linking")


def test_thresholds_are_those_the_issue_asks_for():
    assert (B.MIN_RIGHT, B.MAX_SPURIOUS) == (0.90, 0.02)


@pytest.mark.parametrize("right,spurious,links,ok", [
    (136, 0, 136, False),   # 89.5% right: one mention short
    (137, 0, 137, True),    # 90.1%
    (150, 3, 150, True),    # 2.0% spurious: at the bar
    (150, 4, 150, False),   # 2.7%
])
def test_threshold_borderlines(right, spurious, links, ok):
    r = {"mentions": 152, "recall": right / 152, "spurious_share": spurious / links}
    assert B.meets(r) is ok


def test_sets_parse_with_offsets_into_title_and_body(tmp_path: Path):
    f = tmp_path / "s.txt"
    f.write_text("# c\n=== a fr\n[[Sanofi|SAN@XPAR]] monte\nLe titre [[Sanofi|SAN@XPAR]] gagne.\n", encoding="utf-8")
    (st,) = B.parse(f)
    text = f"{st.title}\n\n{st.body}"
    assert st.lang == "fr" and st.title == "Sanofi monte" and st.body == "Le titre Sanofi gagne."
    assert [(text[a:b], k) for a, b, k in st.gold] == [("Sanofi", "SAN@XPAR"), ("Sanofi", "SAN@XPAR")]
    for name in ("dev", "held-out"):
        stories = B.parse(B.SETS[name])
        assert all(s.gold or not s.gold for s in stories) and len({s.lang for s in stories}) == 3
    assert len(B.parse(B.SETS["held-out"])) >= 40


class _Fake:
    def __init__(self, out):
        self.out = out

    def annotate(self, title, body, lang):
        return self.out


def test_scoring_right_wrong_missed_spurious(tmp_path: Path):
    f = tmp_path / "s.txt"
    f.write_text("=== a en\nTitle\n[[Shell|SHEL@XLON]] and [[BP|BP@XLON]] rose; next week.\n", encoding="utf-8")
    stories = B.parse(f)
    rows = [{"issuer_id": "I1", "listing_id": "L1", "security_id": "S1", "ticker": "SHEL", "mic": "XLON"},
            {"issuer_id": "I2", "listing_id": "L2", "security_id": "S2", "ticker": "BP", "mic": "XLON"}]
    text = "Title\n\nShell and BP rose; next week."
    s, n = text.index("Shell"), text.index("next")
    ents = [{"spans": [[s, s + 5]], "link": {"kind": "listing", "id": "L1", "name": "Shell"}},
            {"spans": [[n, n + 4]], "link": {"kind": "issuer", "id": "I9", "name": "Next"}}]
    r = B.evaluate(stories, _Fake(ents), rows)
    assert (r["mentions"], r["right"], r["wrong"], r["missed"], r["links"], r["spurious"]) == (2, 1, 0, 1, 2, 1)
    ents[0]["link"]["id"] = "L2"  # the Shell mention linked to BP's listing: the wrong issuer
    r = B.evaluate(stories, _Fake(ents), rows)
    assert (r["right"], r["wrong"]) == (0, 1)
