"""Electronic sending (gửi văn bản điện tử): one edXML package per external recipient.

QCVN 102:2016: the package's MessageHeader repeats the document's fields; ``ResponseFor`` names
the incoming documents it answers that came from that agency electronically (it closes their reply
follow-up); a recall is the same header with ``Bussiness/BussinessDocType`` 1 and its reason.
Pure: builds contract models and edXML bytes, nothing is sent from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from qlvb_contracts import reference as ref
from qlvb_contracts.edxml import (
    Business,
    DocumentCode,
    DocumentKind,
    EdXmlDocument,
    MessageHeader,
    Organization,
    OtherDetails,
    Promulgation,
    ResponseTarget,
    Signer,
    Trace,
    TraceHeaderList,
    build_edxml,
)
from qlvb_contracts.errors import ContractError
from qlvb_contracts.payloads.common import (
    ClaimCheckAttachment,
    Recipient,
    ResponseLink,
    StoredAttachment,
)
from qlvb_contracts.payloads.exchange_outbound import OutboundPackage
from qlvb_issuance.domain.model import Agency


@dataclass(frozen=True)
class IssuedFacts:
    """What the packages say about the issued document."""

    outgoing_document_id: str
    code_number: int
    code_notation: str
    issued_date: date
    type_name: str
    subject: str
    signer: Signer
    priority: ref.Urgency
    due_date: date | None
    page_amount: int | None
    issued_amount: int | None
    appendixes: Sequence[str]
    recipients: Sequence[Recipient]
    responds_to: Sequence[ResponseLink]
    attachments: Sequence[StoredAttachment]

    @property
    def code(self) -> str:
        return ref.format_code(self.code_number, self.code_notation)


def document_id(organ_id: str, facts: IssuedFacts) -> str:
    """Our edXML DocumentId: "OrganId,yyyy/MM/dd,Code"."""
    return ref.build_document_id(organ_id, facts.issued_date, facts.code)


def response_targets(links: Sequence[ResponseLink], organ_id: str) -> list[ResponseTarget]:
    """ResponseFor entries for the incoming documents of ``organ_id`` that came electronically."""
    targets: list[ResponseTarget] = []
    for link in links:
        if link.DocumentId is None:
            continue  # a paper document: nothing electronic to answer
        try:
            parts = ref.parse_document_id(link.DocumentId)
        except ContractError:
            continue
        sender = link.OrganId or parts.organ_id
        if sender != organ_id:
            continue
        targets.append(
            ResponseTarget(
                OrganId=sender,
                Code=link.Code or parts.code,
                PromulgationDate=link.PromulgationDate or parts.promulgation_date,
                DocumentId=link.DocumentId,
            )
        )
    return targets


def outbound_packages(
    facts: IssuedFacts,
    *,
    us: Organization,
    place: str,
    agencies: Sequence[Agency],
    bucket: str,
    at: datetime,
    business: ref.BusinessDocType = ref.BusinessDocType.NEW,
    reason: str | None = None,
) -> list[OutboundPackage]:
    """One package per agency, each carrying its edXML rendering."""
    packages = []
    doc_id = document_id(us.OrganId, facts)
    files = [
        ClaimCheckAttachment(
            AttachmentName=a.AttachmentName,
            bucket=bucket,
            object_key=a.object_key,
            sha256=a.sha256,
            size=a.size,
            content_type=a.content_type,
        )
        for a in facts.attachments
    ]
    for agency in agencies:
        to = Organization(
            OrganId=agency.OrganId,
            OrganName=agency.OrganName,
            OrganAdd=agency.OrganAdd,
            Email=agency.Email,
            Telephone=agency.Telephone,
        )
        header = MessageHeader(
            From=us,
            To=[to],
            DocumentId=doc_id,
            Code=DocumentCode(
                CodeNumber=f"{facts.code_number:02d}", CodeNotation=facts.code_notation
            ),
            PromulgationInfo=Promulgation(Place=place, PromulgationDate=facts.issued_date),
            DocumentType=DocumentKind(TypeName=facts.type_name),
            Subject=facts.subject,
            SignerInfo=facts.signer,
            DueDate=facts.due_date,
            ToPlaces=[r.OrganName for r in facts.recipients],
            OtherInfo=OtherDetails(
                Priority=facts.priority,
                PromulgationAmount=facts.issued_amount,
                PageAmount=facts.page_amount,
                Appendixes=list(facts.appendixes),
            ),
            ResponseFor=response_targets(facts.responds_to, agency.OrganId),
        )
        trace = TraceHeaderList(
            TraceHeader=[Trace(OrganId=us.OrganId, Timestamp=at)],
            Bussiness=Business(BussinessDocType=business, BussinessDocReason=reason),
        )
        xml = build_edxml(EdXmlDocument(header=header, trace=trace))
        packages.append(
            OutboundPackage(
                **header.model_dump(),
                BussinessDocType=business,
                BussinessDocReason=reason,
                attachments=files,
                outgoing_document_id=facts.outgoing_document_id,
                recipient=agency.OrganId,
                edxml=xml,
            )
        )
    return packages
