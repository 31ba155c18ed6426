"""The append-only, hash-chained audit log (nhật ký) of every change of accounts and rights.

Each entry stores ``hash = sha256(previous hash + canonical JSON of its own content)``; editing or
deleting any earlier entry breaks every later hash, which :func:`first_broken` finds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

GENESIS = "0" * 64


def canonical(content: Mapping[str, Any]) -> str:
    return json.dumps(
        content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def chain_hash(previous: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256((previous + canonical(content)).encode("utf-8")).hexdigest()


def first_broken(entries: Iterable[tuple[int, str, str, Mapping[str, Any]]]) -> int | None:
    """The sequence number of the first entry whose link does not hold, or None.

    ``entries`` are (seq, prev_hash, hash, content) in sequence order, from the first entry.
    """
    previous = GENESIS
    for seq, prev_hash, stored_hash, content in entries:
        if prev_hash != previous or chain_hash(previous, content) != stored_hash:
            return seq
        previous = stored_hash
    return None
