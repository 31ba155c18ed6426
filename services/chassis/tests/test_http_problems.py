"""Every error of an app with the problem handlers installed is RFC 9457 problem+json."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from qlvb_chassis.http.problems import (
    PROBLEM_MEDIA_TYPE,
    Problem,
    install_problem_handlers,
    problem_responses,
    problem_type,
)


class NewDocument(BaseModel):
    subject: str = Field(min_length=1, max_length=500)
    page_amount: int = Field(ge=1)


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/documents/{document_id}", responses=problem_responses(404))
    async def get_document(document_id: int) -> dict[str, int]:
        raise Problem(
            404,
            "Document not found",
            f"No incoming document {document_id}.",
            slug="document-not-found",
            instance=f"/documents/{document_id}",
            document_id=document_id,
        )

    @app.post("/documents", status_code=201)
    async def create_document(document: NewDocument) -> NewDocument:
        return document

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 at db.internal:5432")

    @app.get("/conflict")
    async def conflict() -> None:
        raise HTTPException(409, detail="Number already used")

    @app.get("/structured")
    async def structured() -> None:
        raise HTTPException(400, detail={"reason": "bad", "fields": ["a"]})

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://qlvb.test") as client:
        yield client


def assert_problem(response_status: int, body: dict[str, object], slug: str) -> None:
    assert body["status"] == response_status
    assert body["type"] == problem_type(slug)
    assert isinstance(body["title"], str)
    assert body["title"]


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json() == {
        "type": problem_type("not-found"),
        "title": "Not Found",
        "status": 404,
    }


async def test_wrong_method_is_a_405_problem_with_allow_header(client: httpx.AsyncClient) -> None:
    response = await client.delete("/documents")

    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["allow"] == "POST"
    assert_problem(405, response.json(), "method-not-allowed")


async def test_invalid_body_is_a_422_with_readable_errors(client: httpx.AsyncClient) -> None:
    response = await client.post("/documents", json={"subject": "", "page_amount": "many"})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert_problem(422, body, "validation-error")
    fields = {error["field"]: error for error in body["errors"]}
    assert set(fields) == {"body.subject", "body.page_amount"}
    assert fields["body.subject"]["type"] == "string_too_short"
    assert "at least 1 character" in fields["body.subject"]["message"]
    assert "many" not in response.text  # the offending input is not echoed


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{not json", {"content-type": "application/json"}),
        (b"", {"content-type": "application/json"}),
        (b"\xff\xfe\x00", {"content-type": "application/json"}),
        (b'{"subject": "x", "page_amount": 1}', {"content-type": "text/plain"}),
    ],
)
async def test_malformed_input_is_4xx_never_500(
    client: httpx.AsyncClient, content: bytes, headers: dict[str, str]
) -> None:
    response = await client.post("/documents", content=content, headers=headers)

    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE


async def test_bad_path_parameter_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/documents/abc")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.document_id"


async def test_raised_problem_keeps_its_members_and_extensions(client: httpx.AsyncClient) -> None:
    response = await client.get("/documents/7")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json() == {
        "type": "https://qlvb.example/problems/document-not-found",
        "title": "Document not found",
        "status": 404,
        "detail": "No incoming document 7.",
        "instance": "/documents/7",
        "document_id": 7,
    }


async def test_http_exception_detail_becomes_problem_detail(client: httpx.AsyncClient) -> None:
    response = await client.get("/conflict")
    assert response.status_code == 409
    assert response.json()["detail"] == "Number already used"

    structured = await client.get("/structured")
    assert structured.status_code == 400
    assert structured.json()["errors"] == {"reason": "bad", "fields": ["a"]}


async def test_unexpected_error_is_a_500_without_internals(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="qlvb_chassis.http.problems"):
        response = await client.get("/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert_problem(500, body, "internal-error")
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    # The log has the traceback and the incident id that the body gives the caller.
    record = next(r for r in caplog.records if body["incident"] in r.getMessage())
    assert record.exc_info is not None
    assert "GET /boom" in record.getMessage()


def test_problem_refuses_non_error_status_and_reserved_members() -> None:
    with pytest.raises(ValueError, match="4xx or 5xx"):
        Problem(200)
    with pytest.raises(ValueError, match="clash"):
        Problem(400, type="x")
    assert Problem(429).title == "Too Many Requests"
    assert Problem(429).type == problem_type("too-many-requests")


async def test_openapi_documents_problem_responses(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    responses = schema["paths"]["/documents/{document_id}"]["get"]["responses"]
    assert PROBLEM_MEDIA_TYPE in responses["404"]["content"]
