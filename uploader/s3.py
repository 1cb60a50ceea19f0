"""A delivery sink for S3-compatible object stores (SeaweedFS, MinIO, Ceph RGW, AWS S3), via boto3.

Every package is one object ``<prefix><record_id>.pkg``, written with a conditional PUT
(``If-None-Match: *``) and an ``x-amz-checksum-sha256`` the store verifies, so the store never
overwrites a record and never keeps damaged bytes. When the object already exists (412), its
stored checksum decides: the same bytes are a success (idempotent redelivery), other bytes a
permanent conflict.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from uploader.sink import DeliveryResult, SinkContext

# S3 error codes that say "the bytes were damaged on the way": the upload is retried.
_DAMAGED = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"})
# Statuses of a store that may answer otherwise later; 429 and 503 (SlowDown) mean the whole
# store asks for a rest.
_RETRYABLE_STATUSES = frozenset({408, 423, 425, 429, 500, 502, 503, 504})
_BUSY_STATUSES = frozenset({429, 503})


def sha256_base64(sha256_hex: str) -> str:
    """The hex SHA-256 the outbox keeps, in the base64 form S3 checksums use."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


@dataclass(frozen=True)
class S3Settings:
    """``[sinks.s3]``: the bucket, the store's URL (empty: AWS), the key prefix and region."""

    bucket: str
    endpoint_url: str = ""
    prefix: str = ""
    region: str = "us-east-1"

    def __post_init__(self) -> None:
        if not self.bucket:
            raise ValueError("set bucket to the bucket packages go to")
        parts = urlsplit(self.endpoint_url)
        if self.endpoint_url and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError(
                f"endpoint_url must be http(s)://host[:port], not {self.endpoint_url!r}"
            )


class S3Sink:
    """Stores packages in one bucket. Credentials come from boto3's usual chain (environment,
    shared files, instance roles) unless given here."""

    name = "s3"
    settings_type = S3Settings

    @classmethod
    def from_settings(cls, settings: S3Settings, context: SinkContext) -> S3Sink:
        return cls(
            settings.bucket,
            endpoint_url=settings.endpoint_url or None,
            prefix=settings.prefix,
            region=settings.region,
        )

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

    def deliver(self, record_id: str, data: bytes, sha256: str) -> DeliveryResult:
        """Conditional PUT with a SHA-256 checksum; the store's answer as a DeliveryResult."""
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
            return DeliveryResult.transport_failed(f"S3 PUT {record_id}: {exc}")
        return DeliveryResult.delivered(f"stored as s3://{self.bucket}/{self.key(record_id)}")

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

    def _answer_error(self, record_id: str, sha256: str, exc: ClientError) -> DeliveryResult:
        code = _code(exc)
        if _status(exc) == 412:
            return self._answer_existing(record_id, sha256)
        if _status(exc) == 409 and code == "ConditionalRequestConflict":
            # Another conditional write to this key is under way: the store is busy for now.
            return DeliveryResult.retry_later(code, _describe(exc), receiver_busy=True)
        if code in _DAMAGED:
            return DeliveryResult.retry_later("CONTENT_HASH_MISMATCH", _describe(exc))
        return _classify(code, exc)

    def _answer_existing(self, record_id: str, sha256: str) -> DeliveryResult:
        """The key exists (412): the same bytes are a success, other bytes a conflict."""
        try:
            stored = self.stored_sha256(record_id)
        except ClientError as exc:
            return _classify("HEAD_FAILED", exc)
        except BotoCoreError as exc:
            return DeliveryResult.transport_failed(f"S3 HEAD {record_id}: {exc}")
        if stored == sha256:
            return DeliveryResult.already_held("the store holds these exact bytes")
        return DeliveryResult.rejected(
            "RECORD_CONFLICT", f"{self.key(record_id)} holds other content"
        )


def _classify(reason: str, exc: ClientError) -> DeliveryResult:
    """A store error by its status: worth another try later, or final."""
    status = _status(exc)
    if status in _RETRYABLE_STATUSES:
        return DeliveryResult.retry_later(
            reason, _describe(exc), receiver_busy=status in _BUSY_STATUSES
        )
    return DeliveryResult.rejected(reason, _describe(exc))


def _describe(exc: ClientError) -> str:
    message = str(exc.response.get("Error", {}).get("Message", ""))
    return f"S3 {_status(exc)} {_code(exc)}: {message}".strip()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
