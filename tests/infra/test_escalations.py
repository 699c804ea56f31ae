"""Escalations under Pulumi mocks: durable tickets, a watched dead-letter queue, a sender that may mail only the
team, and least-privilege grants for whoever opens tickets."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from components.escalations import Escalations, EscalationsArgs
from contracts.stack import ESCALATE_ROUTE, OPEN_TICKETS

TABLE = "aws:dynamodb/table:Table"
QUEUE = "aws:sqs/queue:Queue"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
REGION = "us-east-1"
SENDER = "support-bot@example.com"
TEAM = ("it-support@example.com", "oncall@example.com")
ALARM_TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"


def escalations(**overrides):
    """A program: Escalations with the given arguments; returns what it offers the rest of the stack."""

    def program():
        args = EscalationsArgs(
            region=REGION,
            log_retention_days=14,
            sender=SENDER,
            recipients=TEAM,
            max_attempts=5,
            origin_secrets='["an-origin-secret"]',
        )
        component = Escalations("escalations", replace(args, **overrides))
        route, function = component.route
        return {
            "ticket_environment": component.ticket_environment,
            "route": route.path,
            "route_function_arn": function.arn,
        }

    return program


@pytest.fixture(scope="module")
def mocks(run_pulumi, function_sources):
    """One run with the defaults, shared by the tests that only read it."""
    return run_pulumi(escalations())


def test_tickets_table_is_encrypted_recoverable_and_protected_with_protect_data(run_pulumi, function_sources):
    # GIVEN protect_data, as in prod
    # WHEN Escalations are created
    mocks = run_pulumi(escalations(protect_data=True))
    # THEN the tickets table (hash ticketId) is KMS-encrypted, has PITR, and is protected and retained
    tickets = mocks.one(TABLE, "escalations-tickets")
    assert tickets.inputs["hashKey"] == "ticketId", tickets.urn
    assert tickets.inputs["serverSideEncryption"]["enabled"] is True, f"{tickets.urn} is not KMS-encrypted"
    assert tickets.inputs["pointInTimeRecovery"]["enabled"] is True, f"{tickets.urn} has no PITR"
    assert tickets.protect, f"{tickets.urn} is not protected although protect_data is set"
    assert tickets.retain_on_delete, f"{tickets.urn} is not retained although protect_data is set"
    assert tickets.inputs["deletionProtectionEnabled"] is True, tickets.urn


def test_idempotency_table_expires_records_and_is_encrypted(mocks):
    # GIVEN / WHEN Escalations
    # THEN the Powertools idempotency table is keyed by id, expires on `expiration` and is encrypted
    table = mocks.one(TABLE, "escalations-idempotency")
    assert table.inputs["hashKey"] == "id", table.urn
    assert table.inputs["ttl"] == {"attributeName": "expiration", "enabled": True}, f"{table.urn}: no TTL"
    assert table.inputs["serverSideEncryption"]["enabled"] is True, f"{table.urn} is not KMS-encrypted"


def test_queue_redrives_to_a_two_week_dlq_after_max_attempts(run_pulumi, function_sources):
    # GIVEN 3 attempts per ticket
    # WHEN Escalations are created
    mocks = run_pulumi(escalations(max_attempts=3))
    # THEN the encrypted queue sends a message to the DLQ after 3 receives, and the DLQ keeps it 14 days
    queue, dlq = mocks.one(QUEUE, "escalations-queue"), mocks.one(QUEUE, "escalations-dlq")
    redrive = queue.json_input("redrivePolicy")
    assert redrive == {"deadLetterTargetArn": dlq.outputs["arn"], "maxReceiveCount": 3}, f"{queue.urn}: {redrive}"
    assert dlq.inputs["messageRetentionSeconds"] == 14 * 24 * 3600, f"{dlq.urn} drops failed escalations early"
    for q in (queue, dlq):
        assert q.inputs["sqsManagedSseEnabled"] is True, f"{q.urn} is not encrypted"


def test_queue_hides_a_message_for_six_sender_timeouts(mocks):
    # GIVEN / WHEN Escalations
    # THEN the queue's visibility timeout is at least 6x the sender's timeout (AWS's rule for SQS event sources)
    queue = mocks.one(QUEUE, "escalations-queue")
    sender = mocks.one(FUNCTION, "escalations-sender-function")
    assert queue.inputs["visibilityTimeoutSeconds"] >= 6 * sender.inputs["timeout"], (
        f"{queue.urn}: visibility {queue.inputs['visibilityTimeoutSeconds']} s < 6 x {sender.inputs['timeout']} s"
    )


def test_sender_reads_the_queue_in_batches_reporting_item_failures(mocks):
    # GIVEN / WHEN Escalations
    # THEN the sender consumes the queue in batches of at most 10 and retries only the records that failed
    mapping = mocks.one("aws:lambda/eventSourceMapping:EventSourceMapping")
    queue = mocks.one(QUEUE, "escalations-queue")
    sender = mocks.one(FUNCTION, "escalations-sender-function")
    assert mapping.inputs["eventSourceArn"] == queue.outputs["arn"], mapping.urn
    assert mapping.inputs["functionName"] == sender.outputs["arn"], mapping.urn
    assert mapping.inputs["batchSize"] <= 10, mapping.urn
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"], mapping.urn


def test_dlq_alarm_fires_on_any_visible_message_and_notifies_the_alarm_actions(run_pulumi, function_sources):
    # GIVEN the stack's alarm topic as the alarm action
    # WHEN Escalations are created
    mocks = run_pulumi(escalations(alarm_actions=[ALARM_TOPIC]))
    # THEN an alarm watches the DLQ's visible messages > 0 and notifies the topic
    alarm = mocks.one(ALARM)
    dlq = mocks.one(QUEUE, "escalations-dlq")
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm.inputs["dimensions"] == {"QueueName": dlq.outputs["name"]}, f"{alarm.urn} watches another queue"
    assert (alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == ("GreaterThanThreshold", 0), alarm.urn
    assert alarm.inputs["alarmActions"] == [ALARM_TOPIC], f"{alarm.urn} notifies no one"


def test_without_alarm_actions_the_dlq_alarm_exists_and_notifies_no_one(mocks):
    # GIVEN no alarm actions (no alarm address in the stack)
    # WHEN Escalations are created
    # THEN the alarm still exists (console, dashboards), with no action
    alarm = mocks.one(ALARM)
    assert alarm.inputs.get("alarmActions", []) == [], alarm.urn


def test_sender_may_send_email_only_as_the_sender_identity_to_the_team(mocks):
    # GIVEN / WHEN Escalations
    # THEN the sender's SES statement names the sender's identities and pins the From address and recipients
    policy = mocks.one(ROLE_POLICY, "escalations-sender-send-tickets")
    [ses] = [s for s in policy.statements() if any(a.startswith("ses:") for a in s["Action"])]
    prefix = f"arn:aws:ses:{REGION}:{mocks.account_id}:identity/"
    assert ses["Action"] == ["ses:SendEmail"], f"{policy.urn}: {ses}"
    assert sorted(ses["Resource"]) == sorted([prefix + SENDER, prefix + "example.com"]), f"{policy.urn}: {ses}"
    assert ses["Condition"]["StringEquals"] == {"ses:FromAddress": SENDER}, f"{policy.urn}: {ses}"
    assert ses["Condition"]["ForAllValues:StringEquals"] == {"ses:Recipients": list(TEAM)}, f"{policy.urn}: {ses}"


def test_sender_environment_names_table_sender_and_recipients(mocks):
    # GIVEN / WHEN Escalations
    # THEN the sender Lambda knows the tickets table, the From address and the team as a JSON list
    sender = mocks.one(FUNCTION, "escalations-sender-function")
    tickets = mocks.one(TABLE, "escalations-tickets")
    env = sender.inputs["environment"]["variables"]
    assert env["TICKETS_TABLE_NAME"] == tickets.outputs["name"], f"{sender.urn}: {env}"
    assert env["SENDER_ADDRESS"] == SENDER, f"{sender.urn}: {env}"
    assert json.loads(env["RECIPIENTS"]) == list(TEAM), f"{sender.urn}: {env}"


def test_open_tickets_grant_is_exactly_what_opening_a_ticket_calls(mocks):
    # GIVEN / WHEN Escalations
    # THEN the escalate role may record/withdraw tickets, use the idempotency table and queue messages, nothing more
    tickets, idem = mocks.one(TABLE, "escalations-tickets"), mocks.one(TABLE, "escalations-idempotency")
    queue = mocks.one(QUEUE, "escalations-queue")
    policy = mocks.one(ROLE_POLICY, "escalations-escalate-open-tickets")
    granted = {s["Resource"][0]: s["Action"] for s in policy.statements()}
    assert granted == {
        tickets.outputs["arn"]: ["dynamodb:DeleteItem", "dynamodb:PutItem"],
        idem.outputs["arn"]: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        queue.outputs["arn"]: ["sqs:SendMessage"],
    }, f"{policy.urn} grants {granted}"
    escalate = mocks.one(FUNCTION, "escalations-escalate-function")
    env = escalate.inputs["environment"]["variables"]
    assert {k: env[k] for k in mocks.values["ticket_environment"]} == mocks.values["ticket_environment"], escalate.urn


def test_ticket_environment_is_what_the_contract_says_a_ticket_opener_reads(mocks):
    # GIVEN / WHEN Escalations
    # THEN the environment it hands to ticket openers (the bot's code hook) names exactly contracts.stack.OPEN_TICKETS
    assert set(mocks.values["ticket_environment"]) == {var.name for var in OPEN_TICKETS}, mocks.values


def test_escalate_route_is_served_by_the_escalate_function(mocks):
    # GIVEN / WHEN Escalations
    # THEN the route it offers the REST API is POST /escalate, answered by its escalate function
    escalate = mocks.one(FUNCTION, "escalations-escalate-function")
    assert mocks.values["route"] == ESCALATE_ROUTE.path
    assert mocks.values["route_function_arn"] == escalate.outputs["arn"], escalate.urn


def test_escalate_answers_cors_for_the_allowed_origins(run_pulumi, function_sources):
    # GIVEN one extra origin
    # WHEN Escalations are created
    mocks = run_pulumi(escalations(allowed_origins=("https://www.example.com",)))
    # THEN the escalate function is told the origin, as its proxy responses carry their own CORS headers
    escalate = mocks.one(FUNCTION, "escalations-escalate-function")
    env = escalate.inputs["environment"]["variables"]
    assert json.loads(env["ALLOWED_ORIGINS"]) == ["https://www.example.com"], f"{escalate.urn}: {env}"


def test_every_policy_statement_names_exact_actions_and_resources(mocks):
    # GIVEN / WHEN Escalations
    # THEN no identity policy has a wildcard action or a `*` resource
    policies = mocks.of_type(ROLE_POLICY)
    assert len(policies) >= 4, f"expected the logs, tickets and SES policies, got {[p.name for p in policies]}"
    for policy in policies:
        for statement in policy.statements():
            assert not any("*" in action for action in statement["Action"]), f"{policy.urn}: {statement}"
            assert "*" not in statement["Resource"], f"{policy.urn}: {statement}"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"recipients": ()}, "recipients"),
        ({"sender": "not-an-address"}, "sender"),
        ({"max_attempts": 0}, "max_attempts"),
    ],
)
def test_bad_arguments_fail_naming_the_argument(run_pulumi, function_sources, override, named):
    # GIVEN one bad argument
    # WHEN Escalations are created
    # THEN they fail before any AWS call, naming the argument
    with pytest.raises(ValueError, match=named):
        run_pulumi(escalations(**override))
