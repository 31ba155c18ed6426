"""Business metrics of the identity service (Prometheus, prefixed qlvb_identity_)."""

from __future__ import annotations

from prometheus_client import Counter

LOGINS = Counter(
    "qlvb_identity_logins_total",
    "Login attempts by outcome (succeeded, failed, locked, throttled, inactive).",
    ["outcome"],
)
LOCKOUTS = Counter("qlvb_identity_lockouts_total", "Accounts locked after repeated failures.")
TOKENS_ISSUED = Counter(
    "qlvb_identity_tokens_issued_total", "Access tokens issued, by grant.", ["grant"]
)
REFRESH_REUSE = Counter(
    "qlvb_identity_refresh_reuse_total",
    "Spent refresh tokens presented again (the session family was revoked).",
)
AUDITED = Counter(
    "qlvb_identity_audit_entries_total", "Entries appended to the audit log, by action.", ["action"]
)
