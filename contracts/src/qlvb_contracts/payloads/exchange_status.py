"""exchange.status — status packages we send back to agencies, keyed by the addressee's OrganId.

Intake sends 01 (received), 02 (rejected, with the reason) and 03 (registered); routing's progress
may later add 04–06. ``build_status(package)`` renders the same data as edXML for agencies that
want XML.
"""

from __future__ import annotations

from qlvb_contracts.edxml import MessageStatus
from qlvb_contracts.payloads.common import Id
from qlvb_contracts.topics import Payload


class StatusPackage(MessageStatus, Payload):
    """An edXML MessageStatus as JSON. ResponseFor names the agency's document, and its OrganId
    is the addressee."""

    EVENT_TYPE = "status_package"
    SCHEMA_VERSION = 1

    incoming_document_id: Id | None = None
    """Our incoming document the status is about, for tracing."""

    def aggregate_key(self) -> str:
        return self.ResponseFor.OrganId
