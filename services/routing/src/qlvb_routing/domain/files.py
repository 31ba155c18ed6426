"""Which uploaded files may be a draft (dự thảo) or a proposal (tờ trình).

Content is recognised by its bytes, never by the name the client gives. PDF and scans use the
chassis' magic-byte allow-list. Word documents (.docx) are ZIP archives, so they are opened and
inspected with caps (entry count, total uncompressed size, no absolute or parent paths) before
being accepted; any other archive is refused.
"""

from __future__ import annotations

import io
import zipfile

from qlvb_chassis.storage import sniff_content_type

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ALLOWED_PLAIN = frozenset({"application/pdf", "image/png", "image/jpeg", "image/tiff"})
MAX_ZIP_ENTRIES = 2000
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024


def _docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                return False
            if sum(e.file_size for e in entries) > MAX_UNCOMPRESSED_BYTES:
                return False
            names = {e.filename for e in entries}
            if any(n.startswith("/") or ".." in n.split("/") for n in names):
                return False
            return "[Content_Types].xml" in names and "word/document.xml" in names
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def sniff_draft_file(data: bytes) -> str | None:
    """The content type of an acceptable draft or proposal file, or None."""
    plain = sniff_content_type(data, ALLOWED_PLAIN)
    if plain is not None:
        return plain
    if data.startswith(b"PK\x03\x04") and _docx(data):
        return DOCX
    return None
