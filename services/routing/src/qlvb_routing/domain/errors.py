"""Why a rule refuses an act; the HTTP entrypoint maps each kind to its status."""

from __future__ import annotations


class DomainError(Exception):
    """A refused act; ``slug`` names the kind of refusal for the problem type URI."""

    status = 400
    slug = "refused"

    def __init__(self, detail: str, *, slug: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if slug is not None:
            self.slug = slug


class NotFound(DomainError):
    status = 404
    slug = "not-found"


class NotAllowed(DomainError):
    """The user may not do this (not the assignee, approving their own draft...)."""

    status = 403
    slug = "not-allowed"


class Conflict(DomainError):
    """The act does not fit the current state (closed task, draft not awaiting approval...)."""

    status = 409
    slug = "illegal-transition"


class Invalid(DomainError):
    """The request itself makes no sense (forward to oneself, unknown user...)."""

    status = 422
    slug = "invalid-request"
