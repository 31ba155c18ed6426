"""The topics of QLVB (ARCHITECTURE §2). Payload models are attached as they are published."""

from __future__ import annotations

from qlvb_contracts.topics import Topic, TopicRegistry

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
        ),
        Topic(
            name=INTAKE_DOCUMENTS,
            description="Incoming documents received, registered, returned or rejected.",
            producers=("intake",),
            consumers=("routing", "reporting"),
            key="incoming document id",
        ),
        Topic(
            name=ROUTING_EVENTS,
            description="Handling cases, tasks, work files and drafts; finalized for issuance.",
            producers=("routing",),
            consumers=("issuance", "reporting"),
            key="handling case id (work file id for work-file events)",
        ),
        Topic(
            name=ISSUANCE_DOCUMENTS,
            description="Outgoing documents numbered, issued, voided or recalled.",
            producers=("issuance",),
            consumers=("routing", "reporting"),
            key="outgoing register id",
        ),
        Topic(
            name=EXCHANGE_INBOUND,
            description="Other agencies push edXML (QCVN 102:2016) or JSON documents to us.",
            producers=("external agencies",),
            consumers=("intake",),
            key="sender OrganId",
            external=True,
        ),
        Topic(
            name=EXCHANGE_STATUS,
            description="edXML status packages (01 received, 02 rejected, 03 registered...).",
            producers=("intake",),
            consumers=("external agencies",),
            key="the OrganId the status is addressed to",
            external=True,
        ),
        Topic(
            name=EXCHANGE_OUTBOUND,
            description="Outgoing documents as edXML packages, one per external recipient.",
            producers=("issuance",),
            consumers=("external agencies",),
            key="recipient OrganId",
            external=True,
        ),
    ]
)
