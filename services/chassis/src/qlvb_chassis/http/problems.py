"""The one error shape of every HTTP API: RFC 9457 problem details (``application/problem+json``).

Raise :class:`Problem` from handlers and dependencies; :func:`install_problem_handlers` makes the
app answer with problem+json for it, for request validation errors (422 with an ``errors`` list),
for Starlette/FastAPI ``HTTPException`` (404, 405, …) and for any unexpected exception (500,
logged with its traceback, body without internals).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_TYPE_BASE",
    "Problem",
    "ProblemDetails",
    "ProblemResponse",
    "install_problem_handlers",
    "problem_responses",
    "problem_type",
]

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://qlvb.example/problems/"

_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


def problem_type(slug: str) -> str:
    """The type URI of a problem kind, e.g. ``problem_type("not-found")``."""
    return PROBLEM_TYPE_BASE + slug


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _status_slug(status: int) -> str:
    # "Method Not Allowed" → "method-not-allowed": a stable type URI per generic status.
    return _status_phrase(status).lower().replace(" ", "-").replace("'", "")


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


class Problem(Exception):
    """An error answered as problem+json; raise it anywhere in request handling.

    ``slug`` names the kind of problem (type URI ``PROBLEM_TYPE_BASE + slug``, default from the
    status, e.g. ``not-found``); ``extensions`` are extra members such as ``errors``.
    """

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        slug: str | None = None,
        instance: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"a problem has a 4xx or 5xx status, got {status}")
        clash = _MEMBERS & extensions.keys()
        if clash:
            raise ValueError(f"extension members clash with standard ones: {sorted(clash)}")
        self.status = status
        self.title = title or _status_phrase(status)
        self.detail = detail
        self.type = problem_type(slug or _status_slug(status))
        self.instance = instance
        self.headers = dict(headers or {})
        self.extensions = extensions
        super().__init__(f"{status} {self.title}" + (f": {detail}" if detail else ""))

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            body["detail"] = self.detail
        if self.instance is not None:
            body["instance"] = self.instance
        body.update(jsonable_encoder(self.extensions))
        return body

    def to_response(self) -> ProblemResponse:
        return ProblemResponse(self.body(), status_code=self.status, headers=self.headers)


class ProblemDetails(BaseModel):
    """OpenAPI schema of a problem+json body (extension members allowed)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route, documenting the listed statuses as problem+json."""
    return {
        status: {
            "model": ProblemDetails,
            "description": _status_phrase(status),
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for status in statuses
    }


def _readable_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # The offending input is left out on purpose: it may be a password or a whole document.
    readable = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        readable.append(
            {
                "field": ".".join(location),
                "message": str(error.get("msg", "invalid value")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return readable


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    if exc.status >= 500:
        logger.error("%s %s answered %s", request.method, request.url.path, exc)
    return exc.to_response()


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _readable_errors(exc.errors())
    return Problem(
        422,
        "Request validation failed",
        f"{len(errors)} invalid value(s) in the request",
        slug="validation-error",
        errors=errors,
    ).to_response()


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code < 400:
        # Statuses like 304 carry no body at all.
        return Response(status_code=exc.status_code, headers=headers)
    title = _status_phrase(exc.status_code)
    body: dict[str, Any] = {
        "type": problem_type(_status_slug(exc.status_code)),
        "title": title,
        "status": exc.status_code,
    }
    # Typed str by Starlette, but FastAPI's HTTPException accepts any JSON-able detail.
    detail: Any = exc.detail
    if isinstance(detail, str):
        if detail != title:
            body["detail"] = detail
    elif detail is not None:
        body["errors"] = jsonable_encoder(detail)
    return ProblemResponse(body, status_code=exc.status_code, headers=headers)


class _UnexpectedErrorMiddleware:
    """Answers an unhandled exception with a 500 problem instead of a bare text error.

    Handled here rather than with an ``Exception`` handler because Starlette re-raises after such
    a handler, which would log every failure twice and break test clients.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:
                # Too late for a problem body; let the server abort the response.
                raise
            incident = uuid.uuid4().hex
            logger.exception(
                "unhandled error in %s %s (incident %s)",
                scope.get("method"),
                scope.get("path"),
                incident,
            )
            problem = Problem(
                500,
                detail="An unexpected error occurred; it has been logged.",
                slug="internal-error",
                incident=incident,
            )
            await problem.to_response()(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` a problem+json response; call it in the app factory."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_middleware(_UnexpectedErrorMiddleware)
