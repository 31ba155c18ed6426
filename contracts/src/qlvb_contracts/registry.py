"""The topics of QLVB (ARCHITECTURE §2) with the payload models published on each."""

from __future__ import annotations

from qlvb_contracts.edxml import EDXML_CONTENT_TYPE
from qlvb_contracts.payloads import identity, intake, issuance, routing
from qlvb_contracts.payloads.exchange_inbound import EDXML_TYPE, ExchangeDocument
from qlvb_contracts.payloads.exchange_outbound import OutboundPackage
from qlvb_contracts.payloads.exchange_status import StatusPackage
from qlvb_contracts.topics import Topic, TopicRegistry, payload_versions

IDENTITY_EVENTS = "identity.events"
INTAKE_DOCUMENTS = "intake.incoming-documents"
ROUTING_EVENTS = "routing.events"
ISSUANCE_DOCUMENTS = "issuance.outgoing-documents"
EXCHANGE_INBOUND = "exchange.inbound"
EXCHANGE_STATUS = "exchange.status"
EXCHANGE_OUTBOUND = "exchange.outbound"

REGISTRY = TopicRegistry(
    [
        Topic(
            name=IDENTITY_EVENTS,
            description="Users, org units, roles, delegations and the agency directory changed.",
            producers=("identity",),
            consumers=("intake", "routing", "issuance", "reporting"),
            key="aggregate id (user, unit, delegation or agency id)",
            payloads=payload_versions(
                identity.UserChanged,
                identity.OrgUnitChanged,
                identity.DelegationChanged,
                identity.AgencyChanged,
            ),
        ),
        Topic(
            name=INTAKE_DOCUMENTS,
            description="Incoming documents received, registered, returned or rejected.",
            producers=("intake",),
            consumers=("routing", "reporting"),
            key="incoming document id",
            payloads=payload_versions(
                intake.IncomingDocumentReceived,
                intake.IncomingDocumentRegistered,
                intake.IncomingDocumentReturned,
                intake.IncomingDocumentRejected,
            ),
        ),
        Topic(
            name=ROUTING_EVENTS,
            description="Handling cases, tasks, work files and drafts; finalized for issuance.",
            producers=("routing",),
            consumers=("issuance", "reporting"),
            key="handling case id (work file id for work-file events)",
            payloads=payload_versions(
                routing.CaseOpened,
                routing.TaskAssigned,
                routing.TaskForwarded,
                routing.TaskFiledForReference,
                routing.TaskProcessingSlip,
                routing.TaskWaiting,
                routing.TaskCompleted,
                routing.DraftSubmitted,
                routing.DraftReturned,
                routing.DraftApproved,
                routing.DirectionRecorded,
                routing.WorkFileOpened,
                routing.WorkFileDocumentLinked,
                routing.WorkFileDocumentUnlinked,
                routing.WorkFileClosed,
                routing.DocumentFinalizedForIssuance,
            ),
        ),
        Topic(
            name=ISSUANCE_DOCUMENTS,
            description="Outgoing documents numbered, issued, voided or recalled.",
            producers=("issuance",),
            consumers=("routing", "reporting"),
            key="outgoing register id",
            payloads=payload_versions(
                issuance.OutgoingDocumentNumbered,
                issuance.OutgoingDocumentIssued,
                issuance.OutgoingDocumentNumberVoided,
                issuance.OutgoingDocumentRecalled,
            ),
        ),
        Topic(
            name=EXCHANGE_INBOUND,
            description="Other agencies push edXML (QCVN 102:2016) or JSON documents to us.",
            producers=("external agencies",),
            consumers=("intake",),
            key="sender OrganId",
            payloads=payload_versions(ExchangeDocument),
            raw_types={EDXML_TYPE: EDXML_CONTENT_TYPE},
            external=True,
        ),
        Topic(
            name=EXCHANGE_STATUS,
            description="edXML status packages (01 received, 02 rejected, 03 registered...).",
            producers=("intake",),
            consumers=("external agencies",),
            key="the OrganId the status is addressed to",
            payloads=payload_versions(StatusPackage),
            external=True,
        ),
        Topic(
            name=EXCHANGE_OUTBOUND,
            description="Outgoing documents as edXML packages, one per external recipient.",
            producers=("issuance",),
            consumers=("external agencies",),
            key="recipient OrganId",
            payloads=payload_versions(OutboundPackage),
            external=True,
        ),
    ]
)
