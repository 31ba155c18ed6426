"""Why a command cannot be carried out, in the domain's words; entrypoints map them to 4xx."""

from __future__ import annotations


class IssuanceError(Exception):
    """Base of every refusal; ``slug`` names the kind of problem for the client."""

    slug = "issuance-error"

    def __init__(self, detail: str, *, slug: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if slug is not None:
            self.slug = slug


class NotFound(IssuanceError):
    slug = "not-found"


class Invalid(IssuanceError):
    """The request is well formed but breaks a rule (422)."""

    slug = "invalid"


class Conflict(IssuanceError):
    """The document's state does not allow the action (409)."""

    slug = "conflict"
