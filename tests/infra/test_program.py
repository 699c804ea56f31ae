"""The whole program (`__main__.py`) under Pulumi mocks, once per shipped stack file: the resource graph."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.model import StringShape, StructureShape

from bot.schema import load_definition
from components.log_bucket import CLOUDFRONT_LOG_DELIVERY
from components.settings import qualified_key
from components.support_bot import PERSONAL_SLOT_TYPES
from contracts.knowledge import KNOWLEDGE_INTENT_NAME
from contracts.stack import ADMIN_ROUTES, ORIGIN_SECRET_HEADER, ORIGIN_SECRETS, PUBLIC_ROUTES
from tests.infra.conftest import ACCOUNT_ID, CANONICAL_USER_ID, Mocks, RecordedResource
from tests.infra.resource_graph import EVERY_OPTION, REPO, run_stack, stack_config

STACKS = ("dev", "prod")
FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TABLE = "aws:dynamodb/table:Table"
# The only `*` resources allowed, each because AWS offers no resource-level permission (commented in the code).
ACTIONS_WITHOUT_RESOURCES = {"polly:SynthesizeSpeech", "comprehend:DetectSentiment"}
AWS_NATIVE_PROVIDER = "pulumi:providers:aws-native"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


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
    # The shipped stacks answer from the knowledge base: Lex's QnAIntent comes after the definition's intents.
    assert [i["name"] for i in locale["intents"]] == [i.name for i in expected.intents] + [KNOWLEDGE_INTENT_NAME]
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


def api_paths(mocks: Mocks) -> dict[str, str]:
    """Resource id -> the whole path of every API resource (each resource knows only its own part)."""
    resources = {r.id: r for r in mocks.of_type("aws:apigateway/resource:Resource")}

    def path(resource_id: str) -> str:
        resource = resources.get(resource_id)
        return "" if resource is None else f"{path(resource.inputs['parentId'])}/{resource.inputs['pathPart']}"

    return {resource_id: path(resource_id) for resource_id in resources}


def test_api_has_exactly_the_public_and_staff_routes_with_the_stacks_throttling(stack):
    name, mocks = stack
    config = stack_config(name)
    paths = api_paths(mocks)
    methods = mocks.of_type("aws:apigateway/method:Method")
    routes = sorted((m.inputs["httpMethod"], paths[m.inputs["resourceId"]]) for m in methods)
    expected = sorted((route.method, route.path) for route in (*PUBLIC_ROUTES, *ADMIN_ROUTES))
    assert routes == expected, f"unexpected API routes {routes}"
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
    block = mocks.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "chat-site-bucket-private").inputs
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    distribution = mocks.one("aws:cloudfront/distribution:Distribution")
    oac = mocks.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    s3_origins = [o for o in distribution.inputs["origins"] if o.get("originAccessControlId")]
    # The page's bucket and the knowledge base's documents (the shipped stacks have one), both signed by the one OAC.
    assert [o["originId"] for o in s3_origins] == ["site-bucket", "documents-bucket"]
    assert [o["originAccessControlId"] for o in s3_origins] == [oac.id, oac.id]


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
    policy = mocks.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "chat-site-security-headers")
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


def assert_every_aws_native_resource_uses_one_provider_in(mocks: Mocks, region: str) -> None:
    """Exactly one aws-native provider, in `region`, and every aws-native resource names it."""
    providers = mocks.of_type(AWS_NATIVE_PROVIDER)
    assert len(providers) == 1, f"expected one aws-native provider, found {providers}"
    [provider] = providers
    assert provider.inputs.get("region") == region, f"{provider.urn} is in {provider.inputs.get('region')}"
    native = [r for r in mocks.resources if r.type.startswith("aws-native:")]
    assert native, "the program registers no aws-native resource: the bot is missing"
    reference = f"{provider.urn}::{provider.id}"
    strays = [f"{r.urn} uses {r.provider or 'the default provider'}" for r in native if r.provider != reference]
    assert not strays, "every aws-native resource must use the stack's aws-native provider:\n" + "\n".join(strays)


def test_every_aws_native_resource_uses_the_one_provider_made_from_the_stacks_region(stack):
    # GIVEN a shipped stack (the default aws-native provider would read aws-native:region or AWS_REGION, never
    # aws:region)
    name, mocks = stack
    # WHEN / THEN its Lex resources all use one explicit provider in the stack's own region
    assert_every_aws_native_resource_uses_one_provider_in(mocks, stack_config(name)["aws:region"])


def test_the_aws_native_provider_follows_the_stacks_region_wherever_it_is():
    # GIVEN a stack in eu-west-1, away from us-east-1 where the test harness's default region is
    config = stack_config(EVERY_OPTION)
    assert config["aws:region"] == "eu-west-1"
    # WHEN the program runs
    mocks = run_stack(EVERY_OPTION)
    # THEN the bot is made in eu-west-1 too
    assert_every_aws_native_resource_uses_one_provider_in(mocks, "eu-west-1")


def origin_secret_values(mocks: Mocks) -> list[str]:
    """The generated origin secrets, in slot order."""
    values = [p.outputs["result"] for p in sorted(mocks.of_type(RANDOM_PASSWORD), key=lambda p: p.name)]
    assert len(values) == 2, f"expected two origin secret values, found {len(values)}"
    return values


def test_cloudfront_sends_the_api_the_origin_secret_as_a_secret(stack):
    # GIVEN a shipped stack at rotation 0 (the first of the two values is the one sent)
    name, mocks = stack
    sent = origin_secret_values(mocks)[0]
    distribution = mocks.one("aws:cloudfront/distribution:Distribution")
    [api_behaviour] = [b for b in distribution.inputs["orderedCacheBehaviors"] if b["pathPattern"] == "/api/*"]
    origins = {o["originId"]: o for o in distribution.inputs["origins"]}
    # WHEN / THEN the API's origin carries the header with that value, the page's bucket never sees it, and the
    # origins are a secret input (encrypted in the state, masked in previews)
    api_origin = origins.pop(api_behaviour["targetOriginId"])
    assert api_origin["customHeaders"] == [{"name": ORIGIN_SECRET_HEADER, "value": sent}], api_origin
    assert all(not origin.get("customHeaders") for origin in origins.values()), origins
    assert "origins" in distribution.secret_inputs, f"{name}: the origin secret is in the state in clear"


def test_every_api_function_accepts_only_the_origin_secrets(stack):
    # GIVEN a shipped stack's REST API and the functions its routes reach
    name, mocks = stack
    functions = {f.outputs["invokeArn"]: f for f in mocks.of_type(FUNCTION)}
    routes = [i for i in mocks.of_type("aws:apigateway/integration:Integration") if i.inputs["type"] == "AWS_PROXY"]
    assert len(routes) == len(PUBLIC_ROUTES) + len(ADMIN_ROUTES), routes
    for integration in routes:
        function = functions[integration.inputs["uri"]]
        # WHEN / THEN each accepts exactly the two origin secrets, given to it as a secret
        accepted = json.loads(function.inputs["environment"]["variables"][ORIGIN_SECRETS.name])
        assert accepted == origin_secret_values(mocks), f"{function.urn} accepts {len(accepted)} other values"
        assert "environment" in function.secret_inputs, f"{name}: {function.urn} holds the secret in clear"


def test_no_stack_output_reveals_the_origin_secret(stack):
    # GIVEN a shipped stack's outputs
    _, mocks = stack
    exported = json.dumps(mocks.values, default=str)
    # WHEN / THEN neither origin secret is among them
    assert not [value for value in origin_secret_values(mocks) if value in exported], "a stack output holds a secret"


def test_conversation_logs_obscure_the_users_name_and_email(stack):
    # GIVEN a shipped stack's bot, which logs every conversation (text logs on the live alias)
    name, mocks = stack
    slots = {
        (intent["name"], slot["name"]): slot
        for locale in mocks.one("aws-native:lex:Bot").inputs["botLocales"]
        for intent in locale["intents"]
        for slot in intent.get("slots", [])
    }
    obscured = {key for key, slot in slots.items() if slot.get("obfuscationSetting")}
    # WHEN / THEN the slots holding personal data (by Lex built-in type) are obscured in those logs, and only they
    assert {slot for _, slot in obscured} >= {"UserName", "UserEmail"}, f"{name}: obscured slots {obscured}"
    for key in obscured:
        assert slots[key]["obfuscationSetting"] == {"obfuscationSettingType": "DefaultObfuscation"}, key
        assert slots[key]["slotTypeName"] in PERSONAL_SLOT_TYPES, f"{key} is obscured but holds no personal data"
    assert all(slots[key]["slotTypeName"] not in PERSONAL_SLOT_TYPES for key in set(slots) - obscured)


def test_every_bucket_refuses_requests_without_tls(stack):
    # GIVEN a shipped stack's buckets and bucket policies
    name, mocks = stack
    policies = {p.inputs["bucket"]: p for p in mocks.of_type("aws:s3/bucketPolicy:BucketPolicy")}
    buckets = mocks.of_type("aws:s3/bucket:Bucket")
    assert buckets, f"{name} has no bucket"
    for bucket in buckets:
        # WHEN its policy is read
        assert bucket.id in policies, f"{bucket.urn} has no bucket policy"
        arn = bucket.outputs["arn"]
        denials = [s for s in policies[bucket.id].statements() if s["Effect"] == "Deny"]
        # THEN it denies everyone everything on the bucket and its objects when the request is not over TLS
        assert {
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:*"],
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        } in [{key: value for key, value in s.items() if key != "Sid"} for s in denials], f"{bucket.urn}: {denials}"


# The services the stack's roles trust, and the source the trust is pinned to (no confused deputy), or why not.
SOURCE_OF_TRUST: dict[str, str | None] = {
    # Lex V2 sends aws:SourceAccount and aws:SourceArn when it assumes the bot's role; the bot's own ARN is not known
    # before the role exists, so any bot of the account and region.
    "lexv2.amazonaws.com": "arn:aws:lex:{region}:{account}:bot/*",
    # Lambda's execution role: Lambda documents aws:SourceArn only in policies where a function is the target, not
    # for assuming the execution role (its own key, lambda:SourceFunctionArn, is for identity policies).
    "lambda.amazonaws.com": None,
    # Bedrock sends both keys when it assumes a knowledge base's service role; the knowledge base's ARN is not known
    # before the role exists, so any knowledge base of the account and region.
    "bedrock.amazonaws.com": "arn:aws:bedrock:{region}:{account}:knowledge-base/*",
    # API Gateway's account-wide CloudWatch role: AWS's examples carry no condition, and a condition API Gateway does
    # not satisfy would stop logging for every API of the region. The role may only write logs.
    "apigateway.amazonaws.com": None,
}


def test_service_roles_trust_their_service_only_for_this_account_where_it_says_which(stack):
    # GIVEN a shipped stack's roles that a service assumes
    name, mocks = stack
    region = stack_config(name)["aws:region"]
    for role in mocks.of_type("aws:iam/role:Role"):
        for trust in role.statements("assumeRolePolicy"):
            service = trust["Principal"].get("Service") if isinstance(trust["Principal"], dict) else None
            if service is None:
                continue
            # WHEN its trust is read
            assert service in SOURCE_OF_TRUST, f"{role.urn} trusts {service}: decide its source in SOURCE_OF_TRUST"
            source = SOURCE_OF_TRUST[service]
            if source is None:
                continue
            # THEN it holds only for this account's resources of that service
            assert trust.get("Condition") == {
                "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
                "ArnLike": {"aws:SourceArn": source.format(region=region, account=ACCOUNT_ID)},
            }, f"{role.urn}: {trust}"


def with_settings(stack: str, **values: object) -> Mocks:
    """The stack run with settings (by field) changed from its stack file."""
    return run_stack(stack, config={**stack_config(stack), **{qualified_key(f): v for f, v in values.items()}})


@pytest.fixture(scope="module", params=STACKS)
def logged_stack(request: pytest.FixtureRequest) -> tuple[str, Mocks]:
    """A shipped stack with accessLogging turned on."""
    return request.param, with_settings(request.param, access_logging=True)


def test_access_logging_is_off_unless_a_stack_asks(stack):
    # GIVEN a shipped stack, which does not set accessLogging
    name, mocks = stack
    # WHEN / THEN there is no log bucket and nothing logs to one
    buckets = [b.name for b in mocks.of_type("aws:s3/bucket:Bucket")]
    assert buckets == ["chat-site-bucket", "knowledge-base-documents"], name
    assert mocks.of_type("aws:s3/bucketLogging:BucketLogging") == []
    assert not mocks.one("aws:cloudfront/distribution:Distribution").inputs.get("loggingConfig")


def test_access_logs_go_to_a_private_tls_only_bucket_that_forgets_them(logged_stack):
    # GIVEN a shipped stack with accessLogging on
    name, mocks = logged_stack
    site = mocks.one("aws:s3/bucket:Bucket", "chat-site-bucket")
    logs = mocks.one("aws:s3/bucket:Bucket", "chat-site-logs")
    of_logs = {r.type: r for r in mocks.resources if r.inputs.get("bucket") == logs.id}
    # WHEN / THEN CloudFront's standard logs (without cookies) and the page bucket's server access logs go there
    logging = mocks.one("aws:cloudfront/distribution:Distribution").inputs["loggingConfig"]
    assert (logging["bucket"], logging["includeCookies"]) == (logs.outputs["bucketDomainName"], False), logging
    server_logs = mocks.one("aws:s3/bucketLogging:BucketLogging")
    assert (server_logs.inputs["bucket"], server_logs.inputs["targetBucket"]) == (site.id, logs.id)
    # AND the logs expire after the stack's log retention
    [rule] = of_logs["aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"].inputs["rules"]
    assert rule["expiration"]["days"] == stack_config(name)["support-chatbot:logRetentionDays"], rule
    # AND no one outside may read it, only CloudFront's delivery account and the owner hold grants
    block = of_logs["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"].inputs
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    grants = of_logs["aws:s3/bucketAcl:BucketAcl"].inputs["accessControlPolicy"]["grants"]
    assert sorted(g["grantee"]["id"] for g in grants) == sorted([CANONICAL_USER_ID, CLOUDFRONT_LOG_DELIVERY])
    # AND S3 may put server access logs only for this account's page bucket
    policy = of_logs["aws:s3/bucketPolicy:BucketPolicy"]
    [delivery] = [s for s in policy.statements() if s["Effect"] == "Allow"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}, delivery
    assert delivery["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": [site.outputs["arn"]]},
    }, delivery
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy.statements())


def test_a_custom_domain_is_served_over_tls_1_2_or_newer(stack):
    # GIVEN a shipped stack given a custom domain and its certificate
    name, _ = stack
    mocks = with_settings(
        name, custom_domain="chat.example.com", certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/abc"
    )
    model = botocore.session.get_session().get_service_model("cloudfront")
    shape = model.shape_for("ViewerCertificate")
    assert isinstance(shape, StructureShape)
    policies = shape.members["MinimumProtocolVersion"]
    assert isinstance(policies, StringShape)
    tls_1_2_or_newer = {policy for policy in policies.enum if policy.startswith(("TLSv1.2", "TLSv1.3"))}
    # WHEN its distribution is read
    distribution = mocks.one("aws:cloudfront/distribution:Distribution")
    certificate = distribution.inputs["viewerCertificate"]
    # THEN viewers get TLS 1.2 or newer (CloudFront's security policies, from its API model), over SNI
    assert certificate["minimumProtocolVersion"] in tls_1_2_or_newer, certificate
    assert certificate["sslSupportMethod"] == "sni-only", certificate
    # AND CloudFront reaches the API over TLS 1.2 only
    api = [o for o in distribution.inputs["origins"] if o.get("customOriginConfig")]
    assert [o["customOriginConfig"]["originSslProtocols"] for o in api] == [["TLSv1.2"]], api
    assert all(o["customOriginConfig"]["originProtocolPolicy"] == "https-only" for o in api), api
