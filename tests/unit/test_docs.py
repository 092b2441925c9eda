import importlib.util
import re
from pathlib import Path

import pytest

from marketwire.verify.rules import RULES

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_rules_doc_is_generated_from_the_catalogue():
    spec = importlib.util.spec_from_file_location("gen", ROOT / "tools" / "gen_rules_doc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == mod.render(), \
        "docs/rules.md is stale: run python tools/gen_rules_doc.py"


def test_every_rule_code_used_in_the_code_is_catalogued():
    used = set()
    for p in (ROOT / "src" / "marketwire").rglob("*.py"):
        used |= set(re.findall(r'Refusal\(\s*"([a-z_]+\.[a-z_]+)"', p.read_text(encoding="utf-8")))
        prefixes = "isin|cusip|figi|cik|lei|listing|index|bar|split|dividend|action|capital_gain|fx|price"
        used |= set(re.findall(rf'"((?:{prefixes})\.[a-z_]+)"', p.read_text(encoding="utf-8")))
    missing = {u for u in used if u not in RULES and not u.endswith(("_figi",))}
    assert not missing, f"rule codes used but not in the catalogue: {sorted(missing)}"
