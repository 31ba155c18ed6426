"""exchange.outbound — our issued documents (and recalls) for other agencies, one package per
recipient, keyed by the recipient's OrganId.

Same shape as the inbound JSON contract; the issued files usually go by claim-check from the
issuance bucket. A recall is a package with BussinessDocType 1 (revocation) and its reason.
"""

from __future__ import annotations

from pydantic import model_validator

from qlvb_contracts import reference as ref
from qlvb_contracts.edxml import Base64Content
from qlvb_contracts.payloads.common import DocumentPackage, Id
from qlvb_contracts.topics import Payload


class OutboundPackage(DocumentPackage, Payload):
    """An outgoing document addressed to one agency."""

    EVENT_TYPE = "outbound_package"
    SCHEMA_VERSION = 1

    outgoing_document_id: Id
    recipient: ref.OrganIdentifier
    """The OrganId this package is for; one of ``To``."""
    edxml: Base64Content | None = None
    """The same package serialized as edXML (QCVN 102:2016, ``build_edxml``): MessageHeader and
    TraceHeaderList (Bussiness carries a recall); the files travel by claim-check in
    ``attachments``, so the XML has no AttachmentEncoded. Base64 in JSON."""

    @model_validator(mode="after")
    def _recipient_is_addressed(self) -> OutboundPackage:
        if self.recipient not in {to.OrganId for to in self.To}:
            raise ValueError(f"recipient {self.recipient} is not among To")
        return self

    def aggregate_key(self) -> str:
        return self.recipient
