"""Plugins: packages that add datasets, sources, rules and verifiers without touching marketwire.

A plugin declares an entry point in the group ``marketwire.plugins`` naming a function that takes a
:class:`PluginAPI`::

    [project.entry-points."marketwire.plugins"]
    weather = "mw_weather:register"

    def register(api):
        api.dataset(WEATHER)                          # a Dataset declaration
        api.source("weather-csv", WeatherCsv)         # a Source subclass
        api.rule(Rule("weather.too_hot", "reject", "weather", "..."))
        api.verifier("weather", too_hot)              # fn(record, context) -> findings

Plugins load once per process, when the platform is opened. A plugin that fails to load is reported by
``marketwire plugins`` with its error; it never stops the others.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from marketwire import datasets, sources
from marketwire.datasets.base import Dataset
from marketwire.verify import registry as verifiers
from marketwire.verify import rules

GROUP = "marketwire.plugins"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    target: str
    error: str | None
    added: tuple[str, ...] = ()


class PluginAPI:
    """What a plugin's ``register`` function may add."""

    def __init__(self) -> None:
        self.added: list[str] = []

    def dataset(self, ds: Dataset) -> None:
        datasets.register(ds)
        self.added.append(f"dataset:{ds.name}")

    def source(self, name: str, cls: Any) -> None:
        sources.register(name, cls)
        self.added.append(f"source:{name}")

    def rule(self, rule: rules.Rule) -> None:
        rules.register(rule)
        self.added.append(f"rule:{rule.code}")

    def verifier(self, dataset: str, fn: verifiers.Verifier) -> None:
        verifiers.register_verifier(dataset, fn)
        self.added.append(f"verifier:{dataset}")


_LOADED: list[PluginInfo] | None = None
_LOCK = threading.Lock()


def load_plugins() -> list[PluginInfo]:
    """Load every installed plugin once; returns what each added, or its error."""
    global _LOADED
    with _LOCK:
        if _LOADED is None:
            out = []
            for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
                api = PluginAPI()
                try:
                    ep.load()(api)
                    out.append(PluginInfo(ep.name, ep.value, None, tuple(api.added)))
                except Exception as e:  # noqa: BLE001 - reported by `marketwire plugins`, never fatal
                    out.append(PluginInfo(ep.name, ep.value, f"{type(e).__name__}: {e}", tuple(api.added)))
            _LOADED = out
        return list(_LOADED)


__all__ = ["GROUP", "PluginAPI", "PluginInfo", "load_plugins"]
