"""QueryLog under Pulumi mocks: the audit table is durable and private, and its writer may only add rows."""

from __future__ import annotations

import pytest

from components.query_log import QueryLog, QueryLogArgs

TABLE = "aws:dynamodb/table:Table"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
ORIGIN_SECRETS = '["an-origin-secret"]'


def query_log(protect_data: bool = False, **overrides):
    args = QueryLogArgs(
        region="us-east-1",
        log_retention_days=14,
        row_retention_days=90,
        origin_secrets=ORIGIN_SECRETS,
        protect_data=protect_data,
        **overrides,
    )
    return lambda: QueryLog("query-log", args)


@pytest.mark.usefixtures("function_sources")
def test_table_is_keyed_by_session_and_timestamp_and_bills_per_request(run_pulumi):
    # GIVEN / WHEN a QueryLog is created
    mocks = run_pulumi(query_log())
    # THEN its table is ChatbotUserQueries keyed by sessionId (S) and timestamp (N), on demand; the only other
    # attribute it declares is its by-day index's key, day (S)
    table = mocks.one(TABLE, "query-log-table")
    assert "ChatbotUserQueries" in table.inputs["name"], f"{table.urn}: name {table.inputs['name']!r}"
    assert (table.inputs["hashKey"], table.inputs["rangeKey"]) == ("sessionId", "timestamp"), table.urn
    attributes = {a["name"]: a["type"] for a in table.inputs["attributes"]}
    assert attributes == {"sessionId": "S", "timestamp": "N", "day": "S"}, table.urn
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST", f"{table.urn} must cost nothing when idle"


@pytest.mark.usefixtures("function_sources")
def test_table_is_encrypted_recoverable_and_expires_rows(run_pulumi):
    # GIVEN / WHEN a QueryLog is created
    mocks = run_pulumi(query_log())
    # THEN the table has KMS encryption, point-in-time recovery and TTL on expiresAt
    table = mocks.one(TABLE, "query-log-table")
    assert table.inputs["serverSideEncryption"]["enabled"] is True, f"{table.urn} is not encrypted with KMS"
    assert table.inputs["pointInTimeRecovery"]["enabled"] is True, f"{table.urn} has no point-in-time recovery"
    assert table.inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}, f"{table.urn}: no TTL"


@pytest.mark.usefixtures("function_sources")
def test_protect_data_protects_and_retains_the_table(run_pulumi):
    # GIVEN protect_data, as in prod
    # WHEN a QueryLog is created
    mocks = run_pulumi(query_log(protect_data=True))
    # THEN Pulumi protects and retains the table, and DynamoDB refuses to delete it too
    table = mocks.one(TABLE, "query-log-table")
    assert table.protect, f"{table.urn} is not protected although protect_data is set"
    assert table.retain_on_delete, f"{table.urn} would be deleted with the stack although protect_data is set"
    assert table.inputs["deletionProtectionEnabled"] is True, f"{table.urn}: DynamoDB deletion protection off"


@pytest.mark.usefixtures("function_sources")
def test_without_protect_data_the_table_goes_with_the_stack(run_pulumi):
    # GIVEN protect_data left out, as in dev
    # WHEN a QueryLog is created
    mocks = run_pulumi(query_log())
    # THEN nothing stops `pulumi destroy`
    table = mocks.one(TABLE, "query-log-table")
    assert not table.protect, f"{table.urn} is protected in a dev stack"
    assert not table.retain_on_delete, f"{table.urn} would outlive a dev stack"


@pytest.mark.usefixtures("function_sources")
def test_writer_gets_the_table_name_and_row_retention(run_pulumi):
    # GIVEN a 90-day row retention and one extra origin
    # WHEN a QueryLog is created
    mocks = run_pulumi(query_log(allowed_origins=("https://www.example.com",)))
    # THEN the store_query Lambda is told where and how long to keep rows, and which origins may call it
    table = mocks.one(TABLE, "query-log-table")
    writer = mocks.one(FUNCTION, "query-log-writer-function")
    env = writer.inputs["environment"]["variables"]
    assert env["QUERY_LOG_TABLE_NAME"] == table.outputs["name"], f"{writer.urn}: wrong table {env}"
    assert env["QUERY_LOG_RETENTION_DAYS"] == "90", f"{writer.urn}: {env}"
    assert env["ALLOWED_ORIGINS"] == '["https://www.example.com"]', f"{writer.urn}: {env}"


@pytest.mark.usefixtures("function_sources")
def test_writer_may_only_put_items_into_this_table(run_pulumi):
    # GIVEN / WHEN a QueryLog is created
    mocks = run_pulumi(query_log())
    # THEN the writer's data policy allows PutItem on the table's ARN and nothing else
    table_arn = mocks.one(TABLE, "query-log-table").outputs["arn"]
    policy = mocks.one(ROLE_POLICY, "query-log-writer-write-data")
    assert policy.statements() == [{"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": [table_arn]}], (
        f"{policy.urn} grants more than PutItem on {table_arn}"
    )


@pytest.mark.usefixtures("function_sources")
def test_grants_are_exact_and_repeats_are_harmless(run_pulumi):
    # GIVEN a QueryLog and a reader role
    def program():
        import pulumi_aws as aws

        log = QueryLog(
            "query-log",
            QueryLogArgs(
                region="us-east-1", log_retention_days=14, row_retention_days=90, origin_secrets=ORIGIN_SECRETS
            ),
        )
        reader = aws.iam.Role("reader", assume_role_policy="{}")
        # WHEN read access is granted twice
        first = log.grant_read_data("staff", reader)
        assert log.grant_read_data("staff", reader) is first, "a repeated grant made a second policy"

    mocks = run_pulumi(program)
    # THEN one policy allows GetItem and Query on the table only
    table_arn = mocks.one(TABLE, "query-log-table").outputs["arn"]
    policy = mocks.one(ROLE_POLICY, "query-log-staff-read-data")
    [statement] = policy.statements()
    assert statement["Action"] == ["dynamodb:GetItem", "dynamodb:Query"], f"{policy.urn}: {statement}"
    assert statement["Resource"] == [table_arn], f"{policy.urn}: {statement}"


@pytest.mark.usefixtures("function_sources")
def test_route_pairs_store_query_with_the_writer(run_pulumi):
    # GIVEN / WHEN a QueryLog is created
    def program():
        log = QueryLog(
            "query-log",
            QueryLogArgs(
                region="us-east-1", log_retention_days=14, row_retention_days=90, origin_secrets=ORIGIN_SECRETS
            ),
        )
        route, function = log.route
        return {"path": route.path, "method": route.method, "function_arn": function.arn}

    mocks = run_pulumi(program)
    # THEN the route it offers the REST API is POST /store-query, answered by its writer
    writer = mocks.one(FUNCTION, "query-log-writer-function")
    assert (mocks.values["method"], mocks.values["path"]) == ("POST", "/store-query")
    assert mocks.values["function_arn"] == writer.outputs["arn"], writer.urn
