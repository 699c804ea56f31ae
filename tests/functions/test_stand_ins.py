"""local.stand_ins.provision(): every AWS stand-in the functions need, shaped as the real stack shapes them."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from contracts.stack import (
    ALLOWED_ORIGINS,
    CLOUD_ONLY_FUNCTIONS,
    CUSTOMERS_TABLE,
    CUSTOMERS_TABLE_NAME,
    ESCALATION_QUEUE_URL,
    FUNCTION_ENVIRONMENT,
    IDEMPOTENCY_TABLE,
    IDEMPOTENCY_TABLE_NAME,
    ORIGIN_SECRETS,
    QUERY_LOG_RETENTION_DAYS,
    QUERY_LOG_TABLE,
    QUERY_LOG_TABLE_NAME,
    RECIPIENTS,
    SENDER_ADDRESS,
    SES_CONFIGURATION_SET,
    TICKETS_PER_SESSION_PER_HOUR,
    TICKETS_TABLE,
    TICKETS_TABLE_NAME,
    TableSchema,
    environment_names,
)
from local.stand_ins import StandInNames, provision


def key_schema(aws, table: str) -> list[tuple[str, str, str]]:
    description = aws.client("dynamodb").describe_table(TableName=table)["Table"]
    types = {attr["AttributeName"]: attr["AttributeType"] for attr in description["AttributeDefinitions"]}
    return [(key["AttributeName"], types[key["AttributeName"]], key["KeyType"]) for key in description["KeySchema"]]


def ttl_attribute(aws, table: str) -> str | None:
    ttl = aws.client("dynamodb").describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    return ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") == "ENABLED" else None


def contract_keys(schema: TableSchema) -> list[tuple[str, str, str]]:
    """The key schema DynamoDB describes for a table made from `schema`: hash first, then range."""
    return [(key.name, key.type, role) for key, role in zip(schema.keys, ("HASH", "RANGE"), strict=False)]


@pytest.mark.parametrize(
    ("table", "schema"),
    [
        ("query_log_table", QUERY_LOG_TABLE),
        ("tickets_table", TICKETS_TABLE),
        ("idempotency_table", IDEMPOTENCY_TABLE),
        ("customers_table", CUSTOMERS_TABLE),
    ],
)
def test_each_table_has_the_keys_and_ttl_of_its_contract_schema(stand_ins, aws, table, schema):
    # GIVEN the stand-ins, provisioned
    name = getattr(stand_ins, table)
    # WHEN DynamoDB describes the table
    keys, ttl = key_schema(aws, name), ttl_attribute(aws, name)
    # THEN its keys and TTL are those the deployed table has (contracts.stack)
    assert keys == contract_keys(schema), f"{name}: keys {keys}, contract {contract_keys(schema)}"
    assert ttl == schema.ttl_attribute, f"{name}: TTL on {ttl}, contract {schema.ttl_attribute}"


def test_the_customers_table_holds_the_sample_customers_with_balances_as_numbers(stand_ins, aws):
    customers = {item["CustomerId"]: item for item in aws.table_items(stand_ins.customers_table)}
    assert set(customers) == {"12345", "67890"}
    assert customers["12345"]["AccountBalance"] == Decimal("156.78")
    assert customers["67890"]["Name"] == "Jane Doe"


def test_the_escalation_queue_redrives_to_its_dlq_after_max_receive_count(stand_ins, aws):
    sqs = aws.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=stand_ins.escalation_queue_url, AttributeNames=["All"])
    dlq_arn = sqs.get_queue_attributes(QueueUrl=stand_ins.escalation_dlq_url, AttributeNames=["QueueArn"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn["Attributes"]["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == stand_ins.max_receive_count == 3


def test_the_sender_identity_is_verified_and_the_pool_admits_guests(stand_ins, aws):
    identities = aws.client("ses").list_identities()["Identities"]
    assert stand_ins.sender_address in identities
    pool = aws.client("cognito-identity").describe_identity_pool(IdentityPoolId=stand_ins.identity_pool_id)
    assert pool["AllowUnauthenticatedIdentities"] is True


def test_custom_names_are_used_and_returned_with_urls(monkeypatch):
    from moto import mock_aws

    # GIVEN names of the caller's choosing and a stricter redrive
    wanted = StandInNames(tickets_table="Tickets2", escalation_queue="q2", escalation_dlq="q2-dlq", max_receive_count=5)
    with mock_aws():
        # WHEN the stand-ins are provisioned
        names = provision(wanted)
    # THEN the answer keeps them and fills in what AWS assigned
    assert (names.tickets_table, names.max_receive_count) == ("Tickets2", 5)
    assert names.escalation_queue_url.endswith("/q2")
    assert names.escalation_dlq_url.endswith("/q2-dlq")
    assert names.identity_pool_id.startswith("us-east-1:")


@pytest.mark.parametrize("function", sorted(set(FUNCTION_ENVIRONMENT) - CLOUD_ONLY_FUNCTIONS))
def test_the_environment_sets_every_variable_each_function_reads(stand_ins, function):
    # GIVEN the variables the contract says `function` reads
    wanted = environment_names(function)
    # WHEN the stand-ins give their environment
    environment = stand_ins.environment()
    # THEN every one of them is set
    missing = sorted(wanted - set(environment))
    assert not missing, f"StandInNames.environment() does not set {missing}, which {function} reads"


def test_the_environment_points_each_variable_at_its_stand_in(stand_ins):
    environment = stand_ins.environment()
    assert environment == {
        QUERY_LOG_TABLE_NAME.name: "ChatbotUserQueries",
        QUERY_LOG_RETENTION_DAYS.name: "90",
        TICKETS_TABLE_NAME.name: "EscalationTickets",
        IDEMPOTENCY_TABLE_NAME.name: "EscalationIdempotency",
        TICKETS_PER_SESSION_PER_HOUR.name: "3",
        ESCALATION_QUEUE_URL.name: stand_ins.escalation_queue_url,
        SENDER_ADDRESS.name: "chatbot@example.com",
        SES_CONFIGURATION_SET.name: "escalations",
        RECIPIENTS.name: '["support@example.com"]',
        CUSTOMERS_TABLE_NAME.name: "Customers",
        ALLOWED_ORIGINS.name: "[]",
        ORIGIN_SECRETS.name: '["local-origin-secret"]',
        "POWERTOOLS_METRICS_NAMESPACE": "SupportChatbot",
    }
    assert stand_ins.escalation_queue_url, "provision() fills in the queue URL"


def test_the_tickets_table_streams_what_its_contract_says(stand_ins, aws):
    # GIVEN the stand-ins, provisioned
    # WHEN DynamoDB describes the tickets table
    description = aws.client("dynamodb").describe_table(TableName=stand_ins.tickets_table)["Table"]
    # THEN it has the stream the deployed table has (the forwarder reads it)
    assert description["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": TICKETS_TABLE.stream_view_type,
    }
    assert (
        "StreamSpecification" not in aws.client("dynamodb").describe_table(TableName=stand_ins.customers_table)["Table"]
    ), "a table whose schema has no stream gets none"


def test_the_escalations_configuration_set_exists(stand_ins, aws):
    sets = aws.client("sesv2").list_configuration_sets()["ConfigurationSets"]
    assert stand_ins.ses_configuration_set in sets
