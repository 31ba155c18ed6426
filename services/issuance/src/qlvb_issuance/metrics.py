"""Business metrics of the issuance service (the chassis adds HTTP, outbox and consumer ones)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

QUEUED = Counter(
    "qlvb_issuance_documents_queued_total",
    "Finalized documents that entered the clerks' issue queue.",
)
NUMBERED = Counter(
    "qlvb_issuance_numbers_allocated_total",
    "Numbers taken from outgoing registers.",
    ["register"],
)
ISSUED = Counter(
    "qlvb_issuance_documents_issued_total",
    "Outgoing documents issued.",
    ["register"],
)
VOIDED = Counter(
    "qlvb_issuance_numbers_voided_total",
    "Numbers voided (spoiled); they stay in the register.",
    ["register"],
)
RECALLED = Counter(
    "qlvb_issuance_documents_recalled_total",
    "Issued documents recalled.",
)
PACKAGES = Counter(
    "qlvb_issuance_outbound_packages_total",
    "edXML packages put on exchange.outbound, by business kind (0 new, 1 revocation).",
    ["business"],
)
ISSUE_SECONDS = Histogram(
    "qlvb_issuance_issue_seconds",
    "Time of one issue transaction (numbering included), committed ones only.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
