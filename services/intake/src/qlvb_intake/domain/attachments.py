"""What files intake accepts, judged by their bytes (magic numbers), never by name or header."""

from __future__ import annotations

import io
import zipfile

from qlvb_chassis.storage import sniff_content_type

SCAN_TYPES = frozenset({"application/pdf", "image/tiff", "image/png", "image/jpeg"})
"""Scans of paper documents (NĐ 30/2020: PDF; images from scanners)."""

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
ZIP_MAX_ENTRIES = 2000
ZIP_MAX_UNCOMPRESSED = 200 * 1024 * 1024


def sniff_scan(data: bytes) -> str | None:
    """The scan's real content type if it is PDF, TIFF, PNG or JPEG; else None."""
    return sniff_content_type(data, SCAN_TYPES)


def sniff_electronic(data: bytes) -> str | None:
    """The real content type of an agency's attachment, or None if it is not acceptable.

    Beyond scans, agencies send office files (OOXML/ODF are zip archives: inspected with caps on
    entries and expanded size, zip bombs refused), legacy Word/Excel (OLE2) and plain UTF-8 text.
    """
    known = sniff_content_type(data, SCAN_TYPES)
    if known is not None:
        return known
    if data.startswith(OLE2_MAGIC):
        return "application/x-ole-storage"
    if data.startswith(ZIP_MAGIC):
        return _office_archive(data)
    return _plain_text(data)


def _office_archive(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > ZIP_MAX_ENTRIES:
                return None
            if sum(e.file_size for e in entries) > ZIP_MAX_UNCOMPRESSED:
                return None
            names = {e.filename for e in entries}
    except (zipfile.BadZipFile, ValueError):
        return None
    if "[Content_Types].xml" in names:
        return "application/vnd.openxmlformats-officedocument"
    if "mimetype" in names:
        return "application/vnd.oasis.opendocument"
    return None


def _plain_text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(ch) < 32 and ch not in "\t\r\n\f" for ch in text):
        return None
    return "text/plain; charset=utf-8"
