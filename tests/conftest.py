from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    return Path(os.environ.get("MARKETWIRE_DATA", ROOT.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def securities_master() -> Path:
    p = shared_data() / "securities_master"
    if not p.is_dir():
        pytest.skip(f"shared data not found at {p} (set MARKETWIRE_DATA to the folder holding securities_master/)")
    return p
