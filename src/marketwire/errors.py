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
