"""One handler per consumed topic: identity.events (read model) and exchange.inbound (agencies)."""

from __future__ import annotations

from qlvb_chassis.consumer import Delivery, Handler
from qlvb_chassis.db import UnitOfWork
from qlvb_contracts.payloads.identity import AgencyChanged, UserChanged
from qlvb_intake.service_layer import directory, inbound
from qlvb_intake.service_layer.context import Intake


async def on_identity_event(delivery: Delivery, uow: UnitOfWork) -> None:
    payload = delivery.payload
    if isinstance(payload, UserChanged):
        await directory.user_changed(uow.session, payload)
    elif isinstance(payload, AgencyChanged):
        await directory.agency_changed(uow.session, payload)
    # Org units and delegations are not needed by intake.


def on_inbound_package(ctx: Intake) -> Handler:
    async def handle(delivery: Delivery, uow: UnitOfWork) -> None:
        package = delivery.payload
        assert isinstance(package, inbound.InboundPackage)
        await inbound.accept(ctx, uow, package)

    return handle
