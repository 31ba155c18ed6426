"""Kafka entrypoints: one handler per consumed topic, translating a delivery into a handler call.

Each runs inside the chassis' inbox transaction (the message id is recorded with the effect), so
a redelivered event has no second effect; events routing does not act on are acknowledged.
"""

from __future__ import annotations

from collections.abc import Mapping

from qlvb_chassis.calendar import WorkingCalendar
from qlvb_chassis.consumer import Delivery, Handler
from qlvb_chassis.db import UnitOfWork
from qlvb_contracts.payloads.intake import IncomingDocumentRegistered
from qlvb_contracts.payloads.issuance import OutgoingDocumentIssued
from qlvb_routing.service_layer import handlers


def on_incoming_document(
    calendar: WorkingCalendar, default_due_working_days: Mapping[int, int]
) -> Handler:
    """intake.incoming-documents: a registered document opens its handling case."""

    async def handle(delivery: Delivery, uow: UnitOfWork) -> None:
        if isinstance(delivery.payload, IncomingDocumentRegistered):
            await handlers.open_case_for_registered(
                uow,
                delivery.payload,
                delivery.envelope,
                calendar=calendar,
                default_due_working_days=default_due_working_days,
            )

    return handle


async def on_outgoing_document(delivery: Delivery, uow: UnitOfWork) -> None:
    """issuance.outgoing-documents: an issued reply processes the documents it answers."""
    if isinstance(delivery.payload, OutgoingDocumentIssued):
        await handlers.reply_issued(uow, delivery.payload)


async def on_identity_event(delivery: Delivery, uow: UnitOfWork) -> None:
    """identity.events: the read model of users, units and delegations."""
    await handlers.apply_identity_event(uow, delivery.payload)
