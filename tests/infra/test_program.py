"""The whole program (`__main__.py`) under Pulumi mocks, once per shipped stack file: the resource graph."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.schema import load_definition
from tests.infra.conftest import Mocks, RecordedResource
from tests.infra.resource_graph import REPO, run_stack, stack_config

STACKS = ("dev", "prod")
FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TABLE = "aws:dynamodb/table:Table"
# The only `*` resources allowed, each because AWS offers no resource-level permission (commented in the code).
ACTIONS_WITHOUT_RESOURCES = {"polly:SynthesizeSpeech", "comprehend:DetectSentiment"}


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> tuple[str, Mocks]:
    if not (REPO / "site" / "dist" / "index.html").exists():
        pytest.fail("the site is not built: run `make site`")
    return request.param, run_stack(request.param)


def fulfillment_function(mocks: Mocks) -> RecordedResource:
    return mocks.one(FUNCTION, "chatbot-fulfillment-function")


def role_statements(mocks: Mocks, role_urn_name: str) -> list[dict[str, Any]]:
    """Every statement of every inline policy attached to the role registered as `role_urn_name`."""
    role = mocks.named(role_urn_name)
    policies = [p for p in mocks.of_type(ROLE_POLICY) if p.inputs.get("role") == role.id]
    assert policies, f"{role.urn} has no inline policy"
    return [statement for policy in policies for statement in policy.statements()]


def test_bot_carries_the_definitions_intents_and_threshold(stack):
    _, mocks = stack
    bot = mocks.one("aws-native:lex:Bot")
    locale = bot.inputs["botLocales"][0]
    expected = load_definition().locales["en_US"]
    assert locale["localeId"] == "en_US"
    assert locale["nluConfidenceThreshold"] == expected.nlu_confidence_threshold
    assert [i["name"] for i in locale["intents"]] == [i.name for i in expected.intents]
    assert bot.inputs["autoBuildBotLocales"] is True, "the locale must be built on deploy"
    assert bot.inputs["idleSessionTtlInSeconds"] == 600


def test_alias_live_points_at_a_version_and_uses_the_fulfillment_lambda(stack):
    _, mocks = stack
    version = mocks.one("aws-native:lex:BotVersion")
    alias = mocks.one("aws-native:lex:BotAlias")
    assert alias.inputs["botAliasName"] == "live"
    assert alias.inputs["botVersion"] == version.outputs["botVersion"]
    hook = alias.inputs["botAliasLocaleSettings"][0]["botAliasLocaleSetting"]["codeHookSpecification"]
    assert hook["lambdaCodeHook"]["lambdaArn"] == fulfillment_function(mocks).outputs["arn"]
    logs = alias.inputs["conversationLogSettings"]["textLogSettings"][0]
    assert logs["enabled"] is True


def test_lex_may_invoke_the_fulfillment_lambda_only_through_the_alias(stack):
    _, mocks = stack
    alias = mocks.one("aws-native:lex:BotAlias")
    permission = mocks.one("aws:lambda/permission:Permission", "chatbot-lex-invokes-fulfillment")
    assert permission.inputs["principal"] == "lexv2.amazonaws.com"
    assert permission.inputs["sourceArn"] == alias.outputs["arn"]


def test_fulfillment_reads_the_customer_table_with_getitem_only(stack):
    _, mocks = stack
    customers = mocks.one(TABLE, "chatbot-customers")
    statements = role_statements(mocks, "chatbot-fulfillment-role")
    on_customers = [s for s in statements if customers.outputs["arn"] in s["Resource"]]
    assert [s["Action"] for s in on_customers] == [["dynamodb:GetItem"]], f"customer table access: {on_customers}"
    assert all(s["Resource"] == [customers.outputs["arn"]] for s in on_customers)


def test_fulfillment_runs_python313_on_arm64_with_the_powertools_layer(stack):
    _, mocks = stack
    function = fulfillment_function(mocks)
    assert function.inputs["runtime"] == "python3.13"
    assert function.inputs["architectures"] == ["arm64"]
    assert any("AWSLambdaPowertoolsPythonV3-python313-arm64" in layer for layer in function.inputs["layers"])


def test_every_lambda_has_a_log_group_with_retention(stack):
    name, mocks = stack
    retention = stack_config(name)["support-chatbot:logRetentionDays"]
    groups = {g.outputs["name"]: g for g in mocks.of_type("aws:cloudwatch/logGroup:LogGroup")}
    for function in mocks.of_type(FUNCTION):
        group = groups.get(function.inputs["loggingConfig"]["logGroup"])
        assert group is not None, f"{function.urn} logs to a group the program does not create"
        assert group.inputs["retentionInDays"] == retention


def test_no_policy_grants_a_wildcard_action_or_an_unexplained_wildcard_resource(stack):
    _, mocks = stack
    for policy in mocks.of_type(ROLE_POLICY):
        for statement in policy.statements():
            assert not any("*" in action for action in statement["Action"]), f"{policy.urn}: {statement}"
            if "*" in statement["Resource"]:
                assert set(statement["Action"]) <= ACTIONS_WITHOUT_RESOURCES, f"{policy.urn}: {statement}"


def test_data_tables_are_encrypted_with_point_in_time_recovery(stack):
    _, mocks = stack
    for table in mocks.of_type(TABLE):
        assert table.inputs["serverSideEncryption"]["enabled"] is True, f"{table.urn} is not encrypted"
        assert table.inputs["pointInTimeRecovery"]["enabled"] is True, f"{table.urn} has no PITR"


def test_prod_protects_data_tables_and_dev_does_not(stack):
    name, mocks = stack
    data_tables = [t for t in mocks.of_type(TABLE) if "idempotency" not in t.name]
    assert len(data_tables) >= 3, f"expected customers, query log and tickets tables: {[t.name for t in data_tables]}"
    for table in data_tables:
        assert table.protect is (name == "prod"), f"{table.urn}: protect={table.protect} in {name}"


def test_sample_customers_load_only_where_the_stack_asks(stack):
    name, mocks = stack
    items = mocks.of_type("aws:dynamodb/tableItem:TableItem")
    if name == "dev":
        assert sorted(i.name for i in items) == ["chatbot-customer-12345", "chatbot-customer-67890"]
        # AND the balance is stored as a number, as the customer table's contract says; the rest as strings
        for item in items:
            attributes = item.json_input("item")
            assert set(attributes["AccountBalance"]) == {"N"}, f"{item.urn}: the balance is not a number"
            assert set(attributes["CustomerId"]) == {"S"}, f"{item.urn}: {attributes}"
    else:
        assert items == [], "prod must not load sample data"


def test_stack_exports_what_users_need(stack):
    _, mocks = stack
    outputs = mocks.values
    expected = {"siteUrl", "apiUrl", "botId", "botAliasId", "botAliasArn", "localeId", "identityPoolId"}
    assert expected <= set(outputs), f"missing stack outputs: {expected - set(outputs)}"
    assert outputs["botId"] == "BOTID12345"
    assert outputs["botAliasId"] == "ALIASID123"
    assert outputs["localeId"] == "en_US"
    assert outputs["botAliasArn"].endswith(":bot-alias/BOTID12345/ALIASID123")


def test_components_are_those_of_the_design(stack):
    _, mocks = stack
    types = {r.type for r in mocks.resources if not r.custom}
    for component in ("Operations", "QueryLog", "Escalations", "RestApi", "SupportBot", "ChatSite"):
        assert f"support-chatbot:index:{component}" in types, f"{component} is missing from the program"


def test_guests_may_only_talk_to_the_live_alias(stack):
    _, mocks = stack
    alias_arn = mocks.one("aws-native:lex:BotAlias").outputs["arn"]
    assert role_statements(mocks, "chat-site-guest") == [
        {"Effect": "Allow", "Action": ["lex:DeleteSession", "lex:RecognizeText"], "Resource": [alias_arn]}
    ], "the guest role may only call RecognizeText and DeleteSession on the live alias"
    guest = mocks.named("chat-site-guest")
    attachments = [
        a
        for a in mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] in (guest.id, guest.outputs["name"])
    ]
    assert attachments == [], "no managed policy for guests"


def test_bot_name_carries_the_stack_so_stacks_can_share_an_account(stack):
    name, mocks = stack
    assert mocks.one("aws-native:lex:Bot").inputs["name"] == f"SupportChatbot-{name}"


def test_api_has_exactly_the_two_routes_with_the_stacks_throttling(stack):
    name, mocks = stack
    config = stack_config(name)
    paths = {r.id: r.outputs["path"] for r in mocks.of_type("aws:apigateway/resource:Resource")}
    methods = mocks.of_type("aws:apigateway/method:Method")
    routes = sorted((m.inputs["httpMethod"], paths[m.inputs["resourceId"]]) for m in methods)
    assert routes == [("POST", "/escalate"), ("POST", "/store-query")], f"unexpected API routes {routes}"
    settings = mocks.one("aws:apigateway/methodSettings:MethodSettings").inputs["settings"]
    assert settings["throttlingRateLimit"] == config["support-chatbot:apiThrottleRate"]
    assert settings["throttlingBurstLimit"] == config["support-chatbot:apiThrottleBurst"]


def test_escalations_dead_letter_after_the_stacks_attempts_and_raise_an_alarm(stack):
    name, mocks = stack
    queue = mocks.one("aws:sqs/queue:Queue", "escalations-queue")
    dlq = mocks.one("aws:sqs/queue:Queue", "escalations-dlq")
    redrive = queue.json_input("redrivePolicy")
    assert redrive["deadLetterTargetArn"] == dlq.outputs["arn"]
    assert redrive["maxReceiveCount"] == stack_config(name)["support-chatbot:escalationMaxAttempts"]
    alarms = [
        a
        for a in mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs.get("dimensions", {}).get("QueueName") == dlq.outputs["name"]
    ]
    assert len(alarms) == 1, "the DLQ needs exactly one alarm"
    assert alarms[0].inputs["threshold"] == 0


def test_query_log_and_idempotency_rows_expire_by_ttl(stack):
    _, mocks = stack
    assert mocks.one(TABLE, "query-log-table").inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}
    assert mocks.one(TABLE, "escalations-idempotency").inputs["ttl"]["enabled"] is True


def test_site_bucket_is_private_behind_origin_access_control(stack):
    _, mocks = stack
    block = mocks.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    distribution = mocks.one("aws:cloudfront/distribution:Distribution")
    oac = mocks.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    s3_origins = [o for o in distribution.inputs["origins"] if o.get("originAccessControlId")]
    assert [o["originAccessControlId"] for o in s3_origins] == [oac.id]


def test_api_path_of_the_distribution_reaches_this_stacks_api(stack):
    _, mocks = stack
    distribution = mocks.one("aws:cloudfront/distribution:Distribution")
    api = mocks.one("aws:apigateway/restApi:RestApi")
    [api_behaviour] = [b for b in distribution.inputs["orderedCacheBehaviors"] if b["pathPattern"] == "/api/*"]
    [origin] = [o for o in distribution.inputs["origins"] if o["originId"] == api_behaviour["targetOriginId"]]
    assert origin["domainName"] == f"{api.id}.execute-api.us-east-1.amazonaws.com"
    assert origin["originPath"] == "/live"
    assert sorted(api_behaviour["allowedMethods"]) == sorted(
        ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
    )


def test_page_is_served_with_a_csp_that_allows_only_this_regions_lex_and_cognito(stack):
    _, mocks = stack
    policy = mocks.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    csp = policy.inputs["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["script-src"] == "'self'", csp
    assert set(directives["connect-src"].split()) == {
        "'self'",
        "https://cognito-identity.us-east-1.amazonaws.com",
        "https://runtime-v2-lex.us-east-1.amazonaws.com",
    }, csp


def test_config_js_points_the_page_at_this_stacks_bot_and_pool(stack):
    _, mocks = stack
    uploaded = next(o for o in mocks.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.inputs["key"] == "config.js")
    config = json.loads(uploaded.inputs["content"].removeprefix("window.CHATBOT_CONFIG = ").removesuffix(";\n"))
    assert config["botId"] == mocks.one("aws-native:lex:Bot").outputs["awsId"]
    assert config["botAliasId"] == mocks.one("aws-native:lex:BotAlias").outputs["botAliasId"]
    assert config["identityPoolId"] == mocks.one("aws:cognito/identityPool:IdentityPool").id
    assert config["suggestions"] == load_definition().locales["en_US"].suggestions()


def test_guest_role_trusts_only_this_pools_unauthenticated_identities(stack):
    _, mocks = stack
    pool = mocks.one("aws:cognito/identityPool:IdentityPool")
    [trust] = mocks.named("chat-site-guest").statements("assumeRolePolicy")
    assert trust["Condition"]["StringEquals"] == {"cognito-identity.amazonaws.com:aud": pool.id}
    assert trust["Condition"]["ForAnyValue:StringLike"] == {"cognito-identity.amazonaws.com:amr": "unauthenticated"}


def test_lex_usage_and_fulfillment_throttling_are_watched(stack):
    name, mocks = stack
    alarms = {a.name: a for a in mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    usage, throttled = alarms["chatbot-usage"], alarms["chatbot-fulfillment-throttled"]
    assert usage.inputs["namespace"] == "AWS/Lex"
    assert usage.inputs["dimensions"]["BotAliasId"] == mocks.one("aws-native:lex:BotAlias").outputs["botAliasId"]
    assert throttled.inputs["dimensions"] == {"FunctionName": fulfillment_function(mocks).outputs["name"]}
    topics = [t.outputs["arn"] for t in mocks.of_type("aws:sns/topic:Topic")]
    expected_actions = topics if name == "prod" else []  # only prod sets alarmEmail
    assert usage.inputs.get("alarmActions", []) == expected_actions
    assert throttled.inputs.get("alarmActions", []) == expected_actions


def test_prod_rate_limits_each_ip_on_the_api_at_the_edge_and_dev_has_no_waf(stack):
    name, mocks = stack
    acls = mocks.of_type("aws:wafv2/webAcl:WebAcl")
    distribution = mocks.one("aws:cloudfront/distribution:Distribution")
    if name == "dev":
        assert acls == [], "dev should carry no WAF (no idle cost)"
        assert not distribution.inputs.get("webAclId")
        return
    [acl] = acls
    assert (acl.inputs["scope"], acl.inputs["region"]) == ("CLOUDFRONT", "us-east-1"), acl.urn
    assert distribution.inputs["webAclId"] == acl.outputs["arn"]
    [rule] = acl.inputs["rules"]
    limit = rule["statement"]["rateBasedStatement"]
    assert rule["action"] == {"block": {}}
    assert limit["limit"] == stack_config(name)["support-chatbot:apiRateLimitPerIp"]
    assert limit["aggregateKeyType"] == "IP"
    scope = limit["scopeDownStatement"]["byteMatchStatement"]
    assert (scope["searchString"], scope["positionalConstraint"]) == ("/api/", "STARTS_WITH")
