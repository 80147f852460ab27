"""The worker's ports: claiming a job id (so a redelivered message never runs twice), reading a stop
request on that claim (a cancel), sending a signed message to the execution-results queue, and
relaying a script's `ctx.http` / `ctx.data` call to the http-executor or the data relay.
`Boto3Ports` is the AWS implementation; the local platform and the tests provide their own."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Protocol

from .signing import MAC_ATTRIBUTE

CLAIMS_TABLE_ENV = "EXECFABRIC_CLAIMS_TABLE"
RESULTS_QUEUE_ENV = "EXECFABRIC_QUEUE_EXECUTION_RESULTS"
HTTP_EXECUTOR_ENV = "EXECFABRIC_FUNCTION_HTTP_EXECUTOR"
DATA_RELAY_ENV = "EXECFABRIC_FUNCTION_DATA_RELAY"
#: The functions a script's calls are relayed to, by the call's target (its `op`'s function).
RELAY_TARGETS = {"http-executor": HTTP_EXECUTOR_ENV, "data-relay": DATA_RELAY_ENV}
DYNAMODB_ENDPOINT_ENV = "EXECFABRIC_DYNAMODB_ENDPOINT"
SQS_ENDPOINT_ENV = "EXECFABRIC_SQS_ENDPOINT"
#: A relayed call waits at most this long for the http-executor (whose own timeout is shorter).
RELAY_READ_TIMEOUT_SECONDS = 70


class PortError(RuntimeError):
    """A port could not do its job (infrastructure failure)."""


class Ports(Protocol):
    def claim(self, job_id: str, expires_at_epoch: int, now: float) -> bool:
        """True if this call claimed the job (at `now`, epoch seconds), False if it had already been
        claimed."""
        ...

    def last_sign_of_life(self, job_id: str) -> float | None:
        """When the attempt holding the job last showed it was alive (its claim or its latest
        heartbeat, epoch seconds); None when the claim is not a worker's (a cancel's) or is gone."""
        ...

    def heartbeat(self, job_id: str, now: float) -> bool:
        """Marks the claimed job alive at `now`; True once someone asked to stop it (a cancel)."""
        ...

    def send(self, body: str, mac: str) -> None:
        """Sends one message body, with its MAC, to the execution-results queue."""
        ...

    def relay(self, payload: dict[str, Any], timeout: float, target: str = "http-executor") -> dict[str, Any]:
        """Asks `target` (the http-executor for ctx.http, the data relay for ctx.data) to carry out a
        script's call; returns its answer."""
        ...


class Boto3Ports:
    """Claims with a conditional DynamoDB PutItem; results with SQS SendMessage."""

    def __init__(self, env: Mapping[str, str] = os.environ) -> None:
        import boto3  # provided by the Lambda runtime; imported here so the local host never needs it

        missing = [name for name in (CLAIMS_TABLE_ENV, RESULTS_QUEUE_ENV) if not env.get(name)]
        if missing:
            raise PortError(f"environment variables not set: {', '.join(missing)}")
        from botocore.config import Config

        self.claims_table = env[CLAIMS_TABLE_ENV]
        self.results_queue_url = env[RESULTS_QUEUE_ENV]
        self.targets = {target: env.get(name) or None for target, name in RELAY_TARGETS.items()}
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
        self._dynamodb: Any = boto3.client(
            "dynamodb", region_name=region, endpoint_url=env.get(DYNAMODB_ENDPOINT_ENV) or None
        )
        self._sqs: Any = boto3.client("sqs", region_name=region, endpoint_url=env.get(SQS_ENDPOINT_ENV) or None)
        self._lambda: Any = boto3.client(
            "lambda",
            region_name=region,
            config=Config(read_timeout=RELAY_READ_TIMEOUT_SECONDS, retries={"max_attempts": 1}),
        )

    def claim(self, job_id: str, expires_at_epoch: int, now: float) -> bool:
        try:
            self._dynamodb.put_item(
                TableName=self.claims_table,
                Item={
                    "jobId": {"S": job_id},
                    "expiresAtEpoch": {"N": str(expires_at_epoch)},
                    "aliveAt": {"N": f"{now:.3f}"},
                },
                ConditionExpression="attribute_not_exists(jobId)",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def last_sign_of_life(self, job_id: str) -> float | None:
        answer = self._dynamodb.get_item(
            TableName=self.claims_table,
            Key={"jobId": {"S": job_id}},
            ProjectionExpression="aliveAt",
            ConsistentRead=True,
        )
        value = answer.get("Item", {}).get("aliveAt", {}).get("N")
        return float(value) if isinstance(value, str) else None

    def heartbeat(self, job_id: str, now: float) -> bool:
        answer = self._dynamodb.update_item(
            TableName=self.claims_table,
            Key={"jobId": {"S": job_id}},
            UpdateExpression="SET aliveAt = :now",
            ConditionExpression="attribute_exists(jobId)",
            ExpressionAttributeValues={":now": {"N": f"{now:.3f}"}},
            ReturnValues="ALL_NEW",
        )
        return answer.get("Attributes", {}).get("stopRequested", {}).get("BOOL") is True

    def send(self, body: str, mac: str) -> None:
        self._sqs.send_message(
            QueueUrl=self.results_queue_url,
            MessageBody=body,
            MessageAttributes={MAC_ATTRIBUTE: {"DataType": "String", "StringValue": mac}},
        )

    def relay(self, payload: dict[str, Any], timeout: float, target: str = "http-executor") -> dict[str, Any]:
        function = self.targets.get(target)
        if function is None:
            raise PortError(f"{RELAY_TARGETS.get(target, target)} is not set: this worker relays no such calls")
        # Strict JSON, as the http-executor and the data relay read it: a call holding NaN or Infinity
        # is refused here (ValueError, the call's answer), never sent on.
        answer = self._lambda.invoke(FunctionName=function, Payload=json.dumps(payload, allow_nan=False).encode())
        body = json.loads(answer["Payload"].read())
        if answer.get("FunctionError"):
            raise PortError(f"the {target} failed: {body.get('errorType', 'error')}")
        return body if isinstance(body, dict) else {}
