"""Write the OpenAPI schema of the REST API to tests/e2e/openapi.json.

Run this when the API changes on purpose; tests/e2e/test_api.py fails while the snapshot differs from the app:

    .venv/bin/python tools/snapshot_openapi.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "tests" / "e2e" / "openapi.json"


def render(schema: dict[str, Any]) -> str:
    """The canonical text of a schema: sorted keys, indent 2, trailing newline."""
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def current_schema() -> dict[str, Any]:
    """The schema of an app over an empty, throw-away home (the schema does not depend on the data)."""
    sys.path.insert(0, str(ROOT / "src"))
    from marketwire.serve.api import create_app

    with tempfile.TemporaryDirectory(prefix="marketwire-openapi-") as home:
        return create_app(home).openapi()


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0]) if argv else SNAPSHOT
    text = render(current_schema())
    old = out.read_text(encoding="utf-8") if out.exists() else None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"{out}: {'unchanged' if old == text else 'written'} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
