"""The process shape of one service (ARCHITECTURE §6), assembled in one place.

A service's composition root builds a :class:`ServiceRuntime` from its settings and tables,
registers its consumers with :meth:`ServiceRuntime.consume`, and asks for the ASGI app::

    runtime = ServiceRuntime(settings, tables=orm.chassis, migrations=MIGRATIONS, bucket="qlvb-x")
    runtime.consume(INTAKE_DOCUMENTS, group_id="routing", handler=on_incoming)
    app = runtime.create_app(title="routing", routers=[api.router])

The app serves HTTP at once; in the background it migrates the schema, starts the Kafka broker
(subscribers) and the outbox relay, retrying each while its part is unreachable, so a service that
starts before PostgreSQL or Kafka does comes up by itself (/readyz says what it waits for).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.specification import AsyncAPI
from prometheus_client import REGISTRY as PROMETHEUS

from qlvb_chassis.consumer import Decoder, Handler, InboxConsumer, envelope_decoder
from qlvb_chassis.db import ChassisTables, Database, create_engine
from qlvb_chassis.http.auth import JwksKeySource, TokenVerifier, install_token_verifier
from qlvb_chassis.http.health import health_router, metrics_endpoint
from qlvb_chassis.http.problems import install_problem_handlers
from qlvb_chassis.migrations import upgrade
from qlvb_chassis.outbox import OutboxRelay, OutboxWriter
from qlvb_chassis.settings import ServiceSettings
from qlvb_chassis.storage import ObjectStore
from qlvb_contracts.envelope import Envelope
from qlvb_contracts.registry import REGISTRY
from qlvb_contracts.topics import TopicRegistry

log = logging.getLogger("qlvb.service")

Check = Callable[[], Awaitable[None]]


def consumer_group_id(settings: ServiceSettings, topic: str, group: str | None = None) -> str:
    """The Kafka consumer group of a service's subscription to ``topic``: one group per topic by
    default (a rebalance of one topic never stalls another), under the test topic prefix."""
    return settings.topic_prefix + (group or f"{settings.service_name}.{topic}")


class ServiceRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        tables: ChassisTables,
        migrations: Path | None = None,
        bucket: str | None = None,
        registry: TopicRegistry = REGISTRY,
        verifier: TokenVerifier | None = None,
    ) -> None:
        self.settings = settings
        self.service = settings.service_name
        self.tables = tables
        self.registry = registry
        self.migrations = migrations
        self.engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            search_path=settings.database_schema,
        )
        self.outbox = OutboxWriter(self.service, tables, registry, settings.topic_prefix)
        self.db = Database(self.engine, self.outbox)
        self.relay = OutboxRelay(self.engine, self.outbox, settings)
        self.broker = KafkaBroker(
            settings.kafka_bootstrap,
            client_id=f"qlvb-{self.service}",
            middlewares=[KafkaPrometheusMiddleware(registry=PROMETHEUS, app_name=self.service)],
            logger=logging.getLogger(f"qlvb.{self.service}.broker"),
        )
        self.store = ObjectStore(settings, bucket) if bucket else None
        self.verifier = verifier or TokenVerifier(
            JwksKeySource(settings.identity_url.rstrip("/") + "/.well-known/jwks.json"),
            audience=settings.token_audience,
            issuer=settings.token_issuer,
        )
        self.consumers: list[InboxConsumer] = []
        self._background: list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = []
        self._extra_checks: dict[str, Check] = {}
        self.started = False
        self._startup_error: str | None = "starting"
        self._tasks: list[asyncio.Task[None]] = []
        self._declare_publishers()

    # -- messaging -----------------------------------------------------------------------------

    def _declare_publishers(self) -> None:
        """Declare the topics this service produces, so they show in its AsyncAPI document.
        Publishing itself goes through the outbox relay, never through these objects."""
        for topic in self.registry:
            if self.service in topic.producers:
                self.broker.publisher(
                    self.settings.topic_prefix + topic.name,
                    title=f"{topic.name}:publish",
                    description=f"{topic.description} Key: {topic.key}.",
                    schema=Envelope,
                )

    def consume(
        self,
        topic: str,
        *,
        handler: Handler,
        group_id: str | None = None,
        decoder: Decoder | None = None,
    ) -> InboxConsumer:
        consumer = InboxConsumer(
            settings=self.settings,
            db=self.db,
            tables=self.tables,
            topic=topic,
            group_id=consumer_group_id(self.settings, topic, group_id),
            handler=handler,
            decoder=decoder or envelope_decoder(self.registry, self.settings.topic_prefix),
        )
        consumer.subscribe(self.broker)
        self.consumers.append(consumer)
        return consumer

    def background(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A long-running task of the service's own (e.g. refreshing gauges), started with the
        relay once the service is up and cancelled at shutdown."""
        self._background.append((name, run))

    def add_check(self, name: str, check: Check) -> None:
        """An extra /readyz check (e.g. a font a PDF export needs); add it before create_app."""
        self._extra_checks[name] = check

    def asyncapi(self) -> Any:
        spec = AsyncAPI(self.broker, title=f"qlvb {self.service}", version="1.0.0")
        return spec.to_specification().to_jsonable()

    # -- lifecycle -----------------------------------------------------------------------------

    async def _retry(self, what: str, step: Callable[[], Awaitable[None]]) -> None:
        failures = 0
        while True:
            try:
                await step()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self._startup_error = f"{what}: {exc}"
                if failures == 1:
                    log.warning("waiting for %s: %s", what, exc)
                await asyncio.sleep(min(10.0, 0.5 * 2 ** min(failures, 5)))

    async def _start(self) -> None:
        self._startup_error = "migrating the database"
        if self.migrations is not None:
            migrations = self.migrations
            await self._retry(
                "database migrations",
                lambda: upgrade(
                    migrations,
                    self.settings.database_url,
                    search_path=self.settings.database_schema,
                ),
            )
        # broker.start() waits until every subscribed topic exists; say so while it waits.
        topics = ", ".join(self.settings.topic_prefix + c.topic for c in self.consumers)
        self._startup_error = f"connecting to Kafka and subscribing to: {topics or 'nothing'}"
        await self._retry("kafka broker", self.broker.start)
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        for name, run in self._background:
            self._tasks.append(asyncio.create_task(run(), name=name))
        self.started = True
        self._startup_error = None
        log.info("%s started", self.service)

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._start(), name="startup"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.broker.stop()
        for consumer in self.consumers:
            await consumer.close()
        await self.db.dispose()

    # -- readiness -----------------------------------------------------------------------------

    def checks(self) -> dict[str, Check]:
        async def startup() -> None:
            if self._startup_error is not None:
                raise RuntimeError(self._startup_error)

        async def outbox_relay() -> None:
            if self.started and not self.relay.healthy:
                raise RuntimeError("the outbox relay cannot publish (broker or database down)")

        async def consumers() -> None:
            stalled = [c.topic for c in self.consumers if c.stalled]
            if stalled:
                raise RuntimeError(f"consumers stalled by an outage: {', '.join(stalled)}")

        checks: dict[str, Check] = {
            "startup": startup,
            "database": self.db.ping,
            "outbox_relay": outbox_relay,
            "consumers": consumers,
        }
        if self.store is not None:
            checks["object_store"] = self.store.ping
        return {**checks, **self._extra_checks}

    # -- HTTP ----------------------------------------------------------------------------------

    def create_app(
        self,
        *,
        title: str,
        description: str = "",
        routers: Sequence[APIRouter] = (),
        version: str = "1.0.0",
    ) -> FastAPI:
        runtime = self

        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            await runtime.start()
            try:
                yield
            finally:
                await runtime.stop()

        app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
        app.state.runtime = self
        install_problem_handlers(app)
        install_token_verifier(app, self.verifier)
        app.include_router(health_router(self.checks()))
        app.include_router(metrics_endpoint(PROMETHEUS))

        @app.get("/asyncapi.json", include_in_schema=False)
        async def asyncapi() -> JSONResponse:
            return JSONResponse(runtime.asyncapi())

        for router in routers:
            app.include_router(router)
        return app


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run one service process (``python -m qlvb_<service>``): JSON logs, uvicorn."""
    import uvicorn

    from qlvb_chassis.logs import configure_logging

    configure_logging(settings.service_name, settings.log_level, json_lines=settings.log_json)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
