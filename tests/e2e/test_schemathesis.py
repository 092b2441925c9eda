"""schemathesis against the app (in process, over ASGI) on a small real lake: every operation of the OpenAPI
schema, every built-in check (server errors, status codes, content types, response schemas and headers, negative
data rejected, positive data accepted ...), at least 5,000 generated cases in all and no failure.

``MARKETWIRE_SCHEMATHESIS_EXAMPLES`` sets the examples per operation; by default they are spread so that the run
makes just over 5,000 cases however many operations the API has (the time stays the same as routes are added;
docs/bounds.md has the measured time)."""

from __future__ import annotations

import os
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402

from marketwire.serve.api import create_app  # noqa: E402
from marketwire.serve.facade import Marketwire  # noqa: E402

pytestmark = pytest.mark.e2e

MIN_CASES = 5000
CASES: dict[str, int] = {}

NASDAQ = "Symbol,Company Name\nAAPL,Apple Inc.\nMSFT,Microsoft Corporation\nMSFT,Microsoft Corporation\n"
BARS = "Date,Open,High,Low,Close,Volume,OpenInt\n" + "".join(
    f"2017-01-{d:02d},{10 + d / 10},{11 + d / 10},{9 + d / 10},{10.5 + d / 10},{100 * d},0\n"
    for d in (3, 4, 5, 6, 9, 10)) + "2017-01-11,1,1,1,inf,1,0\n"


def _home() -> Path:
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="mw-schemathesis-"))
    (root / "nasdaqlisted.csv").write_text(NASDAQ, encoding="utf-8")
    (root / "aapl.us.txt").write_text(BARS, encoding="utf-8")
    mw = Marketwire(root / "home")
    mw.ingest("nasdaqtrader", [str(root / "nasdaqlisted.csv")], as_of=date(2015, 1, 10))
    mw.ingest("prices-csv", [str(root / "aapl.us.txt")], preset="kaggle")
    return root / "home"


#: Schema-valid requests that a rule across parameters refuses with 400, which a schema cannot state: `since`
#: after `until` (news, stories), `start` after `end` (prices, fx), an identifier whose format or check digit is
#: wrong (`isin:0`; resolve and the routes that resolve an id: securities, listings, prices, actions, quality,
#: fundamentals, estimates, the realtime last/ticks/bars, ESG metrics,
#: disagreements, and the news `listing` filter). For these
#: operations only, 400 also counts as an answer to valid data; every other check stays as it is. A page posted to
#: `POST /v1/news` can be well-formed and still hold no article (an empty body, a page of navigation): that is the
#: verification refusal 422 (rule news.no_text), as for a file given to `news add`.
CONFIG = """
[[operations]]
include-path-regex = "^/v1/news$"
checks.positive_data_acceptance.expected-statuses = [200, 201, 400, 404, 409, 413, 422]
checks.negative_data_rejection.expected-statuses = [400, 401, 403, 404, 406, 413, 422, 428]

[[operations]]
include-path-regex = "^/v1/(news|stories|prices|fx|resolve|securities|listings|actions|quality|disagreements)"
checks.positive_data_acceptance.expected-statuses = [200, 400, 404, 409]

[[operations]]
include-path-regex = "^/v1/(fundamentals|estimates|last|ticks|bars|esg)/"
checks.positive_data_acceptance.expected-statuses = [200, 400, 404, 409]
"""

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    APP = create_app(_home())
    APP.state.marketwire.news.list(limit=1)  # the news service loads its models once, before the clock runs
    schema = schemathesis.openapi.from_asgi("/openapi.json", APP,
                                            config=schemathesis.config.SchemathesisConfig.from_str(CONFIG))
#: examples per operation: enough for 5,000 cases in all (5% over, as a margin for operations hypothesis exhausts
#: early), however many operations the API has; $MARKETWIRE_SCHEMATHESIS_EXAMPLES sets it for a longer run
EXAMPLES = int(os.environ.get("MARKETWIRE_SCHEMATHESIS_EXAMPLES", "0")) or max(100, -(-MIN_CASES * 21 // 20 // len(schema)))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_holds_every_check(case: Any) -> None:
    CASES[case.operation.label] = CASES.get(case.operation.label, 0) + 1
    case.call_and_validate()


def test_enough_cases_ran() -> None:
    """Runs after the generated tests (pytest keeps file order): the run above made at least 5,000 requests."""
    if not CASES:
        pytest.skip("the schemathesis tests did not run (deselected)")
    total = sum(CASES.values())
    print(f"schemathesis: {total} cases over {len(CASES)} operations: {CASES}")
    assert total >= MIN_CASES or "MARKETWIRE_SCHEMATHESIS_EXAMPLES" in os.environ, \
        f"{total} cases over {len(CASES)} operations: {CASES}"
