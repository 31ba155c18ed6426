"""Errors of intake's use cases; the HTTP entrypoint answers each as a problem+json."""

from __future__ import annotations

from typing import Any


class IntakeError(Exception):
    """A request intake refuses; nothing it would have changed was changed."""

    def __init__(
        self, status: int, title: str, detail: str, *, slug: str, **extensions: Any
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug
        self.extensions = extensions


def not_found(what: str, ident: str) -> IntakeError:
    return IntakeError(404, f"{what} not found", f"no {what.lower()} {ident!r}", slug="not-found")


def invalid(detail: str, *, errors: list[dict[str, str]] | None = None) -> IntakeError:
    extensions: dict[str, Any] = {"errors": errors} if errors else {}
    return IntakeError(422, "Invalid incoming document", detail, slug="invalid-input", **extensions)
