"""A small client of the running system: people log in and call the HTTP APIs; agencies use a
real Kafka client (confluent-kafka), not the services' code."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from qlvb_contracts.edxml import EDXML_CONTENT_TYPE
from qlvb_contracts.registry import EXCHANGE_INBOUND, EXCHANGE_OUTBOUND, EXCHANGE_STATUS
from qlvb_stack.stack import Stack

T = TypeVar("T")

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


class UnexpectedResponse(AssertionError):
    pass


@dataclass
class System:
    stack: Stack
    urls: dict[str, str]
    password: str
    _tokens: dict[str, tuple[float, str]] = field(default_factory=dict)

    # -- people ---------------------------------------------------------------------------------

    def headers(self, user: str, **extra: str) -> dict[str, str]:
        issued, token = self._tokens.get(user, (0.0, ""))
        if time.monotonic() - issued > 300:  # access tokens live 10 minutes
            r = httpx.post(
                self.urls["identity"] + "/auth/login",
                json={"username": user, "password": self.password},
                timeout=30,
            )
            self.expect(r, 200)
            token = r.json()["access_token"]
            self._tokens[user] = (time.monotonic(), token)
        return {"Authorization": f"Bearer {token}", **extra}

    def call(
        self,
        method: str,
        service: str,
        path: str,
        user: str,
        *,
        expect: int | tuple[int, ...] = (200, 201),
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        extra = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        headers = {**self.headers(user, **extra), **kwargs.pop("headers", {})}
        r = httpx.request(method, self.urls[service] + path, headers=headers, timeout=60, **kwargs)
        return self.expect(r, expect)

    @staticmethod
    def expect(r: httpx.Response, status: int | tuple[int, ...]) -> httpx.Response:
        wanted = (status,) if isinstance(status, int) else status
        if r.status_code not in wanted:
            raise UnexpectedResponse(
                f"{r.request.method} {r.request.url} → {r.status_code}, wanted {wanted}: "
                f"{r.text[:800]}"
            )
        return r

    # -- agencies ------------------------------------------------------------------------------

    def agency_send(self, sender: str, package: bytes) -> None:
        producer = Producer(
            {
                "bootstrap.servers": self.stack.cfg.kafka_bootstrap,
                "acks": "all",
                "enable.idempotence": False,  # Tansu refuses idempotent producers
            }
        )
        errors: list[str] = []
        producer.produce(
            EXCHANGE_INBOUND,
            package,
            key=sender.encode(),
            headers=[("content-type", EDXML_CONTENT_TYPE.encode())],
            on_delivery=lambda err, _msg: errors.append(str(err)) if err else None,
        )
        assert producer.flush(30) == 0, "the agency's message was not delivered"
        assert not errors, errors

    def agency_received(self, organ_id: str) -> list[dict[str, Any]]:
        """Every envelope on exchange.status and exchange.outbound keyed by ``organ_id``, with
        its topic, read from the start (distinct message ids only: a relay may publish twice)."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.stack.cfg.kafka_bootstrap,
                "group.id": f"e2e-agency-{uuid.uuid4().hex[:8]}",  # required, never joined
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        # Assigned by hand (no group join): the agency reads everything from the beginning.
        metadata = consumer.list_topics(timeout=10)
        consumer.assign(
            [
                TopicPartition(topic, partition, OFFSET_BEGINNING)
                for topic in (EXCHANGE_STATUS, EXCHANGE_OUTBOUND)
                for partition in metadata.topics[topic].partitions
            ]
        )
        seen: dict[str, dict[str, Any]] = {}
        quiet_until = time.monotonic() + 6
        try:
            while time.monotonic() < quiet_until:
                msg = consumer.poll(0.5)
                if msg is None or msg.error():
                    continue
                quiet_until = time.monotonic() + 1.5
                if (msg.key() or b"").decode() != organ_id:
                    continue
                envelope = json.loads(msg.value() or b"{}")
                envelope["topic"] = msg.topic()
                seen[envelope["message_id"]] = envelope
        finally:
            consumer.close()
        return list(seen.values())

    # -- waiting for eventual consistency ------------------------------------------------------

    @staticmethod
    def wait_until(what: str, probe: Callable[[], T | None], timeout: float = 60) -> T:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = probe()
                if value:
                    return value
            except (UnexpectedResponse, httpx.HTTPError) as exc:
                last = exc
            time.sleep(0.3)
        raise AssertionError(f"timed out after {timeout}s waiting for {what} ({last})")

    def consumed(self, service: str, topic: str) -> float:
        """How many messages of ``topic`` the service finished with (any outcome), by /metrics."""
        text = httpx.get(self.urls[service] + "/metrics", timeout=10).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith("qlvb_consumer_messages_total{") and f'topic="{topic}"' in line:
                total += float(line.rsplit(" ", 1)[1])
        return total

    def published(self, service: str, topic: str) -> float:
        text = httpx.get(self.urls[service] + "/metrics", timeout=10).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("qlvb_outbox_published_total{") and f'topic="{topic}"' in line
        )

    def wait_for_demo_data(self) -> None:
        """Until every service has consumed the identity events the demo seed produced."""
        topic = "identity.events"
        total = self.wait_until("identity to publish", lambda: self.published("identity", topic))
        for service in ("intake", "routing", "issuance", "reporting"):
            self.wait_until(
                f"{service} to read the identity events",
                lambda s=service: self.consumed(s, topic) >= total,  # type: ignore[misc]
                timeout=90,
            )
