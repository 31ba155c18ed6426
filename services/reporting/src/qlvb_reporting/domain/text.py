"""Diacritics-insensitive text for search (tra cứu, seed Đ17).

The reporting database role cannot ``CREATE EXTENSION unaccent``, so every searchable text is
normalized here, in Python, and stored beside the original: "Quyết định" → "quyet dinh". The same
function normalizes the user's query, so both sides meet in plain ASCII-ish lower case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# đ/Đ is a letter of its own, not d plus a combining mark: NFD leaves it alone.
_SPECIAL = str.maketrans({"đ": "d", "Đ": "d"})
_TOKEN = re.compile(r"[0-9a-z]+")


def normalize(text: str) -> str:
    """Lower case, without diacritics, đ → d; other characters kept."""
    decomposed = unicodedata.normalize("NFD", text.translate(_SPECIAL))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).lower()


def search_text(parts: Iterable[object]) -> str:
    """The words of every searchable field of a document, normalized, space separated.

    Punctuation is dropped so that a code "12/QĐ-UBND" is stored as "12 qd ubnd" and matches a
    query written with or without its slashes and dashes.
    """
    return " ".join(" ".join(query_tokens(str(p))) for p in parts if p is not None and str(p))


def query_tokens(query: str) -> list[str]:
    """The words of a user's query, normalized; only [0-9a-z] so they are safe in a tsquery."""
    return _TOKEN.findall(normalize(query))


def prefix_tsquery(query: str) -> str | None:
    """A PostgreSQL tsquery matching documents that contain every word (as a word prefix).

    Prefixes let "quyet dinh 12" find "Quyết định 125"; None when the query has no words.
    """
    tokens = query_tokens(query)
    if not tokens:
        return None
    return " & ".join(f"{t}:*" for t in tokens)
