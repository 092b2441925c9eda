#!/usr/bin/env bash
# The mutants named in issue 16, each applied to a throw-away copy of src/ and run against the test that must
# catch it; prints KILLED (the test fails, as it must) or SURVIVED. Run from the repository root:
#   bash benchmarks/named_mutants.sh            (PY=path/to/python and MARKETWIRE_DATA as for the tests)
set -u
PY=${PY:-.venv/bin/python}
DATA=${MARKETWIRE_DATA:-../shared/data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() {  # name file python-expression-old python-expression-new test
    rm -rf "$tmp/src" && cp -r src "$tmp/src"
    "$PY" - "$tmp/src/marketwire/$2" "$3" "$4" <<'PYEOF'
import sys
from pathlib import Path
p, old, new = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
s = p.read_text()
assert s.count(old) == 1, f"{old!r} not found once in {p}"
p.write_text(s.replace(old, new))
PYEOF
    env PYTHONPATH="$tmp/src" MARKETWIRE_DATA="$DATA" PYTHONDONTWRITEBYTECODE=1 "$PY" -m pytest -x -q \
        -p no:cacheprovider -p no:randomly "$5" >"$tmp/log" 2>&1
    case $? in  # pytest: 1 = a test failed; anything else but 0 is not a kill (collection error, no data...)
        0) echo "SURVIVED  $1  ($5)"; status=1 ;;
        1) echo "KILLED    $1  ($5): $(grep -m1 -E '^E ' "$tmp/log" | cut -c1-100)" ;;
        *) echo "ERROR     $1  ($5)"; tail -5 "$tmp/log"; status=1 ;;
    esac
}
status=0
check "unit-jump level from the first row" prices/verify.py 'pl.col("_lvl").mode().first().over(S)' \
    'pl.col("_lvl").first().over(S)' \
    tests/unit/test_price_rule_boundaries.py::test_unit_jump_takes_the_common_level_even_when_the_series_starts_in_the_wrong_unit
check "spike at 12 sigma" prices/verify.py 'SPIKE_SIGMAS = 6.0' 'SPIKE_SIGMAS = 12.0' \
    tests/unit/test_price_rule_boundaries.py::test_spike_flagged_above_six_sigma_and_not_below
for j in 0.10 0.05; do
    check "Jaccard $j" news/dedup.py 'JACCARD_THRESHOLD = 0.25' "JACCARD_THRESHOLD = $j" \
        tests/unit/test_news_lang_dedup.py::test_reports_sharing_only_a_lead_stay_apart_below_the_jaccard_threshold
done
check "Jaccard 0.60" news/dedup.py 'JACCARD_THRESHOLD = 0.25' 'JACCARD_THRESHOLD = 0.60' \
    tests/unit/test_news_lang_dedup.py::test_short_items_link_by_jaccard_alone_between_the_thresholds
exit $status
