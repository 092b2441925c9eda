"""Oversized news input, one test per case: a 50 MB page and a text of a million words are refused as
``news.too_large`` with a clear reason, nothing stored; the text cap has a test on each side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import marketwire.news.articles as articles
from marketwire.cli import main

pytestmark = pytest.mark.unit


def cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args])


def added(home: Path, *paths: Path) -> list[dict[str, Any]]:
    r = cli(home, "news", "add", *map(str, paths), "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def refusals(home: Path) -> dict[str, dict[str, Any]]:
    r = cli(home, "quarantine", "--dataset", "news_articles", "--format", "json")
    return {Path(x["file"]).name: x for x in json.loads(r.stdout)}


def test_a_50mb_page_is_refused_as_too_large(tmp_path: Path) -> None:
    page = tmp_path / "big.html"
    page.write_bytes(b"<html><head><title>Big</title></head><body>" + b"<p>word word word</p>" * 2_500_000
                     + b"</body></html>")
    assert page.stat().st_size > 50_000_000
    [row] = added(tmp_path / "home", page)
    assert row["status"] == "quarantined" and row["article_id"] is None
    q = refusals(tmp_path / "home")["big.html"]
    assert q["rule"] == "news.too_large" and "over the 20,000,000 cap" in q["message"]


def test_a_million_word_text_is_refused_as_too_large(tmp_path: Path) -> None:
    text = tmp_path / "words.txt"
    text.write_text("A title line\n" + " ".join(["market"] * 1_000_000), encoding="utf-8")
    [row] = added(tmp_path / "home", text)
    assert row["status"] == "quarantined"
    q = refusals(tmp_path / "home")["words.txt"]
    assert q["rule"] == "news.too_large" and "over the 500,000 cap" in q["message"]


def test_text_cap_on_each_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(articles, "MAX_BODY_CHARS", 200)
    body = "Die Zentralbank hat die Zinsen unverändert gelassen und erwartet eine ruhige Entwicklung. "
    at = tmp_path / "at.txt"
    over = tmp_path / "over.txt"
    at.write_text("Zinsen\n" + (body * 3)[:200], encoding="utf-8")
    over.write_text("Zinsen\n" + (body * 3)[:201], encoding="utf-8")
    rows = added(tmp_path / "home", at, over)
    assert [r["status"] for r in rows] == ["new", "quarantined"]
    assert set(refusals(tmp_path / "home")) == {"over.txt"}
