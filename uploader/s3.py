"""A delivery sink for S3-compatible object stores (SeaweedFS, MinIO, Ceph RGW, AWS S3), via boto3.

Every package is one object ``<prefix><record_id>.pkg``, written with a conditional PUT
(``If-None-Match: *``) and an ``x-amz-checksum-sha256`` the store verifies, so the store never
overwrites a record and never keeps damaged bytes. When the object already exists (412), its
stored checksum decides: the same bytes are a success (idempotent redelivery), other bytes a
permanent conflict.
"""

from __future__ import annotations

import base64
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from uploader.centre_client import CentreUnreachable, UploadResult

# S3 error codes that say "the bytes were damaged on the way": the upload is retried.
_DAMAGED = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"})


def sha256_base64(sha256_hex: str) -> str:
    """The hex SHA-256 the outbox keeps, in the base64 form S3 checksums use."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


class S3Sink:
    """Stores packages in one bucket. Credentials come from boto3's usual chain (environment,
    shared files, instance roles) unless given here."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        prefix: str = "",
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._s3: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(
                connect_timeout=timeout,
                read_timeout=timeout,
                retries={"max_attempts": 1, "mode": "standard"},  # the delivery worker retries
                s3={"addressing_style": "path"},
            ),
        )

    def key(self, record_id: str) -> str:
        return f"{self.prefix}{record_id}.pkg"

    def upload(self, record_id: str, data: bytes, sha256: str) -> UploadResult:
        """Conditional PUT with a SHA-256 checksum. Raises CentreUnreachable on network errors."""
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=self.key(record_id),
                Body=data,
                IfNoneMatch="*",
                ChecksumSHA256=sha256_base64(sha256),
                ContentType="application/octet-stream",
                Metadata={"sha256": sha256},
            )
        except ClientError as exc:
            return self._answer_error(record_id, sha256, exc)
        except BotoCoreError as exc:
            raise CentreUnreachable(f"S3 PUT {record_id}: {exc}") from exc
        return UploadResult(201, "STORED", f"stored as s3://{self.bucket}/{self.key(record_id)}")

    def stored_sha256(self, record_id: str) -> str | None:
        """The hex SHA-256 of the stored object, or None when there is none."""
        try:
            head = self._s3.head_object(
                Bucket=self.bucket, Key=self.key(record_id), ChecksumMode="ENABLED"
            )
        except ClientError as exc:
            if _status(exc) == 404:
                return None
            raise
        checksum = head.get("ChecksumSHA256")
        if checksum and "-" not in checksum:
            return base64.b64decode(checksum).hex()
        return str(head.get("Metadata", {}).get("sha256", "")) or None

    def _answer_error(self, record_id: str, sha256: str, exc: ClientError) -> UploadResult:
        status = _status(exc)
        code = str(exc.response.get("Error", {}).get("Code", ""))
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if status == 412:
            try:
                stored = self.stored_sha256(record_id)
            except ClientError as head_error:
                return UploadResult(_status(head_error), "HEAD_FAILED", str(head_error))
            except BotoCoreError as head_error:
                raise CentreUnreachable(f"S3 HEAD {record_id}: {head_error}") from head_error
            if stored == sha256:
                return UploadResult(200, "ALREADY_STORED", "the store holds these exact bytes")
            return UploadResult(
                409, "RECORD_CONFLICT", f"{self.key(record_id)} holds other content"
            )
        if status == 409 and code == "ConditionalRequestConflict":
            return UploadResult(503, code, message)  # a concurrent conditional write: retry
        if code in _DAMAGED:
            return UploadResult(status, "CONTENT_HASH_MISMATCH", message)
        return UploadResult(status, code, message)


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
