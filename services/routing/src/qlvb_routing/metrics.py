"""Business metrics of the routing service (Prometheus, prefixed qlvb_routing_)."""

from __future__ import annotations

from prometheus_client import Counter

EVENTS = Counter(
    "qlvb_routing_events_total",
    "Routing events recorded (case opened, task forwarded, draft finalized...), by type.",
    ["type"],
)
CASES_OPENED = Counter(
    "qlvb_routing_cases_opened_total",
    "Handling cases opened, by origin (incoming document, own initiative).",
    ["origin"],
)
INCOMING_PROCESSED = Counter(
    "qlvb_routing_incoming_processed_total",
    "Incoming documents that became processed because their reply was issued.",
)
REFUSED = Counter(
    "qlvb_routing_refused_acts_total",
    "Acts refused by the rules, by HTTP status (403, 404, 409, 422).",
    ["status"],
)
