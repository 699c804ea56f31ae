"""EscalationApi under Pulumi mocks: two public routes, durable tickets, a watched DLQ, least-privilege roles."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from components.escalation_api import EscalationApi, EscalationApiArgs
from components.python_function import PythonFunction, PythonFunctionArgs

TABLE = "aws:dynamodb/table:Table"
QUEUE = "aws:sqs/queue:Queue"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"
RESOURCE = "aws:apigateway/resource:Resource"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION = "aws:lambda/function:Function"
REGION = "us-east-1"
SENDER = "support-bot@example.com"
TEAM = ("it-support@example.com", "oncall@example.com")


def args(store_query: PythonFunction, **overrides) -> EscalationApiArgs:
    base = EscalationApiArgs(
        region=REGION,
        log_retention_days=14,
        sender=SENDER,
        recipients=TEAM,
        max_attempts=5,
        throttle_rate=10.0,
        throttle_burst=20,
        store_query_function=store_query,
    )
    return replace(base, **overrides)


def escalation_api(**overrides):
    """A program: the query-log writer stand-in plus an EscalationApi; returns its outputs for `mocks.values`."""

    def program():
        store_query = PythonFunction(
            "store-query",
            PythonFunctionArgs(source="store_query", description="writer", region=REGION, log_retention_days=14),
        )
        api = EscalationApi("escalation", args(store_query, **overrides))
        return {
            "api_url": api.api_url,
            "origin_domain": api.origin_domain,
            "origin_path": api.origin_path,
            "ticket_environment": api.ticket_environment,
        }

    return program


@pytest.fixture(scope="module")
def mocks(run_pulumi, function_sources):
    """One run with the defaults, shared by the tests that only read it."""
    return run_pulumi(escalation_api())


def route_paths(mocks) -> dict[str, str]:
    """Resource id -> path of every API resource."""
    return {r.id: r.outputs["path"] for r in mocks.of_type(RESOURCE)}


def test_api_has_exactly_two_post_routes(mocks):
    # GIVEN / WHEN an EscalationApi without extra origins
    # THEN its methods are POST /escalate and POST /store-query, and nothing else (no OPTIONS, no ANY)
    paths = route_paths(mocks)
    routes = sorted((m.inputs["httpMethod"], paths[m.inputs["resourceId"]]) for m in mocks.of_type(METHOD))
    assert routes == [("POST", "/escalate"), ("POST", "/store-query")], f"unexpected API routes {routes}"


def test_each_route_proxies_to_its_own_lambda(mocks):
    # GIVEN / WHEN an EscalationApi
    # THEN /escalate goes to the escalate function and /store-query to the query-log writer, as Lambda proxies
    paths = route_paths(mocks)
    invoke_arns = {f.name: f.outputs["invokeArn"] for f in mocks.of_type(FUNCTION)}
    targets = {paths[i.inputs["resourceId"]]: i for i in mocks.of_type(INTEGRATION)}
    assert targets["/escalate"].inputs["uri"] == invoke_arns["escalation-escalate-function"], targets["/escalate"].urn
    assert targets["/store-query"].inputs["uri"] == invoke_arns["store-query-function"], targets["/store-query"].urn
    for integration in targets.values():
        assert integration.inputs["type"] == "AWS_PROXY", f"{integration.urn} is not a Lambda proxy"
        assert integration.inputs["integrationHttpMethod"] == "POST", integration.urn


def test_lambda_permissions_name_the_stage_method_and_path(mocks):
    # GIVEN / WHEN an EscalationApi
    # THEN API Gateway may invoke each function only for its own method and path on the live stage
    api = mocks.one("aws:apigateway/restApi:RestApi")
    execution_arn = api.outputs["executionArn"]
    source_arns = {p.name: p.inputs["sourceArn"] for p in mocks.of_type(PERMISSION)}
    assert source_arns == {
        "escalation-escalate-invoke": f"{execution_arn}/live/POST/escalate",
        "escalation-store-query-invoke": f"{execution_arn}/live/POST/store-query",
    }, "Lambda permissions must be scoped to the API's execution ARN, stage, method and path"
    assert all(p.inputs["principal"] == "apigateway.amazonaws.com" for p in mocks.of_type(PERMISSION))


def test_allowed_origins_add_mock_preflights_that_echo_only_listed_origins(run_pulumi, function_sources):
    # GIVEN one extra origin
    # WHEN the API is created
    mocks = run_pulumi(escalation_api(allowed_origins=("https://www.example.com",)))
    # THEN each route gets an OPTIONS method answered by a MOCK integration, whose template allows that origin only
    paths = route_paths(mocks)
    options = sorted(
        paths[m.inputs["resourceId"]] for m in mocks.of_type(METHOD) if m.inputs["httpMethod"] == "OPTIONS"
    )
    assert options == ["/escalate", "/store-query"], f"OPTIONS methods on {options}"
    mock_integrations = [i for i in mocks.of_type(INTEGRATION) if i.inputs["type"] == "MOCK"]
    assert len(mock_integrations) == 2, "each preflight must be answered by API Gateway, not a Lambda"
    for response in mocks.of_type("aws:apigateway/integrationResponse:IntegrationResponse"):
        template = response.inputs["responseTemplates"]["application/json"]
        assert '#set($allowed = ["https://www.example.com"])' in template, f"{response.urn}: {template}"
        assert response.inputs["responseParameters"]["method.response.header.Access-Control-Allow-Methods"] == (
            "'OPTIONS,POST'"
        ), response.urn
    escalate = mocks.one(FUNCTION, "escalation-escalate-function")
    env = escalate.inputs["environment"]["variables"]
    assert json.loads(env["ALLOWED_ORIGINS"]) == ["https://www.example.com"], f"{escalate.urn}: {env}"


def test_stage_is_live_throttled_from_args_with_metrics(run_pulumi, function_sources):
    # GIVEN a throttle of 7.5 requests/s with bursts of 15
    # WHEN the API is created
    mocks = run_pulumi(escalation_api(throttle_rate=7.5, throttle_burst=15))
    # THEN every method of the live stage is throttled so, with metrics on and request bodies never logged
    stage = mocks.one("aws:apigateway/stage:Stage")
    settings = mocks.one("aws:apigateway/methodSettings:MethodSettings")
    assert stage.inputs["stageName"] == "live", stage.urn
    assert settings.inputs["stageName"] == "live", settings.urn
    assert settings.inputs["methodPath"] == "*/*", f"{settings.urn} must cover every method"
    assert settings.inputs["settings"]["throttlingRateLimit"] == 7.5, settings.urn
    assert settings.inputs["settings"]["throttlingBurstLimit"] == 15, settings.urn
    assert settings.inputs["settings"]["metricsEnabled"] is True, settings.urn
    assert settings.inputs["settings"]["dataTraceEnabled"] is False, f"{settings.urn} would log user text"


def test_stage_writes_json_access_logs_to_a_retained_log_group(mocks):
    # GIVEN / WHEN an EscalationApi
    # THEN the stage logs one JSON line per request, with the request id, caller ip, status and path
    stage = mocks.one("aws:apigateway/stage:Stage")
    group = mocks.one("aws:cloudwatch/logGroup:LogGroup", "escalation-access-logs")
    settings = stage.inputs["accessLogSettings"]
    assert settings["destinationArn"] == group.outputs["arn"], f"{stage.urn} logs elsewhere"
    fields = json.loads(settings["format"])
    assert {"requestId", "ip", "status", "path"} <= set(fields), f"{stage.urn} access log lacks fields: {fields}"
    assert group.inputs["retentionInDays"] == 14, f"{group.urn} keeps logs forever"


def test_deployment_changes_when_routes_targets_or_origins_change(run_pulumi, function_sources):
    # GIVEN the same API without and with an extra origin
    # WHEN both are created
    plain = run_pulumi(escalation_api()).one("aws:apigateway/deployment:Deployment")
    with_cors = run_pulumi(escalation_api(allowed_origins=("https://a.example.com",)))
    cors = with_cors.one("aws:apigateway/deployment:Deployment")
    # THEN their deployment triggers differ, so `pulumi up` publishes a new snapshot to the stage
    assert plain.inputs["triggers"] != cors.inputs["triggers"], "a CORS change would not be redeployed"
    assert len(cors.depends_on) >= 6, f"{cors.urn} must wait for every route resource, method and integration"


def test_outputs_name_the_stage_url_and_cloudfront_origin(mocks):
    # GIVEN / WHEN an EscalationApi
    api = mocks.one("aws:apigateway/restApi:RestApi")
    # THEN the origin for CloudFront is the regional execute-api domain and the stage path
    assert mocks.values["origin_domain"] == f"{api.id}.execute-api.{REGION}.amazonaws.com"
    assert mocks.values["origin_path"] == "/live"
    assert mocks.values["api_url"] == f"https://{api.id}.execute-api.{REGION}.amazonaws.com/live"
    assert api.inputs["endpointConfiguration"]["types"] == "REGIONAL", f"{api.urn} must be regional"


def test_tickets_table_is_encrypted_recoverable_and_protected_with_protect_data(run_pulumi, function_sources):
    # GIVEN protect_data, as in prod
    # WHEN the API is created
    mocks = run_pulumi(escalation_api(protect_data=True))
    # THEN the tickets table (hash ticketId) is KMS-encrypted, has PITR, and is protected and retained
    tickets = mocks.one(TABLE, "escalation-tickets")
    assert tickets.inputs["hashKey"] == "ticketId", tickets.urn
    assert tickets.inputs["serverSideEncryption"]["enabled"] is True, f"{tickets.urn} is not KMS-encrypted"
    assert tickets.inputs["pointInTimeRecovery"]["enabled"] is True, f"{tickets.urn} has no PITR"
    assert tickets.protect, f"{tickets.urn} is not protected although protect_data is set"
    assert tickets.retain_on_delete, f"{tickets.urn} is not retained although protect_data is set"
    assert tickets.inputs["deletionProtectionEnabled"] is True, tickets.urn


def test_idempotency_table_expires_records_and_is_encrypted(mocks):
    # GIVEN / WHEN an EscalationApi
    # THEN the Powertools idempotency table is keyed by id, expires on `expiration` and is encrypted
    table = mocks.one(TABLE, "escalation-idempotency")
    assert table.inputs["hashKey"] == "id", table.urn
    assert table.inputs["ttl"] == {"attributeName": "expiration", "enabled": True}, f"{table.urn}: no TTL"
    assert table.inputs["serverSideEncryption"]["enabled"] is True, f"{table.urn} is not KMS-encrypted"


def test_queue_redrives_to_a_two_week_dlq_after_max_attempts(run_pulumi, function_sources):
    # GIVEN 3 attempts per ticket
    # WHEN the API is created
    mocks = run_pulumi(escalation_api(max_attempts=3))
    # THEN the encrypted queue sends a message to the DLQ after 3 receives, and the DLQ keeps it 14 days
    queue, dlq = mocks.one(QUEUE, "escalation-queue"), mocks.one(QUEUE, "escalation-dlq")
    redrive = queue.json_input("redrivePolicy")
    assert redrive == {"deadLetterTargetArn": dlq.outputs["arn"], "maxReceiveCount": 3}, f"{queue.urn}: {redrive}"
    assert dlq.inputs["messageRetentionSeconds"] == 14 * 24 * 3600, f"{dlq.urn} drops failed escalations early"
    for q in (queue, dlq):
        assert q.inputs["sqsManagedSseEnabled"] is True, f"{q.urn} is not encrypted"


def test_queue_hides_a_message_for_six_sender_timeouts(mocks):
    # GIVEN / WHEN an EscalationApi
    # THEN the queue's visibility timeout is at least 6x the sender's timeout (AWS's rule for SQS event sources)
    queue = mocks.one(QUEUE, "escalation-queue")
    sender = mocks.one(FUNCTION, "escalation-sender-function")
    assert queue.inputs["visibilityTimeoutSeconds"] >= 6 * sender.inputs["timeout"], (
        f"{queue.urn}: visibility {queue.inputs['visibilityTimeoutSeconds']} s < 6 x {sender.inputs['timeout']} s"
    )


def test_sender_reads_the_queue_in_batches_reporting_item_failures(mocks):
    # GIVEN / WHEN an EscalationApi
    # THEN the sender consumes the queue in batches of at most 10 and retries only the records that failed
    mapping = mocks.one("aws:lambda/eventSourceMapping:EventSourceMapping")
    queue = mocks.one(QUEUE, "escalation-queue")
    sender = mocks.one(FUNCTION, "escalation-sender-function")
    assert mapping.inputs["eventSourceArn"] == queue.outputs["arn"], mapping.urn
    assert mapping.inputs["functionName"] == sender.outputs["arn"], mapping.urn
    assert mapping.inputs["batchSize"] <= 10, mapping.urn
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"], mapping.urn


def test_dlq_alarm_fires_on_any_visible_message_and_mails_the_alarm_address(run_pulumi, function_sources):
    # GIVEN an alarm address
    # WHEN the API is created
    mocks = run_pulumi(escalation_api(alarm_email="ops@example.com"))
    # THEN an alarm watches the DLQ's visible messages > 0 and notifies an encrypted topic mailing that address
    alarm = mocks.one("aws:cloudwatch/metricAlarm:MetricAlarm")
    dlq = mocks.one(QUEUE, "escalation-dlq")
    topic = mocks.one("aws:sns/topic:Topic")
    subscription = mocks.one("aws:sns/topicSubscription:TopicSubscription")
    key = mocks.one("aws:kms/key:Key")
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm.inputs["dimensions"] == {"QueueName": dlq.outputs["name"]}, f"{alarm.urn} watches another queue"
    assert (alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == ("GreaterThanThreshold", 0), alarm.urn
    assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]], f"{alarm.urn} notifies no one"
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == ("email", "ops@example.com")
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"], f"{topic.urn} is not encrypted with its own key"
    assert key.inputs["enableKeyRotation"] is True, key.urn
    cloudwatch = [s for s in key.statements() if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch, f"{key.urn}: CloudWatch cannot publish to the encrypted topic"
    assert cloudwatch[0]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"], key.urn


def test_without_alarm_email_the_dlq_alarm_exists_without_a_topic(mocks):
    # GIVEN no alarm address
    # WHEN the API is created
    # THEN the alarm still exists (console, dashboards) and no topic or key is made
    alarm = mocks.one("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert alarm.inputs.get("alarmActions", []) == [], alarm.urn
    assert mocks.of_type("aws:sns/topic:Topic") == [], "a topic without subscribers costs a key for nothing"


def test_sender_may_send_email_only_as_the_sender_identity_to_the_team(mocks):
    # GIVEN / WHEN an EscalationApi
    # THEN the sender's SES statement names the sender's identities and pins the From address and recipients
    policy = mocks.one(ROLE_POLICY, "escalation-sender-send-tickets")
    [ses] = [s for s in policy.statements() if any(a.startswith("ses:") for a in s["Action"])]
    prefix = f"arn:aws:ses:{REGION}:{mocks.account_id}:identity/"
    assert ses["Action"] == ["ses:SendEmail"], f"{policy.urn}: {ses}"
    assert sorted(ses["Resource"]) == sorted([prefix + SENDER, prefix + "example.com"]), f"{policy.urn}: {ses}"
    assert ses["Condition"]["StringEquals"] == {"ses:FromAddress": SENDER}, f"{policy.urn}: {ses}"
    assert ses["Condition"]["ForAllValues:StringEquals"] == {"ses:Recipients": list(TEAM)}, f"{policy.urn}: {ses}"


def test_sender_environment_names_table_sender_and_recipients(mocks):
    # GIVEN / WHEN an EscalationApi
    # THEN the sender Lambda knows the tickets table, the From address and the team as a JSON list
    sender = mocks.one(FUNCTION, "escalation-sender-function")
    tickets = mocks.one(TABLE, "escalation-tickets")
    env = sender.inputs["environment"]["variables"]
    assert env["TICKETS_TABLE_NAME"] == tickets.outputs["name"], f"{sender.urn}: {env}"
    assert env["SENDER_ADDRESS"] == SENDER, f"{sender.urn}: {env}"
    assert json.loads(env["RECIPIENTS"]) == list(TEAM), f"{sender.urn}: {env}"


def test_open_tickets_grant_is_exactly_what_open_ticket_calls(mocks):
    # GIVEN / WHEN an EscalationApi
    # THEN the escalate role may record/withdraw tickets, use the idempotency table and queue messages, nothing more
    tickets, idem = mocks.one(TABLE, "escalation-tickets"), mocks.one(TABLE, "escalation-idempotency")
    queue = mocks.one(QUEUE, "escalation-queue")
    policy = mocks.one(ROLE_POLICY, "escalation-escalate-open-tickets")
    granted = {s["Resource"][0]: s["Action"] for s in policy.statements()}
    assert granted == {
        tickets.outputs["arn"]: ["dynamodb:DeleteItem", "dynamodb:PutItem"],
        idem.outputs["arn"]: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        queue.outputs["arn"]: ["sqs:SendMessage"],
    }, f"{policy.urn} grants {granted}"
    escalate = mocks.one(FUNCTION, "escalation-escalate-function")
    env = escalate.inputs["environment"]["variables"]
    assert {k: env[k] for k in mocks.values["ticket_environment"]} == mocks.values["ticket_environment"], escalate.urn


def test_every_policy_statement_names_exact_actions_and_resources(run_pulumi, function_sources):
    # GIVEN every optional part turned on
    # WHEN the API is created
    mocks = run_pulumi(escalation_api(alarm_email="ops@example.com", allowed_origins=("https://a.example.com",)))
    # THEN no identity policy has a wildcard action or a `*` resource
    policies = mocks.of_type(ROLE_POLICY)
    assert len(policies) >= 5, f"expected the logs, data, queue and SES policies, got {[p.name for p in policies]}"
    for policy in policies:
        for statement in policy.statements():
            assert not any("*" in action for action in statement["Action"]), f"{policy.urn}: {statement}"
            assert "*" not in statement["Resource"], f"{policy.urn}: {statement}"
    # AND the only key-policy wildcard is AWS's default "the account administers the key through IAM"
    key = mocks.one("aws:kms/key:Key")
    wildcards = [s for s in key.statements() if any("*" in a for a in s["Action"])]
    assert [s["Principal"] for s in wildcards] == [{"AWS": f"arn:aws:iam::{mocks.account_id}:root"}], key.urn


def test_api_gateway_cloudwatch_role_is_an_account_setting_kept_on_destroy(mocks):
    # GIVEN / WHEN an EscalationApi managing the account setting (the default)
    # THEN the region's API Gateway account role is set, and both are retained: other stacks may depend on them
    account = mocks.one("aws:apigateway/account:Account")
    role = mocks.one("aws:iam/role:Role", "escalation-apigateway-cloudwatch")
    assert account.inputs["cloudwatchRoleArn"] == role.outputs["arn"], account.urn
    assert account.retain_on_delete, f"{account.urn} would unset logging for every API in the region on destroy"
    assert role.retain_on_delete, f"{role.urn} would break other stacks' logging on destroy"
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }, role.urn


def test_the_account_setting_is_left_alone_when_not_managed(run_pulumi, function_sources):
    # GIVEN manage_api_gateway_account=False (the account has a role already)
    # WHEN the API is created
    mocks = run_pulumi(escalation_api(manage_api_gateway_account=False))
    # THEN no account-wide setting is touched
    assert mocks.of_type("aws:apigateway/account:Account") == [], "the account setting was changed"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"recipients": ()}, "recipients"),
        ({"sender": "not-an-address"}, "sender"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"allowed_origins": ("http://insecure.example.com",)}, "allowed_origins"),
    ],
)
def test_bad_arguments_fail_naming_the_argument(run_pulumi, function_sources, override, named):
    # GIVEN one bad argument
    # WHEN the API is created
    # THEN it fails before any AWS call, naming the argument
    with pytest.raises(ValueError, match=named):
        run_pulumi(escalation_api(**override))


def test_execution_logs_go_to_a_group_with_retention_made_before_the_stage(mocks):
    # GIVEN / WHEN an EscalationApi with execution logging on (errors)
    # THEN API Gateway's own log group exists with a retention, and the stage waits for it
    group = mocks.one("aws:cloudwatch/logGroup:LogGroup", "escalation-execution-logs")
    api = mocks.one("aws:apigateway/restApi:RestApi")
    assert group.inputs["name"] == f"API-Gateway-Execution-Logs_{api.id}/live", group.urn
    assert group.inputs["retentionInDays"] == 14, group.urn
    assert group.urn in mocks.one("aws:apigateway/stage:Stage").depends_on
