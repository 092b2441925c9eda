"""One exception tree for marketwire.

Every error has a stable ``code`` (documented in docs/errors.md), an HTTP status for the REST layer and
structured fields (``param``, ``file``, ``line``, ``column``, ``candidates`` ...) so that callers never parse
prose.
"""

from __future__ import annotations

from typing import Any


class MarketwireError(Exception):
    """Base of every error marketwire raises on purpose."""

    code = "error"
    http_status = 500

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = {k: v for k, v in fields.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.fields}


class InvalidInput(MarketwireError):
    """The caller gave a value we cannot use (names the parameter and why)."""

    code = "invalid_input"
    http_status = 400


class InvalidIdentifier(InvalidInput):
    """An identifier fails its format or check digit."""

    code = "invalid_identifier"
    http_status = 400


class NotFound(MarketwireError):
    code = "not_found"
    http_status = 404


class Ambiguous(MarketwireError):
    """A symbol names several instruments; ``candidates`` lists them."""

    code = "ambiguous"
    http_status = 409


class Conflict(MarketwireError):
    code = "conflict"
    http_status = 409


class SourceError(MarketwireError):
    """A source could not be read. ``transient`` says whether a retry may help."""

    code = "source_error"
    http_status = 502

    def __init__(self, message: str, *, transient: bool = False, **fields: Any) -> None:
        super().__init__(message, transient=transient, **fields)
        self.transient = transient


class ParseError(SourceError):
    """A file cannot be parsed at all: names the file, line and column."""

    code = "parse_error"
    http_status = 422


class UnknownSource(InvalidInput):
    code = "unknown_source"


class VerificationFailed(MarketwireError):
    code = "verification_failed"
    http_status = 422


class MissingExtra(MarketwireError):
    """An optional dependency group is not installed."""

    code = "missing_extra"
    http_status = 500

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"this feature needs the '{extra}' extra ({module} is not installed): "
            f'pip install "marketwire[{extra}]"',
            extra=extra,
        )


class MarketwireWarning(UserWarning):
    """Base of the warnings marketwire gives (``warnings.simplefilter("error", MarketwireWarning)`` makes them
    errors)."""


class OutsideCoverage(MarketwireWarning):
    """An empty answer because the question lies outside what the lake covers (a date before an index's first
    snapshot, a range outside a listing's bars, a time outside the news wire); ``coverage`` names what it covers
    (``from``, ``to``, and what: ``index``, ``listing``, ``source``)."""

    def __init__(self, message: str, **coverage: Any) -> None:
        super().__init__(message)
        self.message = message
        self.coverage = {k: v for k, v in coverage.items() if v is not None}


class Rows(list):  # type: ignore[type-arg]
    """A list answer that can say why it is empty: ``meta`` holds a ``note`` and the coverage (REST puts it in
    the response's ``meta``; the CLI prints the note on stderr; the SDK also gives an :class:`OutsideCoverage`
    warning)."""

    meta: dict[str, Any]

    def __init__(self, items: Any = (), meta: dict[str, Any] | None = None) -> None:
        super().__init__(items)
        self.meta = dict(meta or {})


def outside_coverage(message: str, stacklevel: int = 3, **coverage: Any) -> dict[str, Any]:
    """Warn that an answer is empty because it lies outside the lake's coverage; returns the ``meta`` to attach
    (``note`` and ``coverage_*`` fields)."""
    import warnings

    w = OutsideCoverage(message, **coverage)
    warnings.warn(w, stacklevel=stacklevel)
    return {"note": message, **{f"coverage_{k}": v for k, v in w.coverage.items()}}
