"""A write pays only for the verticals its datasets belong to: the engine opens the fundamentals or ESG service the
first time a delivery to one of their datasets finds no stage, and never for a news or price write."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import marketwire


def test_stages_of_a_vertical_are_registered_when_its_dataset_is_first_written(tmp_path: Path) -> None:
    mw = marketwire.open(tmp_path / "home")
    mw._for_writing()
    assert mw._fundamentals is None and mw._esg is None
    # a dataset without a vertical of its own gets the default record stage and opens nothing
    assert type(mw.engine.stage_for("listings")).__name__ == "RecordStage"
    assert mw._fundamentals is None and mw._esg is None
    assert type(mw.engine.stage_for("esg_metrics")).__name__ == "EsgStage"
    assert mw._esg is not None and mw._fundamentals is None
    assert type(mw.engine.stage_for("sec_facts")).__name__ == "FactsStage"
    assert mw._fundamentals is not None


def test_a_news_write_does_not_import_the_other_verticals(tmp_path: Path) -> None:
    # a fresh interpreter: this test process may have imported them already
    script = textwrap.dedent(f"""
        import json, sys
        import marketwire
        mw = marketwire.open({str(tmp_path / "home")!r})
        mw._for_writing()
        mw.engine.stage_for("news_articles")
        print(json.dumps(sorted(m for m in sys.modules if m.startswith(("marketwire.fundamentals",
                                                                        "marketwire.esg")))))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
