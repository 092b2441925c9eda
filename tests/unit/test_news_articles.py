"""Articles from files: ids, revisions, language, duplicates, and the export contract."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import marketwire
from marketwire.cli import main
from marketwire.errors import InvalidInput, NotFound

pytestmark = pytest.mark.unit

BODY = ("La banque centrale européenne a laissé ses taux directeurs inchangés jeudi, en soulignant que l'inflation "
        "reste supérieure à son objectif de deux pour cent. La présidente a indiqué que le conseil des gouverneurs "
        "examinerait de nouvelles données avant toute décision. Les marchés attendaient une baisse en juin.\n\n"
        "Les rendements obligataires ont reculé après l'annonce, tandis que l'euro a progressé face au dollar. "
        "Plusieurs économistes estiment que la première baisse interviendra à l'automne.")
OTHER = ("Der Autohersteller meldete am Dienstag einen Rückgang des Quartalsgewinns um zwölf Prozent. Als Grund "
         "nannte das Unternehmen höhere Kosten für Batterien und eine schwächere Nachfrage in China. Die Aktie "
         "verlor im frühen Handel deutlich an Wert.")


def test_add_show_revise_and_duplicates(tmp_path):
    mw = marketwire.open(tmp_path / "h")
    (tmp_path / "a.txt").write_text("La BCE maintient ses taux\n" + BODY, encoding="utf-8")
    (tmp_path / "b.txt").write_text("Taux: la BCE ne bouge pas (AFP)\n" + BODY + "\n\n(AFP)", encoding="utf-8")
    (tmp_path / "c.txt").write_text("Gewinnrückgang beim Autobauer\n" + OTHER, encoding="utf-8")
    added = mw.articles().add([str(tmp_path / n) for n in ("a.txt", "b.txt", "c.txt")], source="wire")
    a, b, c = added
    assert [x.status for x in added] == ["new", "new", "new"] and a.article_id.startswith("MWA")
    assert (a.language, c.language) == ("fr", "de")
    assert b.duplicate_of == a.article_id and a.duplicate_of is None and c.duplicate_of is None
    shown = mw.articles().show(a.article_id)
    assert set(shown) >= {"id", "url", "source", "title", "body", "language", "published", "bullets", "entities",
                          "story_id", "duplicate_of"}
    assert shown["title"] == "La BCE maintient ses taux" and shown["url"] == str((tmp_path / "a.txt").resolve())
    assert mw.articles().add([str(tmp_path / "a.txt")])[0].status == "unchanged"
    (tmp_path / "a.txt").write_text("La BCE maintient ses taux directeurs\n" + BODY, encoding="utf-8")
    again = mw.articles().add([str(tmp_path / "a.txt")])[0]
    assert (again.article_id, again.status) == (a.article_id, "revised")
    assert mw.articles().show(a.article_id)["revision"] == 2
    assert [x["id"] for x in mw.articles().list(lang="de")] == [c.article_id]
    assert {x["id"] for x in mw.articles().list(q="BCE")} == {a.article_id, b.article_id}
    with pytest.raises(InvalidInput):
        mw.articles().add(["https://example.com/story"])
    with pytest.raises(NotFound):
        mw.articles().show("MWANOPE")


def test_cli_add_prints_ids_and_export_is_jsonl(tmp_path):
    (tmp_path / "a.txt").write_text("La BCE maintient ses taux\n" + BODY, encoding="utf-8")
    r = CliRunner().invoke(main, ["--home", str(tmp_path / "h"), "news", "add", str(tmp_path / "a.txt"),
                                  "--published", "2024-04-11T12:00:00+00:00"])
    assert r.exit_code == 0 and r.output.strip().startswith("MWA")
    r = CliRunner().invoke(main, ["--home", str(tmp_path / "h"), "news", "export", "--format", "jsonl"])
    lines = [json.loads(x) for x in r.output.splitlines()]
    assert len(lines) == 1 and lines[0]["published"] == "2024-04-11T12:00:00+00:00"
    a = lines[0]
    assert 2 <= len(a["bullets"]) <= 3 and all(len(b.split()) <= 25 for b in a["bullets"])
    assert a["duplicate_of"] is None and a["story_id"].startswith("MWT") and a["novelty"] == 1.0
    assert "central_banks" in {t["topic"] for t in a["topics"]}
    assert all(set(e) >= {"text", "type", "link"} for e in a["entities"])


_TEXT = "<p>" + " ".join(["Le texte de l'article continue ici avec des mots."] * 4) + "</p>"


@pytest.mark.parametrize("article,taken", [
    # between the headline and the text, after a byline: the publisher's bullets
    ("<h1>Titre du jour</h1><div class='by'>Agence · 3 mai</div><ul><li>Premier point de la synthèse du jour.</li>"
     f"<li>Second point de la synthèse du jour.</li></ul>{_TEXT}",
     ("Premier point de la synthèse du jour.", "Second point de la synthèse du jour.")),
    # a list inside the text is the text's
    (f"<h1>Titre du jour</h1>{_TEXT}<ul><li>Un point dans le texte lui-même.</li><li>Un autre point du texte.</li>"
     f"</ul>{_TEXT}", ()),
    # links (a menu, related stories) are not a summary
    ("<h1>Titre du jour</h1><ul><li><a href='/a'>Un lien vers un autre article</a></li><li><a href='/b'>Un autre "
     f"lien vers un article</a></li></ul>{_TEXT}", ()),
    # a list that a sentence of the text announces is the text's, even right after the headline
    ("<h1>Titre du jour</h1><p>Voici les trois mesures annoncées par le gouvernement :</p><ul><li>Une première "
     "mesure pour les ménages.</li><li>Une deuxième mesure pour les entreprises.</li></ul>" + _TEXT, ()),
    # one item is not a list of bullets; nor is a list with no text after it
    (f"<h1>Titre du jour</h1><ul><li>Un seul point de synthèse ici.</li></ul>{_TEXT}", ()),
    ("<h1>Titre du jour</h1><ul><li>Premier point de la synthèse.</li><li>Second point de la synthèse.</li></ul>",
     ()),
])
def test_standfirst_is_the_publishers_list_between_headline_and_text(article: str, taken: tuple[str, ...]) -> None:
    from marketwire.news.extract import extract

    ex = extract(f"<!DOCTYPE html><html lang='fr'><body><article>{article}</article></body></html>")
    assert ex.standfirst == taken
    for item in taken:
        assert item not in ex.body
