"""The README runs as written: every command of its console blocks, run in order in one shell from the root of a
sandbox laid out like a fresh clone with the shared data beside it, prints what the README shows; its python
blocks run without an error. The lake is the one `make run` builds (tools/load_reference.sh), built once per
session (a few minutes); set MARKETWIRE_README_LAKE to a lake built the same way to skip the build.

After a change of output, `python tools/readme.py --update` rewrites what the README shows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import shared_data  # type: ignore[import-not-found]

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _tool() -> Any:
    spec = importlib.util.spec_from_file_location("readme_tool", ROOT / "tools" / "readme.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


readme = _tool()


@pytest.fixture(scope="session")
def blocks(tmp_path_factory: pytest.TempPathFactory, make_run_lake: Path) -> list[Any]:
    # a copy of the session's `make run` lake: the examples ingest into it
    repo = readme.sandbox(tmp_path_factory.mktemp("readme"), shared_data(), make_run_lake)
    found = readme.parse(readme.README.read_text(encoding="utf-8"))
    readme.run(found, repo)
    return found


def test_the_readme_has_examples_to_run() -> None:
    found = readme.parse(readme.README.read_text(encoding="utf-8"))
    steps = [s for b in found if b.lang == "console" for s in b.steps]
    assert len(steps) >= 15 and any(b.lang == "python" for b in found)
    # every command shows what it prints (an example without output proves nothing)
    assert all(s.shown for s in steps if not s.command.startswith(("export ", "cd "))), \
        [s.command for s in steps if not s.shown]


def test_every_console_example_prints_what_the_readme_shows(blocks: list[Any]) -> None:
    diffs = readme.differences(blocks)
    assert not diffs, "\n\n".join(diffs) + "\n\nrun `python tools/readme.py --update` if the new output is right"


def test_parser_and_normalisation() -> None:
    text = ("x\n```console\n$ echo a \\\n  b\na b\n$ date -u +%FT%T\n2024-01-02T03:04:05\n```\n"
            "```python\nprint(1)\n```\n")
    [console, python] = readme.parse(text)
    assert [(s.command, s.shown) for s in console.steps] == [("echo a \\\n  b", ["a b"]),
                                                              ("date -u +%FT%T", ["2024-01-02T03:04:05"])]
    assert python.code == "print(1)\n"
    assert readme.normalise(["took 1.25 s at 2026-12-03T12:00:01.5+00:00  ", ""]) == ["took <duration> at <time>"]
    console.steps[0].actual, console.steps[1].actual = ["a b"], ["2030-01-01T00:00:00"]
    assert readme.differences([console]) == []
    console.steps[0].actual = ["a  b"]
    assert len(readme.differences([console])) == 1
    assert readme.updated(text, [console, python]).split("\n")[2:5] == ["$ echo a \\", "  b", "a  b"]
