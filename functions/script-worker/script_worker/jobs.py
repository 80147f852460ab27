"""The job message (body of a script-executions message) and its validation.

A job must carry a MAC that verifies under the jobs key (`ForgedJobError` otherwise: refused, logged
as a security event and dropped, since nothing in it can be believed — not even whose run it names).
A signed message that fails the checks here is poison: it is never claimed or run, and is reported as
a batch item failure so that SQS redrive moves it to the dead-letter queue, where the results recorder
marks the execution failed."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from execfabric_runtime import Limits, LimitsError

from .signing import MessageKeys

JOB_KIND = "python-script"
MAX_ID_LENGTH = 256
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
#: A job older than this is refused even with a valid MAC (queue retention is 4 days).
MAX_JOB_AGE_SECONDS = 5 * 24 * 3600
#: How far in the future a job's issue time may be (clock skew between functions).
MAX_CLOCK_SKEW_SECONDS = 300


class JobError(ValueError):
    """The message is not a valid job; `field` names the offending part."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class ForgedJobError(JobError):
    """The message's MAC does not verify (or it is stale): not a job the platform sent."""


@dataclass(frozen=True)
class EgressGrant:
    """The run's sealed egress grant (passed untouched to the http-executor with each call) and the
    resources it names, for clear refusals before anything is relayed."""

    body: str
    mac: str
    declared: tuple[str, ...]
    resources: tuple[tuple[str, str], ...]  # (id, name) of each granted resource
    #: The version of each granted resource, by id, as the grant sealed it (0 if it names none).
    versions: tuple[tuple[str, int], ...] = ()

    def names(self, resource: str) -> bool:
        return any(resource in pair for pair in self.resources)

    def granted(self, resource: str) -> tuple[str, int] | None:
        """The id and version of the first granted resource whose id or name is `resource` (as the
        http-executor picks it); None if it names none."""
        for rid, name in self.resources:
            if resource in (rid, name):
                return rid, dict(self.versions).get(rid, 0)
        return None


@dataclass(frozen=True)
class DataGrant:
    """The run's sealed data grant (passed untouched to the data relay with each call) and the
    collections it names, for clear refusals before anything is relayed."""

    body: str
    mac: str
    collections: tuple[str, ...]


#: Most tenant parameters a job may carry (a Skill declares at most 32), and their size in all.
MAX_PARAMS = 64
MAX_PARAM_BYTES = 4096


@dataclass(frozen=True)
class Asset:
    id: str
    version: int
    sha256: str
    source: str


@dataclass(frozen=True)
class Job:
    job_id: str
    execution_id: str
    tenant_id: str
    skill_id: str
    asset: Asset
    input: dict[str, Any]
    limits: Limits
    requested_at: str
    egress: EgressGrant | None = None
    data: DataGrant | None = None
    params: dict[str, str] | None = None
    #: The Skill revision the run was requested of, echoed in its reports (None from an older job).
    skill_revision: int | None = None


def job_id_of(tenant_id: str, execution_id: str) -> str:
    return f"{tenant_id}:{execution_id}"


def _string(body: dict[str, Any], name: str, prefix: str = "") -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise JobError(f"must be a non-empty string of at most {MAX_ID_LENGTH} characters", prefix + name)
    return value


def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise JobError("must be an object", name)
    return value


def _epoch(text: str, field: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError as error:
        raise JobError("must be an ISO 8601 time", field) from error


def _egress(raw: object) -> EgressGrant | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("body"), str) or not isinstance(raw.get("mac"), str):
        raise JobError("must be a sealed grant {body, mac}", "egress")
    try:
        grant = json.loads(raw["body"])
        declared = tuple(str(item) for item in grant["declared"])
        resources = tuple((str(item["id"]), str(item["name"])) for item in grant["resources"])
        versions = tuple(
            (str(item["id"]), item["version"] if type(item.get("version")) is int else 0) for item in grant["resources"]
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise JobError("is not a readable grant", "egress") from error
    return EgressGrant(body=raw["body"], mac=raw["mac"], declared=declared, resources=resources, versions=versions)


def _data(raw: object) -> DataGrant | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("body"), str) or not isinstance(raw.get("mac"), str):
        raise JobError("must be a sealed grant {body, mac}", "data")
    try:
        grant = json.loads(raw["body"])
        collections = tuple(str(item) for item in grant["collections"])
    except (ValueError, KeyError, TypeError) as error:
        raise JobError("is not a readable grant", "data") from error
    return DataGrant(body=raw["body"], mac=raw["mac"], collections=collections)


def _params(raw: object) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) > MAX_PARAMS:
        raise JobError(f"must be an object of at most {MAX_PARAMS} parameters", "params")
    params: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str) or len(value.encode("utf-8", "surrogatepass")) > MAX_PARAM_BYTES:
            raise JobError(f"values are strings of at most {MAX_PARAM_BYTES} bytes", f"params.{key}")
        params[str(key)] = value
    return params


def parse_job(body: str, mac: object, keys: MessageKeys, now: float) -> Job:
    if not keys.verify("job", body, mac):
        raise ForgedJobError("the job's MAC does not verify under the jobs key")
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise JobError(f"not JSON ({error})") from error
    if not isinstance(raw, dict):
        raise JobError("the job must be a JSON object")
    if raw.get("kind") != JOB_KIND:
        raise JobError(f"must be {JOB_KIND!r}", "kind")
    tenant_id = _string(raw, "tenantId")
    execution_id = _string(raw, "executionId")
    job_id = raw.get("jobId")
    if job_id != job_id_of(tenant_id, execution_id):
        raise JobError("must be '<tenantId>:<executionId>'", "jobId")
    skill_id = _string(raw, "skillId")
    skill_revision = raw.get("skillRevision")
    if skill_revision is not None and (
        isinstance(skill_revision, bool) or not isinstance(skill_revision, int) or skill_revision < 1
    ):
        raise JobError("must be a positive integer", "skillRevision")
    requested_at = _string(raw, "requestedAt")
    issued = _epoch(_string(raw, "issuedAt"), "issuedAt")
    if issued < now - MAX_JOB_AGE_SECONDS or issued > now + MAX_CLOCK_SKEW_SECONDS:
        raise ForgedJobError("the job was issued too long ago (or in the future): refused as a replay")

    asset_raw = _object(raw, "asset")
    version = asset_raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise JobError("must be a positive integer", "asset.version")
    sha256 = asset_raw.get("sha256")
    if not isinstance(sha256, str) or not SHA256_HEX.fullmatch(sha256):
        raise JobError("must be 64 lowercase hex digits", "asset.sha256")
    source = asset_raw.get("source")
    if not isinstance(source, str):
        raise JobError("must be a string", "asset.source")
    if hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest() != sha256:
        raise JobError("does not match the SHA-256 of the source (UTF-8)", "asset.sha256")
    asset = Asset(id=_string(asset_raw, "id", "asset."), version=version, sha256=sha256, source=source)

    try:
        limits = Limits.parse(raw.get("limits"))
    except LimitsError as error:
        raise JobError(str(error), "limits") from error
    return Job(
        job_id=job_id,
        execution_id=execution_id,
        tenant_id=tenant_id,
        skill_id=skill_id,
        skill_revision=skill_revision,
        asset=asset,
        input=_object(raw, "input"),
        limits=limits,
        requested_at=requested_at,
        egress=_egress(raw.get("egress")),
        data=_data(raw.get("data")),
        params=_params(raw.get("params")),
    )
