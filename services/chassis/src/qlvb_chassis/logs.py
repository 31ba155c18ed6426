"""Structured logs (one JSON object per line) carrying the message and correlation ids.

The ids live in context variables, so every log line written while a message or a request is
handled carries them without passing them around; the outbox reads the same variables to stamp
the correlation and causation ids of the events that handling produces.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id_var: ContextVar[str | None] = ContextVar("causation_id", default=None)
"""The id of the message (or request) being handled: the cause of what it publishes."""


@contextmanager
def correlation_scope(correlation_id: str | None, causation_id: str | None) -> Iterator[None]:
    c_token = correlation_id_var.set(correlation_id)
    m_token = causation_id_var.set(causation_id)
    try:
        yield
    finally:
        correlation_id_var.reset(c_token)
        causation_id_var.reset(m_token)


_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured copy of msg
}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (cid := correlation_id_var.get()) is not None:
            out["correlation_id"] = cid
        if (mid := causation_id_var.get()) is not None:
            out["causation_id"] = mid
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(service: str, level: str = "INFO", *, json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka logs every reconnect attempt at ERROR while the broker is down; our own loops
    # report outages once, with context.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
