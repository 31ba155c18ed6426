"""Why a command was refused, in terms the HTTP layer turns into problem+json."""

from __future__ import annotations

from collections.abc import Mapping


class Rejected(Exception):
    """A command that cannot be carried out; nothing of it was stored (unless said so)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        slug: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug
        self.headers = dict(headers or {})


def not_found(what: str, ident: str) -> Rejected:
    return Rejected(404, "Not found", f"{what} {ident} does not exist", slug="not-found")


def conflict(detail: str, *, slug: str = "conflict") -> Rejected:
    return Rejected(409, "Conflict", detail, slug=slug)


def forbidden(detail: str, *, slug: str = "forbidden") -> Rejected:
    return Rejected(403, "Not allowed", detail, slug=slug)
