"""The AWS stand-ins every function needs, created in moto in one place (tests and the local stack).

`provision(names=None) -> StandInNames` creates, with whatever boto3 reaches (moto's `mock_aws` in tests, a moto
server through `AWS_ENDPOINT_URL` in the local stack):

- the query-log, tickets, idempotency and customers tables, each with the keys, TTL attribute and stream its
  schema in `contracts.stack` gives (the schemas the components deploy and the handlers rely on), and the query
  log's by-day index (`contracts.query_log.BY_DAY_INDEX`);
- the customers loaded from bot/sample_customers.json, with the schema's number attributes (`AccountBalance`)
  stored as DynamoDB numbers;
- the escalation queue with its DLQ and a redrive policy (`max_receive_count`, default 3);
- the verified SES sender identity and the configuration set escalation emails go through;
- a Cognito identity pool that allows unauthenticated (guest) identities.

It returns the names with the queue URLs and the pool id filled in; `StandInNames.environment()` is every
environment variable the functions read (`contracts.stack.FUNCTION_ENVIRONMENT`), pointing at these stand-ins.
The signature is stable: callers pass `StandInNames(...)` with their own names (or nothing for the defaults)
and use what comes back.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3

from contracts.query_log import BY_DAY_INDEX, DAY
from contracts.stack import (
    ALLOWED_ORIGINS,
    CUSTOMERS_TABLE,
    CUSTOMERS_TABLE_NAME,
    DEFAULT_TICKETS_PER_SESSION_PER_HOUR,
    ESCALATION_QUEUE_URL,
    IDEMPOTENCY_TABLE,
    IDEMPOTENCY_TABLE_NAME,
    METRICS_NAMESPACE,
    ORIGIN_SECRETS,
    QUERY_LOG_RETENTION_DAYS,
    QUERY_LOG_TABLE,
    QUERY_LOG_TABLE_NAME,
    QUERY_LOG_TABLE_PREFIX,
    RECIPIENTS,
    SENDER_ADDRESS,
    SES_CONFIGURATION_SET,
    TICKETS_PER_SESSION_PER_HOUR,
    TICKETS_TABLE,
    TICKETS_TABLE_NAME,
    KeyAttribute,
    TableSchema,
)
from local.lambda_events import REGION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


@dataclass(frozen=True)
class GlobalIndex:
    """A global secondary index with all attributes projected."""

    name: str
    hash_key: KeyAttribute
    range_key: KeyAttribute


QUERY_LOG_BY_DAY_INDEX = GlobalIndex(BY_DAY_INDEX, KeyAttribute(DAY, "S"), QUERY_LOG_TABLE.keys[1])
"""The query log's by-day index (`contracts.query_log`): staff list turns by time range one UTC day at a time."""

SAMPLE_CUSTOMERS = Path(__file__).resolve().parent.parent / "bot" / "sample_customers.json"


@dataclass(frozen=True)
class StandInNames:
    """Names of the stand-ins; the URLs and the pool id are filled in by `provision`."""

    region: str = REGION
    query_log_table: str = QUERY_LOG_TABLE_PREFIX
    tickets_table: str = "EscalationTickets"
    idempotency_table: str = "EscalationIdempotency"
    customers_table: str = "Customers"
    escalation_queue: str = "escalations"
    escalation_dlq: str = "escalations-dlq"
    sender_address: str = "chatbot@example.com"
    ses_configuration_set: str = "escalations"
    recipients: tuple[str, ...] = ("support@example.com",)
    allowed_origins: tuple[str, ...] = ()  # extra https origins answered with CORS; the page's own needs none
    identity_pool_name: str = "chatbot_guests"
    max_receive_count: int = 3
    query_log_retention_days: int = 90
    tickets_per_session_per_hour: int = DEFAULT_TICKETS_PER_SESSION_PER_HOUR
    metrics_namespace: str = METRICS_NAMESPACE
    origin_secret: str = "local-origin-secret"  # noqa: S105 - loopback only; the local stack adds it as CloudFront does
    escalation_queue_url: str = ""  # filled in by provision()
    escalation_dlq_url: str = ""  # filled in by provision()
    identity_pool_id: str = ""  # filled in by provision()

    def environment(self) -> dict[str, str]:
        """The environment variables the functions read, pointing at these stand-ins (values as the components
        set them: lists as JSON, numbers as text)."""
        return {
            QUERY_LOG_TABLE_NAME.name: self.query_log_table,
            QUERY_LOG_RETENTION_DAYS.name: str(self.query_log_retention_days),
            TICKETS_TABLE_NAME.name: self.tickets_table,
            IDEMPOTENCY_TABLE_NAME.name: self.idempotency_table,
            TICKETS_PER_SESSION_PER_HOUR.name: str(self.tickets_per_session_per_hour),
            ESCALATION_QUEUE_URL.name: self.escalation_queue_url,
            SENDER_ADDRESS.name: self.sender_address,
            SES_CONFIGURATION_SET.name: self.ses_configuration_set,
            RECIPIENTS.name: json.dumps(list(self.recipients)),
            CUSTOMERS_TABLE_NAME.name: self.customers_table,
            ALLOWED_ORIGINS.name: json.dumps(list(self.allowed_origins)),
            ORIGIN_SECRETS.name: json.dumps([self.origin_secret]),
            "POWERTOOLS_METRICS_NAMESPACE": self.metrics_namespace,  # Powertools' own variable
        }


def provision(names: StandInNames | None = None) -> StandInNames:
    """Create every stand-in (see the module docstring); the names with URLs and the pool id filled in."""
    names = names or StandInNames()
    dynamodb = _client("dynamodb", names.region)
    _table(dynamodb, names.query_log_table, QUERY_LOG_TABLE, indexes=[QUERY_LOG_BY_DAY_INDEX])
    _table(dynamodb, names.tickets_table, TICKETS_TABLE)
    _table(dynamodb, names.idempotency_table, IDEMPOTENCY_TABLE)
    _table(dynamodb, names.customers_table, CUSTOMERS_TABLE)
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
    _client("sesv2", names.region).create_configuration_set(ConfigurationSetName=names.ses_configuration_set)

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


def _table(dynamodb: DynamoDBClient, name: str, schema: TableSchema, indexes: Sequence[GlobalIndex] = ()) -> None:
    """Create table `name` with the keys, TTL and stream of `schema` and the global secondary `indexes`, billed per
    request as the deployed tables are."""
    roles: list[tuple[KeyAttribute, Literal["HASH", "RANGE"]]] = [(schema.hash_key, "HASH")]
    if schema.range_key is not None:
        roles.append((schema.range_key, "RANGE"))
    extra: dict[str, Any] = {}
    if schema.stream_view_type is not None:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": schema.stream_view_type}
    attributes = {key.name: key.type for key, _ in roles}
    if indexes:
        extra["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.hash_key.name, "KeyType": "HASH"},
                    {"AttributeName": index.range_key.name, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in indexes
        ]
        for index in indexes:
            attributes.update({index.hash_key.name: index.hash_key.type, index.range_key.name: index.range_key.type})
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": kind} for key, kind in attributes.items()],
        KeySchema=[{"AttributeName": key.name, "KeyType": role} for key, role in roles],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    if schema.ttl_attribute is not None:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": schema.ttl_attribute}
        )


def _load_customers(dynamodb: DynamoDBClient, table: str) -> None:
    from boto3.dynamodb.types import TypeSerializer

    serialize = TypeSerializer().serialize
    for customer in json.loads(SAMPLE_CUSTOMERS.read_text(encoding="utf-8")):
        for attribute in CUSTOMERS_TABLE.number_attributes:  # the file holds them as text: exact decimals
            customer[attribute] = Decimal(customer[attribute])
        dynamodb.put_item(TableName=table, Item={key: serialize(value) for key, value in customer.items()})
