"""Object storage (S3 / MinIO / SeaweedFS) for scans, drafts and issued files.

Object keys are generated (never the client's file name), the sha256 is computed on the way in,
content is sniffed by magic bytes against an allow-list, and downloads go through short-lived
presigned URLs. The minio client is synchronous: every call runs in a worker thread so it never
blocks the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from minio import Minio

from qlvb_chassis.settings import ServiceSettings

MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}
"""Scans accepted by default (NĐ 30/2020: PDF; images from scanners)."""


def sniff_content_type(data: bytes, allowed: frozenset[str] | None = None) -> str | None:
    """The content type the bytes really are, if it is on the allow-list; else None."""
    for content_type, signatures in MAGIC.items():
        if allowed is not None and content_type not in allowed:
            continue
        if any(data.startswith(sig) for sig in signatures):
            return content_type
    return None


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    sha256: str
    size: int
    content_type: str


class ObjectStore:
    def __init__(self, settings: ServiceSettings, bucket: str) -> None:
        self.bucket = bucket
        self.client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
        )

    @staticmethod
    def new_key(prefix: str) -> str:
        now = datetime.now(UTC)
        return f"{prefix.strip('/')}/{now:%Y/%m}/{uuid.uuid4().hex}"

    async def put(self, data: bytes, *, content_type: str, prefix: str) -> StoredObject:
        key = self.new_key(prefix)
        digest = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(
            self.client.put_object,
            self.bucket,
            key,
            io.BytesIO(data),
            len(data),
            content_type=content_type,
            metadata={"sha256": digest},
        )
        return StoredObject(self.bucket, key, digest, len(data), content_type)

    async def get(self, key: str, *, bucket: str | None = None) -> bytes:
        def read() -> bytes:
            response = self.client.get_object(bucket or self.bucket, key)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        return await asyncio.to_thread(read)

    async def presigned_get(
        self, key: str, *, expires: timedelta = timedelta(minutes=5), filename: str | None = None
    ) -> str:
        headers: dict[str, str | list[str] | tuple[str]] | None = None
        if filename:
            safe = filename.replace('"', "").replace("\n", " ")
            headers = {"response-content-disposition": f'attachment; filename="{safe}"'}
        url = await asyncio.to_thread(
            self.client.presigned_get_object,
            self.bucket,
            key,
            expires=expires,
            response_headers=headers,
        )
        return str(url)

    async def ping(self) -> None:
        exists = await asyncio.to_thread(self.client.bucket_exists, self.bucket)
        if not exists:
            raise RuntimeError(f"bucket {self.bucket} does not exist")
