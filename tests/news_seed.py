"""The seed article (shared/seed) as a publisher's page: navigation, the article, and the advertisement around it.

The seed file is plain text: the headline, the publisher's two bullets, a source line, the body, then the data
vendor's advertisement. Pages on the web carry the same parts in markup, so the page built here puts the
navigation before the article and the advertisement after it, as the publisher's site did. Tests find the seed
beside the shared data (``$MARKETWIRE_DATA/../seed``) and skip where it is absent.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import shared_data  # type: ignore[import-not-found]

SEED_NAME = "eulerpool-news-article-fr.txt"


@dataclass(frozen=True)
class Seed:
    title: str
    bullets: list[str]
    source_line: str
    body: str
    advert: list[str]


def seed_file() -> Path:
    p = shared_data().parent / "seed" / SEED_NAME
    if not p.is_file():
        pytest.skip(f"seed article not found at {p} (set MARKETWIRE_DATA to the shared data folder beside seed/)")
    return p


def read_seed() -> Seed:
    lines = [ln.rstrip() for ln in seed_file().read_text(encoding="utf-8").splitlines()]
    title = lines[0].strip()
    bullets = [ln.strip().lstrip("•").strip() for ln in lines if ln.strip().startswith("•")][:2]
    src_i = next(i for i, ln in enumerate(lines) if ln.strip().endswith("·"))
    body_i = next(i for i in range(src_i + 1, len(lines)) if lines[i].strip())
    return Seed(title=title, bullets=bullets, source_line=lines[src_i].strip().rstrip("·").strip(),
                body=lines[body_i].strip(), advert=[ln.strip() for ln in lines[body_i + 1:] if ln.strip()])


NAV = ["Marchés", "Actions", "Obligations", "Devises", "Matières premières", "Actualités", "Analyses", "Connexion"]


def seed_page_html() -> str:
    s = read_seed()
    e = html.escape
    nav = "".join(f'<li><a href="/{e(n.lower())}">{e(n)}</a></li>' for n in NAV)
    bullets = "".join(f"<li>{e(b)}</li>" for b in s.bullets)
    ad = "".join(f"<p>{e(line.lstrip('•').strip())}</p>" for line in s.advert)
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>{e(s.title)} | {e(s.source_line)}</title>
<meta property="og:title" content="{e(s.title)}">
<meta property="article:published_time" content="2024-10-11T14:30:00+00:00"></head>
<body>
<header><div class="logo">{e(s.source_line)}</div><nav><ul>{nav}</ul></nav>
<form class="search"><input type="search" placeholder="Rechercher une action, un ETF, une obligation"></form></header>
<main>
<article>
<h1>{e(s.title)}</h1>
<ul class="summary">{bullets}</ul>
<div class="byline">{e(s.source_line)} · 11 oct. 2024</div>
<div class="article-body"><p>{e(s.body)}</p></div>
</article>
<aside class="advertisement">{ad}<a class="cta" href="/contact">Get in touch</a></aside>
</main>
<footer><nav><a href="/mentions-legales">Mentions légales</a> <a href="/confidentialite">Confidentialité</a>
<a href="/contact">Contact</a></nav><p>© Eulerpool Research Systems</p></footer>
</body></html>
"""


def write_seed_page(folder: Path) -> Path:
    p = folder / "poutine-pezeshkian-alliance.html"
    p.write_text(seed_page_html(), encoding="utf-8")
    return p
