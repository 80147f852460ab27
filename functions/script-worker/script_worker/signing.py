"""Proof on internal messages, the Python side of `functions/core/messages/signing.ts`: an HMAC-SHA256
under a key tenant code never sees, over a label and the exact body bytes, as `v1.<base64url>`.

The worker verifies every job it is handed (the jobs key) and signs every report it sends (the
reports key); a job whose MAC does not verify is refused and nothing in it is believed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

VERSION = "v1"
MAC_ATTRIBUTE = "execfabric-mac"
MIN_KEY_LENGTH = 32


class MessageKeyError(RuntimeError):
    """A key the worker needs is missing or unusable."""


def _mac(key: str, label: str, body: str) -> bytes:
    message = f"execfabric/{label}/{VERSION}\n".encode() + body.encode("utf-8", "surrogatepass")
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest()


@dataclass(frozen=True)
class MessageKeys:
    jobs: str
    reports: str

    def __post_init__(self) -> None:
        for name in ("jobs", "reports"):
            if len(getattr(self, name)) < MIN_KEY_LENGTH:
                raise MessageKeyError(f"the {name} message key is shorter than {MIN_KEY_LENGTH} characters")

    def _key(self, label: str) -> str:
        return self.reports if label == "report" else self.jobs

    def sign(self, label: str, body: str) -> str:
        digest = base64.urlsafe_b64encode(_mac(self._key(label), label, body)).rstrip(b"=").decode("ascii")
        return f"{VERSION}.{digest}"

    def verify(self, label: str, body: str, signature: object) -> bool:
        if not isinstance(signature, str) or not signature.startswith(VERSION + "."):
            return False
        given = signature[len(VERSION) + 1 :]
        try:
            raw = base64.urlsafe_b64decode(given + "=" * (-len(given) % 4))
        except (ValueError, TypeError):
            return False
        return hmac.compare_digest(raw, _mac(self._key(label), label, body))

    def __repr__(self) -> str:  # never print a key
        return "MessageKeys(<jobs>, <reports>)"


def mac_of(record: Mapping[str, Any]) -> str | None:
    """The MAC an SQS record carries (Lambda's event shape)."""
    attributes = record.get("messageAttributes")
    if not isinstance(attributes, Mapping):
        return None
    attribute = attributes.get(MAC_ATTRIBUTE)
    if not isinstance(attribute, Mapping):
        return None
    value = attribute.get("stringValue")
    return value if isinstance(value, str) else None


def keys_from_env(env: Mapping[str, str] = os.environ, secrets: Any = None) -> MessageKeys:
    """The keys from `EXECFABRIC_{JOBS,REPORTS}_KEY` (a value) or `…_KEY_SECRET` (a Secrets Manager id,
    read with the given boto3 client, or one made here)."""
    values: dict[str, str] = {}
    for purpose in ("jobs", "reports"):
        name = f"EXECFABRIC_{purpose.upper()}_KEY"
        if env.get(name):
            values[purpose] = env[name]
            continue
        secret_id = env.get(f"{name}_SECRET")
        if not secret_id:
            raise MessageKeyError(f"neither {name} nor {name}_SECRET is set")
        if secrets is None:
            import boto3  # the Lambda runtime's; never needed locally

            secrets = boto3.client("secretsmanager")
        values[purpose] = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    return MessageKeys(jobs=values["jobs"], reports=values["reports"])
