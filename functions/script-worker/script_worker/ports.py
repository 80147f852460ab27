"""The worker's two ports: claiming a job id (so a redelivered message never runs twice) and sending a
message to the execution-results queue. `Boto3Ports` is the AWS implementation; the local platform
and the tests provide their own."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol

CLAIMS_TABLE_ENV = "EXECFABRIC_CLAIMS_TABLE"
RESULTS_QUEUE_ENV = "EXECFABRIC_QUEUE_EXECUTION_RESULTS"
DYNAMODB_ENDPOINT_ENV = "EXECFABRIC_DYNAMODB_ENDPOINT"
SQS_ENDPOINT_ENV = "EXECFABRIC_SQS_ENDPOINT"


class PortError(RuntimeError):
    """A port could not do its job (infrastructure failure)."""


class Ports(Protocol):
    def claim(self, job_id: str, expires_at_epoch: int) -> bool:
        """True if this call claimed the job, False if it had already been claimed."""
        ...

    def send(self, body: str) -> None:
        """Sends one message body to the execution-results queue."""
        ...


class Boto3Ports:
    """Claims with a conditional DynamoDB PutItem; results with SQS SendMessage."""

    def __init__(self, env: Mapping[str, str] = os.environ) -> None:
        import boto3  # provided by the Lambda runtime; imported here so the local host never needs it

        missing = [name for name in (CLAIMS_TABLE_ENV, RESULTS_QUEUE_ENV) if not env.get(name)]
        if missing:
            raise PortError(f"environment variables not set: {', '.join(missing)}")
        self.claims_table = env[CLAIMS_TABLE_ENV]
        self.results_queue_url = env[RESULTS_QUEUE_ENV]
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
        self._dynamodb: Any = boto3.client(
            "dynamodb", region_name=region, endpoint_url=env.get(DYNAMODB_ENDPOINT_ENV) or None
        )
        self._sqs: Any = boto3.client("sqs", region_name=region, endpoint_url=env.get(SQS_ENDPOINT_ENV) or None)

    def claim(self, job_id: str, expires_at_epoch: int) -> bool:
        try:
            self._dynamodb.put_item(
                TableName=self.claims_table,
                Item={"jobId": {"S": job_id}, "expiresAtEpoch": {"N": str(expires_at_epoch)}},
                ConditionExpression="attribute_not_exists(jobId)",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def send(self, body: str) -> None:
        self._sqs.send_message(QueueUrl=self.results_queue_url, MessageBody=body)
