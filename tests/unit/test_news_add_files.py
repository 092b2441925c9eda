"""`news add`: folders read recursively with refusals named, text paragraphs kept, help that says what each
subcommand does."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from marketwire.cli import main
from marketwire.errors import InvalidInput, SourceError
from marketwire.news.articles import ArticleStore, Page, _paragraphs, expand_targets
from marketwire.store import Lake

pytestmark = pytest.mark.unit


def test_a_folder_gives_its_pages_and_text_files_and_names_the_rest(tmp_path: Path):
    d = tmp_path / "wire"
    (d / "fr" / "2025").mkdir(parents=True)
    (d / ".git").mkdir()
    (d / "b.txt").write_text("Titre\nTexte.", encoding="utf-8")
    (d / "fr" / "2025" / "a.html").write_text("<html><p>x</p></html>", encoding="utf-8")
    (d / "fr" / "c.md").write_text("T\nx", encoding="utf-8")
    (d / "photo.png").write_bytes(b"\x89PNG")
    (d / "notes").write_text("no suffix", encoding="utf-8")
    (d / ".git" / "HEAD").write_text("ref", encoding="utf-8")
    (d / ".hidden.txt").write_text("T\nx", encoding="utf-8")
    files, skipped = expand_targets([str(d)])
    assert [p.relative_to(d).as_posix() for p in files] == ["b.txt", "fr/2025/a.html", "fr/c.md"]
    assert sorted(Path(a.url).name for _, a in skipped) == ["notes", "photo.png"]
    assert all(a.status == "skipped" and a.article_id is None and "not a page or text file" in a.reason
               for _, a in skipped)
    # a file given by name is read whatever its suffix; given twice, once
    files, skipped = expand_targets([str(d / "notes"), str(d / "notes")])
    assert files == [d / "notes"] and skipped == []


def test_bad_targets_are_refused_by_name(tmp_path: Path):
    with pytest.raises(InvalidInput, match="URL"):
        expand_targets(["https://example.com/a.html"])
    with pytest.raises(SourceError, match="no such file"):
        expand_targets([str(tmp_path / "missing.txt")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="no file"):
        expand_targets([str(tmp_path / "empty")])


@pytest.mark.parametrize("text,want", [
    ("One.\nTwo.\nThree.", "One.\n\nTwo.\n\nThree."),                          # no blank line: a line is a paragraph
    ("One starts\nand wraps.\n\nTwo.", "One starts and wraps.\n\nTwo."),          # blank lines: blocks are paragraphs
    ("Intro.\n\n- a\n- b\n\n\n\nEnd.", "Intro.\n\n- a\n- b\n\nEnd."),           # a list stays line by line
    ("  \n\nOnly.\n", "Only."),
])
def test_text_paragraphs(text, want):
    assert _paragraphs(text) == want


def test_a_text_file_keeps_its_paragraphs_to_the_stored_body(tmp_path: Path):
    store = ArticleStore(Lake(str(tmp_path / "lake")))
    rec = store._read(Page(address=str(tmp_path / "a.txt"), is_html=False,
                           data="Titre\nPremier paragraphe.\nDeuxième paragraphe.\n".encode()))
    assert rec["title"] == "Titre" and rec["body"] == "Premier paragraphe.\n\nDeuxième paragraphe."
    # and the article page shows them as two paragraphs
    from marketwire.serve.web import _paragraphs as page_paragraphs

    assert page_paragraphs(rec["body"]) == ["Premier paragraphe.", "Deuxième paragraphe."]


def test_news_help_describes_every_subcommand():
    r = CliRunner().invoke(main, ["news", "--help"])
    assert r.exit_code == 0
    head = r.output.split("Options:")[0]
    for sub in ("add", "feeds", "poll", "list", "stories", "show", "story", "export"):
        assert f"\n  {sub} " in head, sub
        sr = CliRunner().invoke(main, ["news", sub, "--help"])
        assert sr.exit_code == 0 and "Example: marketwire news" in sr.output, sub
    for sub in ("add", "list"):
        assert "Example: marketwire news feeds" in CliRunner().invoke(main, ["news", "feeds", sub, "--help"]).output
