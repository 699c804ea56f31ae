"""Operations, QueryLog, Escalations, StaffAccess, RestApi and ChatSite wired as the program wires them, every option
on: the stack-wide rules (least privilege, log retention, everything inside a component) hold across all of them."""

from __future__ import annotations

import pytest

from components.chat_site import ChatSite, ChatSiteArgs
from components.escalations import Escalations, EscalationsArgs
from components.operations import Operations, OperationsArgs
from components.origin_secret import OriginSecret, OriginSecretArgs
from components.query_log import QueryLog, QueryLogArgs
from components.rest_api import RestApi, RestApiArgs
from components.staff_access import StaffAccess, StaffAccessArgs

REGION = "us-east-1"
ORIGINS = ("https://www.example.com",)


def program(site_dir):
    def run():
        operations = Operations("operations", OperationsArgs(alarm_email="ops@example.com"))
        origin_secret = OriginSecret("origin-secret", OriginSecretArgs())
        log = QueryLog(
            "query-log",
            QueryLogArgs(
                region=REGION,
                log_retention_days=30,
                row_retention_days=90,
                origin_secrets=origin_secret.accepted,
                protect_data=True,
                allowed_origins=ORIGINS,
            ),
        )
        escalations = Escalations(
            "escalations",
            EscalationsArgs(
                region=REGION,
                log_retention_days=30,
                sender="support-bot@example.com",
                recipients=("it-support@example.com",),
                max_attempts=5,
                origin_secrets=origin_secret.accepted,
                allowed_origins=ORIGINS,
                protect_data=True,
                alarm_actions=operations.alarm_actions,
            ),
        )
        staff = StaffAccess(
            "staff",
            StaffAccessArgs(
                region=REGION,
                site_url="https://chat.example.com",
                staff_emails=("lead@example.com",),
                mfa="on",
                protect_data=True,
            ),
        )
        api = RestApi(
            "api",
            RestApiArgs(
                region=REGION,
                log_retention_days=30,
                routes=[escalations.route, log.route],
                staff_routes=log.admin_routes,
                staff_user_pool_arn=staff.user_pool_arn,
                throttle_rate=10,
                throttle_burst=20,
                allowed_origins=ORIGINS,
                manage_api_gateway_account=True,
            ),
        )
        ChatSite(
            "chat-site",
            ChatSiteArgs(
                region=REGION,
                bot_id="BOTID12345",
                bot_alias_id="ALIASID123",
                locale_id="en_US",
                api_origin_domain=api.origin_domain,
                api_origin_path=api.origin_path,
                api_origin_secret=origin_secret.header_value,
                suggestions=("Where is my order?",),
                site_dir=site_dir,
                custom_domain="chat.example.com",
                certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/abc",
                staff_sign_in=staff.sign_in,
                staff_sign_in_domain=staff.sign_in_domain,
            ),
        )

    return run


@pytest.fixture(scope="module")
def mocks(run_pulumi, function_sources, tmp_path_factory):
    site_dir = tmp_path_factory.mktemp("dist")
    (site_dir / "index.html").write_text("<!doctype html>")
    return run_pulumi(program(site_dir))


def test_no_identity_policy_has_a_wildcard_action_or_resource(mocks):
    # GIVEN the components with every option on
    # WHEN the stack is built
    policies = mocks.of_type("aws:iam/rolePolicy:RolePolicy")
    # THEN every inline policy names exact actions and named resources
    assert {p.name for p in policies} == {
        "query-log-writer-write-logs",
        "query-log-writer-write-data",
        "query-log-admin-write-logs",
        "query-log-admin-query",
        "query-log-writer-rate-data",
        "escalations-escalate-write-logs",
        "escalations-escalate-open-tickets",
        "escalations-forwarder-write-logs",
        "escalations-forwarder-forward-tickets",
        "escalations-sender-write-logs",
        "escalations-sender-send-tickets",
    }, "a policy was added or lost: review it here"
    for policy in policies:
        for statement in policy.statements():
            assert statement["Effect"] == "Allow", f"{policy.urn}: {statement}"
            assert not [a for a in statement["Action"] if "*" in a], f"{policy.urn} has a wildcard action: {statement}"
            assert not [r for r in statement["Resource"] if r == "*"], f"{policy.urn} has a `*` resource: {statement}"


def test_every_role_is_assumable_by_one_named_service_or_cognito_only(mocks):
    # GIVEN / WHEN the stack is built
    # THEN each trust policy names one principal, never an account or `*`
    for role in mocks.of_type("aws:iam/role:Role"):
        for statement in role.statements("assumeRolePolicy"):
            principal = statement["Principal"]
            assert list(principal) in (["Service"], ["Federated"]), f"{role.urn} trusts {principal}"
            assert "*" not in str(principal), f"{role.urn} trusts {principal}"


def test_the_only_managed_policy_is_api_gateways_logging_role(mocks):
    # GIVEN / WHEN the stack is built
    # THEN AWS-managed policies (which carry `*` resources) appear only where AWS requires one: API Gateway's
    # account-wide CloudWatch role
    attachments = mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert [a.inputs["policyArn"] for a in attachments] == [
        "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    ], [a.urn for a in attachments]


def test_every_log_group_has_the_stack_retention(mocks):
    # GIVEN a 30-day log retention
    # WHEN the stack is built
    groups = mocks.of_type("aws:cloudwatch/logGroup:LogGroup")
    # THEN no log group keeps logs forever
    assert len(groups) == 7, f"expected 5 function log groups, access and execution logs: {[g.name for g in groups]}"
    for group in groups:
        assert group.inputs.get("retentionInDays") == 30, f"{group.urn} retention {group.inputs.get('retentionInDays')}"


def test_every_aws_resource_belongs_to_a_component(mocks):
    # GIVEN / WHEN the stack is built
    # THEN no AWS resource hangs off the stack directly: each is inside a component's tree
    stack_urn = "urn:pulumi:test::support-chatbot::pulumi:pulumi:Stack::support-chatbot-test"
    orphans = [r.urn for r in mocks.resources if r.custom and r.parent in ("", stack_urn)]
    assert orphans == [], f"resources outside any component: {orphans}"


def test_tables_are_encrypted_and_recoverable_and_data_tables_protected(mocks):
    # GIVEN protect_data
    # WHEN the stack is built
    tables = {t.name: t for t in mocks.of_type("aws:dynamodb/table:Table")}
    # THEN every table is encrypted with PITR; the query log and tickets are protected, idempotency records not
    for table in tables.values():
        assert table.inputs["serverSideEncryption"]["enabled"] is True, f"{table.urn} is not KMS-encrypted"
        assert table.inputs["pointInTimeRecovery"]["enabled"] is True, f"{table.urn} has no PITR"
    for name in ("query-log-table", "escalations-tickets"):
        assert tables[name].protect, f"{tables[name].urn} is not protected"
    assert not tables["escalations-idempotency"].protect, "idempotency records are rebuilt, not protected"
