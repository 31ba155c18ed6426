"""Business metrics of intake (Prometheus), next to the chassis' own."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TIME_TO_REGISTER = Histogram(
    "qlvb_intake_time_to_register_working_seconds",
    "Working time from receipt to registration and forwarding (SLA: 4 working hours).",
    ["channel"],
    buckets=(300, 900, 1800, 3600, 7200, 10800, 14400, 21600, 28800, 57600, 144000),
)
REGISTERED = Counter(
    "qlvb_intake_documents_registered_total", "Incoming documents registered.", ["channel"]
)
SLA_MISSED = Counter(
    "qlvb_intake_sla_missed_total",
    "Documents registered after their register-and-forward deadline.",
    ["channel"],
)
RETURNED = Counter(
    "qlvb_intake_documents_returned_total", "Documents returned with a return slip.", ["channel"]
)
REFUSED = Counter(
    "qlvb_intake_documents_refused_total",
    "Documents refused as out of scope (confidential, complaint) or unacceptable.",
    ["channel", "category"],
)
INBOUND = Counter(
    "qlvb_intake_inbound_packages_total",
    "Agencies' packages on exchange.inbound, by outcome.",
    ["outcome"],
)
