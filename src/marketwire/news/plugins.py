"""The seam for optional summary and translation backends: a registry, entry points, selection. Off by default.

marketwire summarises with its own extractive method (:mod:`marketwire.news.summarize`) and translates nothing.
A backend is any object with the shape of :class:`SummaryBackend` or :class:`TranslationBackend`. It is made by a
factory (a no-argument callable) registered under a name, either in-process::

    from marketwire.news.plugins import register_summarizer
    register_summarizer("mymodel", MyModelSummarizer)

or by a third-party package through an entry point in the group ``marketwire.summarizers`` (or
``marketwire.translators``)::

    [project.entry-points."marketwire.summarizers"]
    mymodel = "mypackage.summarizer:MyModelSummarizer"

A backend is used only when it is asked for, by the ``backend=`` argument or the ``MARKETWIRE_SUMMARIZER``
(``MARKETWIRE_TRANSLATOR``) environment variable; unset, empty or ``extractive`` means none. Whatever a summary
backend returns goes through the same faithfulness gate as the extractive bullets.

An entry point that fails to load is listed by :func:`plugin_errors` with its error, never silently dropped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from marketwire.errors import InvalidInput

SUMMARIZER_GROUP = "marketwire.summarizers"
TRANSLATOR_GROUP = "marketwire.translators"
SUMMARIZER_ENV = "MARKETWIRE_SUMMARIZER"
TRANSLATOR_ENV = "MARKETWIRE_TRANSLATOR"
#: values of the selection that mean "no backend, the built-in method only"
NO_BACKEND = ("", "none", "extractive")


@runtime_checkable
class SummaryBackend(Protocol):
    """Writes up to ``max_bullets`` bullets for an article. Each bullet is checked by the gate before it is kept."""

    name: str

    def summarize(self, title: str | None, body: str, lang: str | None, max_bullets: int) -> list[str]: ...


@runtime_checkable
class TranslationBackend(Protocol):
    """Translates a text between two ISO 639-1 languages."""

    name: str

    def translate(self, text: str, source_lang: str, target_lang: str) -> str: ...


Factory = Callable[[], object]

_registry: dict[str, dict[str, Factory]] = {SUMMARIZER_GROUP: {}, TRANSLATOR_GROUP: {}}
_errors: dict[str, dict[str, str]] = {SUMMARIZER_GROUP: {}, TRANSLATOR_GROUP: {}}
_discovered: set[str] = set()


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or name.strip().lower() in NO_BACKEND:
        raise InvalidInput(f"`name`: {name!r} is not a usable backend name (empty or reserved)", param="name")
    return name.strip()


def register_summarizer(name: str, factory: Factory) -> None:
    """Register (or replace) the summary backend ``name``; ``factory()`` builds it when it is first selected."""
    _registry[SUMMARIZER_GROUP][_check_name(name)] = factory


def register_translator(name: str, factory: Factory) -> None:
    """Register (or replace) the translation backend ``name``."""
    _registry[TRANSLATOR_GROUP][_check_name(name)] = factory


def unregister(name: str) -> None:
    """Forget a backend of either kind (tests use it to clean up)."""
    for group in _registry.values():
        group.pop(name, None)


def _discover(group: str) -> None:
    """Load the entry points of ``group`` once. Registrations made in-process win over entry points."""
    if group in _discovered:
        return
    _discovered.add(group)
    for ep in entry_points(group=group):
        if ep.name in _registry[group]:
            continue
        try:
            _registry[group][ep.name] = ep.load()
        except Exception as e:  # a broken plug-in is listed, never silently dropped, never fatal
            _errors[group][ep.name] = f"{type(e).__name__}: {e}"


def summarizers() -> list[str]:
    """The names of the summary backends that can be selected (registered or found as entry points)."""
    _discover(SUMMARIZER_GROUP)
    return sorted(_registry[SUMMARIZER_GROUP])


def translators() -> list[str]:
    _discover(TRANSLATOR_GROUP)
    return sorted(_registry[TRANSLATOR_GROUP])


def plugin_errors() -> dict[str, dict[str, str]]:
    """``{group: {name: error}}`` for every entry point that failed to load."""
    _discover(SUMMARIZER_GROUP)
    _discover(TRANSLATOR_GROUP)
    return {g: dict(e) for g, e in _errors.items() if e}


def summarizer_choice(name: str | None = None) -> str | None:
    """The summary backend asked for: ``name``, else ``$MARKETWIRE_SUMMARIZER``; ``None`` for the built-in method."""
    return _choice(SUMMARIZER_ENV, name)


def _choice(env: str, name: str | None) -> str | None:
    chosen = (name if name is not None else os.environ.get(env, "")).strip()
    return None if chosen.lower() in NO_BACKEND else chosen


def _select(group: str, env: str, name: str | None, param: str) -> object | None:
    chosen = _choice(env, name)
    if chosen is None:
        return None
    _discover(group)
    factory = _registry[group].get(chosen)
    if factory is None:
        if chosen in _errors[group]:
            raise InvalidInput(f"`{param}`: backend {chosen!r} failed to load: {_errors[group][chosen]}", param=param)
        known = ", ".join(sorted(_registry[group])) or "none registered"
        raise InvalidInput(f"`{param}`: no backend named {chosen!r} (known: {known})", param=param,
                           candidates=sorted(_registry[group]))
    return factory()


def get_summarizer(name: str | None = None) -> SummaryBackend | None:
    """The summary backend named by ``name``, else by ``$MARKETWIRE_SUMMARIZER``; ``None`` for the built-in method.

    Raises :class:`~marketwire.errors.InvalidInput` (``param="backend"``) for a name nobody registered.
    """
    backend = _select(SUMMARIZER_GROUP, SUMMARIZER_ENV, name, "backend")
    if backend is not None and not isinstance(backend, SummaryBackend):
        raise InvalidInput(f"`backend`: {name!r} does not have the SummaryBackend shape (name, summarize)",
                           param="backend")
    return backend


def get_translator(name: str | None = None) -> TranslationBackend | None:
    """The translation backend named by ``name``, else by ``$MARKETWIRE_TRANSLATOR``; ``None`` when none is chosen.

    No translation model ships with marketwire: this is only the seam a package can fill.
    """
    backend = _select(TRANSLATOR_GROUP, TRANSLATOR_ENV, name, "translator")
    if backend is not None and not isinstance(backend, TranslationBackend):
        raise InvalidInput(f"`translator`: {name!r} does not have the TranslationBackend shape (name, translate)",
                           param="translator")
    return backend
