"""An issuance service of its own for each test module, on the real stack.

Throwaway schema, unique topic prefix, fake tokens; HTTP over httpx.ASGITransport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from qlvb_chassis.testing import FakeTokenIssuer
from qlvb_issuance.app import create_app
from qlvb_issuance.service_layer.handlers import Services
from qlvb_issuance.settings import Settings
from qlvb_stack.stack import Stack
from qlvb_stack.testing import isolated_service, serve_in_process

from .helpers import identity_events, produce


@dataclass
class Svc:
    app: FastAPI
    client: httpx.AsyncClient
    tokens: FakeTokenIssuer
    settings: Settings
    prefix: str
    bootstrap: str
    schema: str
    admin_url: str

    @property
    def services(self) -> Services:
        services: Services = self.app.state.issuance
        return services

    def clerk(self, user: str = "vanthu", **kwargs: object) -> dict[str, str]:
        return self.tokens.headers(user, ["clerk"], unit="HCTC", **kwargs)

    def staff(self, user: str = "cv.nguyenvana") -> dict[str, str]:
        return self.tokens.headers(user, ["specialist"], unit="KT")


@pytest.fixture(scope="module")
async def svc(stack: Stack) -> AsyncIterator[Svc]:
    tokens = FakeTokenIssuer()
    async with isolated_service(stack, "issuance") as iso:
        settings = Settings(**{**iso.settings, "db_pool_size": 40, "db_max_overflow": 40})
        app = create_app(settings, verifier=tokens.verifier())
        async with serve_in_process(app, base_url="http://issuance") as client:
            s = Svc(
                app,
                client,
                tokens,
                settings,
                iso.prefix,
                iso.bootstrap,
                iso.schema,
                stack.cfg.database_url(),
            )
            await produce(
                s.bootstrap, iso.prefix + "identity.events", identity_events(), "identity"
            )
            yield s
