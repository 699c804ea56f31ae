"""Data is never replaced by a routine change: which inputs of each data-holding resource (tables, buckets, the staff
user pool) force a replacement, and that changing any stack setting between valid values leaves every one of them
alone; and the query log's by-day index is added to the deployed table in place.

Which inputs replace a resource comes from AWS itself, offline: the `createOnlyProperties` of the resource type's
CloudFormation schema (shipped in cfn-lint), plus what the service's API cannot change after creation (botocore's
models: a property its Create call takes and its Update call does not), each mapped to the pulumi-aws input that
sets it. A replacement of a table or bucket loses its data, and one with a fixed physical name (the query-log
table) cannot even be made, since the new one would take the name of the old one still there; docs/operations.md
says how to move data when a replacement is wanted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import botocore.session
import pytest
from botocore.model import StructureShape
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # type: ignore[import-untyped]

from components.settings import SETTING_KEYS, qualified_key
from tests.infra.conftest import Mocks, RecordedResource
from tests.infra.resource_graph import run_stack, stack_config

STACKS = ("dev", "prod")
SCHEMA_REGION = "us-east-1"


@dataclass(frozen=True)
class ReplacingInputs:
    """For one data-holding pulumi-aws resource type: its CloudFormation type, and for each CloudFormation property
    that cannot change in place, the pulumi-aws inputs that set it."""

    pulumi_type: str
    cloudformation_type: str
    name_input: str
    """The input holding a physical name of its own; unset, Pulumi makes a unique one."""
    create_only: dict[str, tuple[str, ...]]
    """The schema's createOnlyProperties -> pulumi-aws inputs."""
    fixed_by_the_api: dict[str, tuple[str, ...]]
    """Properties the schema does not list but the service's API cannot change (see API_IMMUTABLE) -> inputs."""
    unique_name: bool = True
    """The physical name is unique in the account and region (a table, a bucket): a resource of a fixed name cannot be
    replaced create-before-delete. False: AWS tells resources apart by generated ids (a user pool)."""

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every pulumi-aws input whose change replaces the resource (and `region`: where it lives)."""
        mapped = [name for names in (*self.create_only.values(), *self.fixed_by_the_api.values()) for name in names]
        return (*mapped, "region")


# The readable table: what replaces a table or a bucket.
#
#   pulumi-aws type  | CloudFormation property            | pulumi-aws inputs                 | why fixed
#   -----------------+------------------------------------+-----------------------------------+-------------------
#   dynamodb.Table   | TableName                          | name                              | createOnly
#                    | ImportSourceSpecification          | importTable                       | createOnly
#                    | KeySchema                          | hashKey, rangeKey, attributes (*) | UpdateTable lacks it
#                    | LocalSecondaryIndexes              | localSecondaryIndexes             | UpdateTable lacks it
#   s3.Bucket        | BucketName, BucketNamePrefix       | bucket, bucketPrefix              | createOnly
#                    | BucketNamespace                    | bucketNamespace                   | createOnly
#   cognito.UserPool | AliasAttributes                    | aliasAttributes                   | UpdateUserPool lacks it
#                    | UsernameAttributes                 | usernameAttributes                | UpdateUserPool lacks it
#                    | UsernameConfiguration              | usernameConfiguration             | UpdateUserPool lacks it
#                    | Schema                             | schemas                           | UpdateUserPool lacks it
#   all              | (the stack's region)               | region                            | a resource's home
#
# (*) Only the key attributes' definitions (those named by hashKey and rangeKey): a global secondary index's key
# attribute is added and dropped with its index by UpdateTable (AttributeDefinitions, GlobalSecondaryIndexUpdates).
HAZARDS = (
    ReplacingInputs(
        pulumi_type="aws:dynamodb/table:Table",
        cloudformation_type="AWS::DynamoDB::Table",
        name_input="name",
        create_only={"TableName": ("name",), "ImportSourceSpecification": ("importTable",)},
        # `attributes` counts for its key attributes only (see `replacing_values`).
        fixed_by_the_api={
            "KeySchema": ("hashKey", "rangeKey", "attributes"),
            "LocalSecondaryIndexes": ("localSecondaryIndexes",),
        },
    ),
    ReplacingInputs(
        pulumi_type="aws:s3/bucket:Bucket",
        cloudformation_type="AWS::S3::Bucket",
        name_input="bucket",
        create_only={
            "BucketName": ("bucket",),
            "BucketNamePrefix": ("bucketPrefix",),
            "BucketNamespace": ("bucketNamespace",),
        },
        fixed_by_the_api={},
    ),
    ReplacingInputs(
        pulumi_type="aws:cognito/userPool:UserPool",
        cloudformation_type="AWS::Cognito::UserPool",
        name_input="name",
        create_only={},
        fixed_by_the_api={
            "AliasAttributes": ("aliasAttributes",),
            "UsernameAttributes": ("usernameAttributes",),
            "UsernameConfiguration": ("usernameConfiguration",),
            "Schema": ("schemas",),
        },
        unique_name=False,
    ),
)
# (service, create operation, update operation, member) for each `fixed_by_the_api` property: the create call takes
# it, the update call has no such member, so it is fixed for the resource's life.
API_IMMUTABLE = {
    ("AWS::DynamoDB::Table", "KeySchema"): ("dynamodb", "CreateTable", "UpdateTable", "KeySchema"),
    ("AWS::DynamoDB::Table", "LocalSecondaryIndexes"): (
        "dynamodb",
        "CreateTable",
        "UpdateTable",
        "LocalSecondaryIndexes",
    ),
    **{
        ("AWS::Cognito::UserPool", member): ("cognito-idp", "CreateUserPool", "UpdateUserPool", member)
        for member in ("AliasAttributes", "UsernameAttributes", "UsernameConfiguration", "Schema")
    },
}

# Two valid values of every setting: each test run switches a stack's setting to the one it does not have. `None`
# leaves the key unset. The region is left out on purpose: moving a stack to another region is a migration (every
# regional resource is made anew there; docs/operations.md), not a setting change.
ALTERNATIVES: dict[str, tuple[Any, Any]] = {
    "escalation_sender": ("support-bot@example.com", "helpdesk@example.org"),
    "escalation_recipients": (["it-support@example.com"], ["a@example.com", "b@example.com"]),
    "sample_data": (True, False),
    "protect_data": (True, False),
    "log_retention_days": (14, 365),
    "query_log_retention_days": (30, 365),
    "fulfillment_reserved_concurrency": (None, 50),
    "lex_hourly_request_alarm": (5000, 100),
    "fallback_rate_alarm_threshold": (0.3, 0.5),
    "fallback_rate_alarm_min_turns": (20, 5),
    "sentiment_analysis": (True, False),
    "api_throttle_rate": (5, 50),
    "api_throttle_burst": (10, 100),
    "api_rate_limit_per_ip": (None, 100),
    "allowed_origins": ([], ["https://www.example.com"]),
    "embed_origins": ([], ["https://www.example.com", "https://help.example.org"]),
    "origin_secret_rotation": (0, 1),
    "access_logging": (False, True),
    "manage_api_gateway_account": (True, False),
    "escalation_max_attempts": (3, 5),
    "tickets_per_session_per_hour": (3, 10),
    "alarm_email": (None, "ops@example.com"),
    "staff_emails": (["it-lead@example.com"], ["it-lead@example.com", "night-shift@example.com"]),
    "staff_mfa": ("optional", "on"),
    "embedding_model": ("amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"),
    "embedding_dimensions": (1024, 512),
    "answer_model": ("anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-instant-v1"),
    "bot_name": (None, "Acme Help"),
    "bot_subtitle": (None, "Orders and returns"),
    "welcome_text": (None, "Hi! Ask me about an order."),
    "suggested_questions": (None, ["Where is my parcel?"]),
    "accent_color": (None, "#0f766e"),
    "logo_url": (None, "/brand/logo.svg"),
    "privacy_notice_url": (None, "https://www.example.com/privacy"),
}
# Settings that only make sense together change together.
TOGETHER: dict[str, dict[str, tuple[Any, Any]]] = {
    "custom_domain": {
        "custom_domain": (None, "chat.example.com"),
        "certificate_arn": (None, "arn:aws:acm:us-east-1:123456789012:certificate/abc"),
    },
}
# Not routine: the region (a migration), and turning the knowledge base off or pointing it at a bucket the stack does
# not own, which removes the stack's documents bucket on purpose (its documents are the repository's knowledge/; in
# prod, `protectData` makes Pulumi refuse until the bucket is unprotected).
NOT_ROUTINE = {"region", "knowledge_base", "knowledge_base_bucket"}


def create_only_properties(cloudformation_type: str) -> set[str]:
    """The top-level createOnlyProperties of a CloudFormation resource type, from the schema cfn-lint ships."""
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(SCHEMA_REGION, cloudformation_type).schema
    return {pointer.split("/")[2] for pointer in schema.get("createOnlyProperties", [])}


def operation_members(service: str, operation: str) -> set[str]:
    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(operation).input_shape
    assert isinstance(shape, StructureShape)
    return set(shape.members)


def setting_changes() -> list[tuple[str, dict[str, tuple[Any, Any]]]]:
    """Each routine change: (its name, {setting field: its two values})."""
    return [(field, {field: values}) for field, values in ALTERNATIVES.items()] + list(TOGETHER.items())


def changed_config(stack: str, change: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    """The stack's config with each setting in `change` switched to the value the stack does not have."""
    config = dict(stack_config(stack))
    for field, values in change.items():
        key = qualified_key(field)
        value = values[1] if config.get(key, values[0]) == values[0] else values[0]
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return config


def data_resources(mocks: Mocks) -> dict[str, tuple[RecordedResource, ReplacingInputs]]:
    """Every table, bucket and user pool of a run, by URN, with the inputs that would replace it."""
    return {r.urn: (r, hazard) for hazard in HAZARDS for r in mocks.of_type(hazard.pulumi_type)}


def replacing_values(resource: RecordedResource, hazard: ReplacingInputs) -> dict[str, Any]:
    """The values of the inputs that would replace `resource`; a table's `attributes` by its key attributes only."""
    values = {name: resource.inputs.get(name) for name in hazard.inputs}
    if hazard.pulumi_type == "aws:dynamodb/table:Table":
        keys = {resource.inputs.get("hashKey"), resource.inputs.get("rangeKey")}
        values["attributes"] = sorted(
            ((a["name"], a["type"]) for a in resource.inputs.get("attributes") or [] if a["name"] in keys), key=str
        )
    return values


@pytest.mark.parametrize("hazard", HAZARDS, ids=lambda hazard: hazard.cloudformation_type)
def test_the_table_maps_every_create_only_property_of_the_schema(hazard):
    # GIVEN the CloudFormation schema of the resource type, as cfn-lint ships it
    # WHEN its createOnlyProperties are read
    schema = create_only_properties(hazard.cloudformation_type)
    # THEN the table maps every one of them to pulumi-aws inputs, and claims no other
    assert set(hazard.create_only) == schema, (
        f"{hazard.cloudformation_type}: createOnlyProperties are {sorted(schema)}; map each to the pulumi-aws "
        f"inputs that set it in HAZARDS (mapped now: {sorted(hazard.create_only)})"
    )


@pytest.mark.parametrize(("resource_type", "property_name"), list(API_IMMUTABLE), ids=str)
def test_what_the_table_adds_to_the_schema_the_api_cannot_change(resource_type, property_name):
    # GIVEN a property the table says is fixed although the schema does not list it
    service, create, update, member = API_IMMUTABLE[(resource_type, property_name)]
    # WHEN the service's create and update calls are read from botocore's model
    # THEN the create call takes it and the update call cannot change it
    assert member in operation_members(service, create), f"{service} {create} has no {member}"
    assert member not in operation_members(service, update), f"{service} {update} can change {member}: not fixed"


def test_every_setting_but_the_region_is_toggled():
    # GIVEN the settings a stack has
    toggled = set(ALTERNATIVES) | {field for fields in TOGETHER.values() for field in fields}
    # WHEN / THEN each routine one has two valid values in this test (a new setting must be added to ALTERNATIVES)
    missing = set(SETTING_KEYS) - NOT_ROUTINE - toggled
    assert not missing, f"give these settings two valid values in ALTERNATIVES: {sorted(missing)}"


@pytest.fixture(scope="module", params=STACKS)
def baseline(request: pytest.FixtureRequest) -> tuple[str, Mocks]:
    return request.param, run_stack(request.param)


@pytest.mark.parametrize(("change", "fields"), setting_changes(), ids=[name for name, _ in setting_changes()])
def test_no_setting_change_replaces_a_table_or_a_bucket(baseline, change, fields):
    # GIVEN a shipped stack, and the same stack with one setting switched to another valid value
    stack, before = baseline
    config = changed_config(stack, fields)
    assert config != stack_config(stack), f"{change}: the test changed nothing"
    after = run_stack(stack, config=config)
    # WHEN the inputs that would replace each table and bucket are compared
    kept = data_resources(after)
    problems = []
    for urn, (resource, hazard) in data_resources(before).items():
        if urn not in kept:
            problems.append(f"{urn} is gone (deleted with its data)")
            continue
        old, new = replacing_values(resource, hazard), replacing_values(kept[urn][0], hazard)
        problems += [f"{urn}: {name} {old[name]!r} -> {new[name]!r}" for name in old if old[name] != new[name]]
    # THEN none changes: the data stays where it is
    assert not problems, f"{stack}, changing {change} would replace data:\n" + "\n".join(problems)


def test_no_table_or_bucket_is_deleted_before_its_replacement(baseline):
    # GIVEN a shipped stack's tables and buckets
    stack, mocks = baseline
    # WHEN / THEN none is deleted before a replacement is made: that would drop the data first (a fixed-name table
    # is safer failing to replace than replaced this way; docs/operations.md moves its data instead)
    first_deleted = [r.urn for r, _ in data_resources(mocks).values() if r.delete_before_replace]
    assert not first_deleted, f"{stack}: deleted before replacement: {first_deleted}"


def test_the_query_log_table_is_the_only_data_with_a_fixed_name(baseline):
    # GIVEN a shipped stack's tables and buckets
    stack, mocks = baseline
    # WHEN those with a physical name of their own (not one Pulumi makes unique) are listed
    named = sorted(
        r.name for r, hazard in data_resources(mocks).values() if hazard.unique_name and r.inputs.get(hazard.name_input)
    )
    # THEN only the query-log table has one, and its migration path is documented (docs/operations.md)
    assert named == ["query-log-table"], f"{stack}: tables and buckets with fixed names: {named}"


# The query-log table as deployed before its by-day index (issue 12): what would replace it had these values.
QUERY_LOG_NAME_BEFORE_THE_INDEX = "ChatbotUserQueries-support-chatbot-{stack}"
QUERY_LOG_BEFORE_THE_INDEX: dict[str, Any] = {
    "importTable": None,
    "hashKey": "sessionId",
    "rangeKey": "timestamp",
    "attributes": [("sessionId", "S"), ("timestamp", "N")],
    "localSecondaryIndexes": None,
    "region": None,
}


def test_the_by_day_index_is_added_to_the_deployed_query_log_in_place(baseline):
    # GIVEN a shipped stack's query-log table, now with its by-day index
    stack, mocks = baseline
    table = mocks.one("aws:dynamodb/table:Table", "query-log-table")
    [index] = table.inputs["globalSecondaryIndexes"]
    # WHEN the inputs that would replace it are compared with those of the table deployed before the index
    [hazard] = [h for h in HAZARDS if h.pulumi_type == table.type]
    before = {**QUERY_LOG_BEFORE_THE_INDEX, "name": QUERY_LOG_NAME_BEFORE_THE_INDEX.format(stack=stack)}
    # THEN none changed: only the index and its key attribute are new, and both are what UpdateTable changes
    # (GlobalSecondaryIndexUpdates, AttributeDefinitions) and CloudFormation updates in place (not createOnly)
    assert replacing_values(table, hazard) == before, f"{table.urn}: the index would replace the table"
    assert (index["name"], index["hashKey"], index["rangeKey"], index["projectionType"]) == (
        "byDay",
        "day",
        "timestamp",
        "ALL",
    ), index
    assert {"GlobalSecondaryIndexUpdates", "AttributeDefinitions"} <= operation_members("dynamodb", "UpdateTable")
    assert not {"GlobalSecondaryIndexes", "AttributeDefinitions"} & create_only_properties("AWS::DynamoDB::Table")
