"""Composition root of the identity service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response

from qlvb_chassis.http.auth import TokenVerifier
from qlvb_chassis.http.problems import Problem
from qlvb_chassis.service import ServiceRuntime
from qlvb_identity.adapters import orm
from qlvb_identity.adapters.signing_keys import DatabaseKeySource, KeyStore
from qlvb_identity.domain.model import RuleViolation
from qlvb_identity.entrypoints import http
from qlvb_identity.service_layer.auth import Authenticator, TokenPolicy
from qlvb_identity.service_layer.errors import Rejected
from qlvb_identity.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
# The chassis' verifiers accept tokens up to 30 s past ``exp``.
VERIFY_LEEWAY = timedelta(seconds=30)


def key_store(settings: Settings) -> KeyStore:
    passphrase = settings.signing_key_passphrase
    return KeyStore(
        passphrase.get_secret_value().encode() if passphrase else None,
        verify_window=timedelta(seconds=settings.access_token_ttl_s) + VERIFY_LEEWAY,
    )


async def _on_rejected(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Rejected)
    problem = Problem(exc.status, exc.title, exc.detail, slug=exc.slug, headers=exc.headers)
    return problem.to_response()


async def _on_rule_violation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RuleViolation)
    return Problem(exc.status, "Request refused", str(exc), slug=exc.slug).to_response()


def create_app(settings: Settings | None = None, verifier: TokenVerifier | None = None) -> FastAPI:
    """Without ``verifier``, identity checks its own admin tokens with the keys in its database
    (never over HTTP to itself)."""
    settings = settings or Settings()
    keys = key_store(settings)
    key_source = DatabaseKeySource(keys)
    own_verifier = verifier or TokenVerifier(
        key_source, audience=settings.token_audience, issuer=settings.token_issuer
    )
    runtime = ServiceRuntime(
        settings, tables=orm.chassis, migrations=MIGRATIONS, verifier=own_verifier
    )
    key_source.bind(runtime.db)
    app = runtime.create_app(
        title="QLVB identity",
        description="Accounts, org units, rights, delegations, the agency directory; sign-in.",
        routers=http.routers,
    )
    app.state.identity = http.Services(
        db=runtime.db, auth=Authenticator(runtime.db, keys, TokenPolicy.from_settings(settings))
    )
    app.add_exception_handler(Rejected, _on_rejected)
    app.add_exception_handler(RuleViolation, _on_rule_violation)
    return app
