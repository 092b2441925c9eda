"""No query parameter is ever ignored: a name a route does not take is refused, naming it and listing the names it
takes. REST derives each route's names from its declared parameters; the web pages pass theirs (their filters)."""

from __future__ import annotations

from collections.abc import Iterable

from marketwire.errors import InvalidInput


def check_known(given: Iterable[str], allowed: Iterable[str], where: str) -> None:
    """Raise :class:`InvalidInput` (param = the first unknown name) when ``given`` holds a name not in ``allowed``."""
    known = set(allowed)
    unknown = sorted({g for g in given if g not in known})
    if not unknown:
        return
    names = ", ".join(f"`{u}`" for u in unknown)
    takes = ", ".join(sorted(known)) or "no query parameters"
    raise InvalidInput(f"{names}: not a parameter of {where} (it takes: {takes})", param=unknown[0],
                       value=",".join(unknown), expected=takes)


def route_query_names(route: object) -> set[str]:
    """The query parameter names a FastAPI route declares, its dependencies' included (by their aliases), and the
    names of query-string security schemes among them (``APIKeyQuery(name="api_key")``)."""
    names: set[str] = set()
    todo = [getattr(route, "dependant", None)]
    while todo:
        dependant = todo.pop()
        if dependant is None:
            continue
        names.update(p.alias for p in dependant.query_params)
        scheme = getattr(dependant.call, "model", None)  # a security scheme that reads the query string
        if str(getattr(scheme, "in_", "")).rsplit(".", 1)[-1] == "query" and getattr(scheme, "name", None):
            names.add(scheme.name)
        todo.extend(dependant.dependencies)
    return names
