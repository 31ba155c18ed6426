"""Errors that mean "this message breaks its contract".

A consumer treats every :class:`ContractError` as permanent: retrying cannot help, so the message
goes to the dead-letter topic (ARCHITECTURE §3.3). Anything else raised while handling a message is
an ordinary failure (database down, bug) and is retried with backoff.
"""

from __future__ import annotations

from pydantic import ValidationError


class ContractError(ValueError):
    """The message or document does not satisfy its contract (invalid, unknown, unsupported)."""


class UnknownMessageType(ContractError):
    """No payload model is registered for this (topic, type)."""


class UnsupportedSchemaVersion(ContractError):
    """The type is known but this schema_version is not (a newer producer, or a typo)."""


class InvalidPayload(ContractError):
    """The payload does not validate against the model of its (topic, type, version)."""


def summarize(error: ValidationError, *, prefix: str = "", limit: int = 3) -> str:
    """A short, log-friendly description of a pydantic error: "path: message; ..."."""
    parts = []
    for item in error.errors()[:limit]:
        path = "/".join(str(p) for p in item["loc"])
        where = "/".join(p for p in (prefix, path) if p) or "(root)"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
