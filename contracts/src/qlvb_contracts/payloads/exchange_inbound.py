"""exchange.inbound — documents other agencies push to us, keyed by the sender's OrganId.

Two wire formats share the topic, told apart by the ``content-type`` header:

* ``edxml`` — the raw edXML package as the message value (:data:`EDXML_CONTENT_TYPE`);
* ``exchange_document`` v1 — JSON in the envelope: the MessageHeader fields, the business kind and
  the attachments, inline (small) or by claim-check (uploaded to the inbound bucket first).

Either way the document is deduplicated on its DocumentId (or the JSON message_id).
"""

from __future__ import annotations

from qlvb_contracts.edxml import (
    DEFAULT_MAX_EDXML_BYTES,
    EDXML_CONTENT_TYPE,
    EdXmlDocument,
    parse_edxml,
)
from qlvb_contracts.envelope import ENVELOPE_CONTENT_TYPE, Envelope
from qlvb_contracts.errors import ContractError
from qlvb_contracts.payloads.common import DocumentPackage
from qlvb_contracts.topics import Payload

EDXML_TYPE = "edxml"
"""The raw message type registered for this topic."""

_XML_CONTENT_TYPES = frozenset({EDXML_CONTENT_TYPE, "application/xml", "text/xml"})


class ExchangeDocument(DocumentPackage, Payload):
    """A document from another agency, as JSON; same fields as edXML MessageHeader."""

    EVENT_TYPE = "exchange_document"
    SCHEMA_VERSION = 1

    def aggregate_key(self) -> str:
        return self.From.OrganId


def decode_inbound(
    value: bytes, content_type: str | None, *, max_bytes: int = DEFAULT_MAX_EDXML_BYTES
) -> EdXmlDocument | Envelope:
    """Decode one exchange.inbound message by its content-type header.

    Returns the parsed edXML package, or the envelope of a JSON message (then use
    ``parse_payload(REGISTRY, EXCHANGE_INBOUND, envelope)`` to get the ExchangeDocument).
    A missing header means JSON. Raises ContractError (EdXMLError for edXML) when invalid.
    """
    media_type = (content_type or ENVELOPE_CONTENT_TYPE).split(";")[0].strip().lower()
    if media_type in _XML_CONTENT_TYPES:
        return parse_edxml(value, max_bytes=max_bytes)
    if media_type == ENVELOPE_CONTENT_TYPE:
        if len(value) > max_bytes:
            raise ContractError(f"message too large: {len(value)} bytes, limit {max_bytes}")
        return Envelope.from_bytes(value)
    raise ContractError(f"unsupported content-type {content_type!r} on exchange.inbound")
