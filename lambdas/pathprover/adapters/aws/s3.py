"""ArtifactStore on S3: bundles, manifests, benchmark samples."""

from __future__ import annotations

from typing import Any

from pathprover.adapters.aws.clients import AwsClients, call_with_throttle_retry, error_code
from pathprover.stages.naming import parse_s3_uri

_MISSING = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


class S3ArtifactStore:
    """:class:`~pathprover.protocols.ArtifactStore` under ``s3://bucket/prefix/``."""

    def __init__(self, clients: AwsClients, bucket: str, prefix: str = "", kms_key_id: str | None = None) -> None:
        parse_s3_uri(f"s3://{bucket}/")  # validates the bucket name
        self.clients = clients
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.kms_key_id = kms_key_id

    @property
    def _s3(self) -> Any:
        return self.clients.get("s3")

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _key(self, key: str) -> str:
        key = key.lstrip("/")
        if not key or ".." in key.split("/"):
            raise ValueError(f"invalid artifact key {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        full = self._key(key)
        extra: dict[str, Any] = {"ContentType": content_type}
        if self.kms_key_id:
            extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self.kms_key_id)
        call_with_throttle_retry(lambda: self._s3.put_object(Bucket=self.bucket, Key=full, Body=data, **extra))
        return f"s3://{self.bucket}/{full}"

    def location(self, uri: str) -> str:
        """On S3 the URI is where the object is."""
        return uri

    def get_bytes(self, uri: str) -> bytes:
        bucket, key = parse_s3_uri(uri)
        try:
            response = self._s3.get_object(Bucket=bucket, Key=key)
        except Exception as exc:
            if error_code(exc) in _MISSING:
                raise FileNotFoundError(uri) from exc
            raise
        data: bytes = response["Body"].read()
        return data

    def exists(self, uri: str) -> bool:
        bucket, key = parse_s3_uri(uri)
        try:
            self._s3.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            if error_code(exc) in _MISSING:
                return False
            raise
        return True
