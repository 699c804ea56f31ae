"""The AWS stand-ins every function needs, created in moto in one place (tests and the local stack).

`provision(names=None) -> StandInNames` creates, with whatever boto3 reaches (moto's `mock_aws` in tests, a moto
server through `AWS_ENDPOINT_URL` in the local stack):

- the query-log table (`sessionId` S hash, `timestamp` N range, TTL on `expiresAt`);
- the tickets table (`ticketId` S hash) and the idempotency table (`id` S hash, TTL on `expiration`);
- the customers table (`CustomerId` S hash) loaded with bot/sample_customers.json (`AccountBalance` a Number);
- the escalation queue with its DLQ and a redrive policy (`max_receive_count`, default 3);
- the verified SES sender identity;
- a Cognito identity pool that allows unauthenticated (guest) identities.

It returns the names with the queue URLs and the pool id filled in; `StandInNames.environment()` is every
environment variable the handlers read. The signature is stable: callers pass `StandInNames(...)` with their
own names (or nothing for the defaults) and use what comes back.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

KeySpec = tuple[str, Literal["S", "N", "B"], Literal["HASH", "RANGE"]]  # attribute, type, role
SAMPLE_CUSTOMERS = Path(__file__).resolve().parent.parent / "bot" / "sample_customers.json"


@dataclass(frozen=True)
class StandInNames:
    """Names of the stand-ins; the URLs and the pool id are filled in by `provision`."""

    region: str = "us-east-1"
    query_log_table: str = "ChatbotUserQueries"
    tickets_table: str = "EscalationTickets"
    idempotency_table: str = "EscalationIdempotency"
    customers_table: str = "Customers"
    escalation_queue: str = "escalations"
    escalation_dlq: str = "escalations-dlq"
    sender_address: str = "chatbot@example.com"
    recipients: tuple[str, ...] = ("support@example.com",)
    identity_pool_name: str = "chatbot_guests"
    max_receive_count: int = 3
    query_log_retention_days: int = 90
    metrics_namespace: str = "SupportChatbot"
    escalation_queue_url: str = ""  # filled in by provision()
    escalation_dlq_url: str = ""  # filled in by provision()
    identity_pool_id: str = ""  # filled in by provision()

    def environment(self) -> dict[str, str]:
        """The environment variables the handlers read, pointing at these stand-ins."""
        return {
            "QUERY_LOG_TABLE_NAME": self.query_log_table,
            "QUERY_LOG_RETENTION_DAYS": str(self.query_log_retention_days),
            "TICKETS_TABLE_NAME": self.tickets_table,
            "IDEMPOTENCY_TABLE_NAME": self.idempotency_table,
            "ESCALATION_QUEUE_URL": self.escalation_queue_url,
            "SENDER_ADDRESS": self.sender_address,
            "RECIPIENTS": json.dumps(list(self.recipients)),
            "CUSTOMERS_TABLE_NAME": self.customers_table,
            "POWERTOOLS_METRICS_NAMESPACE": self.metrics_namespace,
        }


def provision(names: StandInNames | None = None) -> StandInNames:
    """Create every stand-in (see the module docstring); the names with URLs and the pool id filled in."""
    names = names or StandInNames()
    dynamodb = _client("dynamodb", names.region)
    _table(dynamodb, names.query_log_table, [("sessionId", "S", "HASH"), ("timestamp", "N", "RANGE")], "expiresAt")
    _table(dynamodb, names.tickets_table, [("ticketId", "S", "HASH")])
    _table(dynamodb, names.idempotency_table, [("id", "S", "HASH")], "expiration")
    _table(dynamodb, names.customers_table, [("CustomerId", "S", "HASH")])
    _load_customers(dynamodb, names.customers_table)

    sqs = _client("sqs", names.region)
    dlq_url = sqs.create_queue(QueueName=names.escalation_dlq)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(names.max_receive_count)}
    queue_url = sqs.create_queue(
        QueueName=names.escalation_queue,
        Attributes={"RedrivePolicy": json.dumps(redrive), "VisibilityTimeout": "60"},
    )["QueueUrl"]

    _client("ses", names.region).verify_email_identity(EmailAddress=names.sender_address)

    pool = _client("cognito-identity", names.region).create_identity_pool(
        IdentityPoolName=names.identity_pool_name, AllowUnauthenticatedIdentities=True
    )
    return dataclasses.replace(
        names, escalation_queue_url=queue_url, escalation_dlq_url=dlq_url, identity_pool_id=pool["IdentityPoolId"]
    )


def _client(service: str, region: str) -> Any:
    """A boto3 client, made once per service, region and endpoint (making one costs ~80 ms; moto's mocks and a
    moto server both serve a client made earlier)."""
    return _cached_client(service, region, os.environ.get("AWS_ENDPOINT_URL"))


@functools.cache
def _cached_client(service: str, region: str, endpoint_url: str | None) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url)  # type: ignore[call-overload]


def _table(dynamodb: DynamoDBClient, name: str, keys: list[KeySpec], ttl_attribute: str | None = None) -> None:
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": attr, "AttributeType": kind} for attr, kind, _ in keys],
        KeySchema=[{"AttributeName": attr, "KeyType": role} for attr, _, role in keys],
        BillingMode="PAY_PER_REQUEST",
    )
    if ttl_attribute is not None:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
        )


def _load_customers(dynamodb: DynamoDBClient, table: str) -> None:
    from boto3.dynamodb.types import TypeSerializer

    serialize = TypeSerializer().serialize
    for customer in json.loads(SAMPLE_CUSTOMERS.read_text(encoding="utf-8")):
        customer["AccountBalance"] = Decimal(customer["AccountBalance"])
        dynamodb.put_item(TableName=table, Item={key: serialize(value) for key, value in customer.items()})
