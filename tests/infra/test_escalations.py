"""Escalations under Pulumi mocks: durable tickets whose stream feeds the forwarder, a watched dead-letter queue and
stream, a sender that may mail only the team through a configuration set that reports bounces, and least-privilege
grants for whoever opens tickets."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from components.escalations import Escalations, EscalationsArgs, configuration_set_name
from components.settings import SettingsError, settings_from_values
from contracts.stack import DEFAULT_TICKETS_PER_SESSION_PER_HOUR, ESCALATE_ROUTE, OPEN_TICKETS

TABLE = "aws:dynamodb/table:Table"
QUEUE = "aws:sqs/queue:Queue"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
CONFIGURATION_SET = "aws:sesv2/configurationSet:ConfigurationSet"
EVENT_DESTINATION = "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination"
REGION = "us-east-1"
SENDER = "support-bot@example.com"
TEAM = ("it-support@example.com", "oncall@example.com")
ALARM_TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"


def escalations(**overrides):
    """A program: Escalations with the given arguments; returns what it offers the rest of the stack."""

    def program():
        args = EscalationsArgs(region=REGION, log_retention_days=14, sender=SENDER, recipients=TEAM, max_attempts=5)
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
    # THEN the counters table (formerly Powertools idempotency records) is keyed by id, expires on `expiration`,
    # and is encrypted
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
    mapping = mocks.one(MAPPING, "escalations-sender-source")
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
    alarm = mocks.one(ALARM, "escalations-dlq-not-empty")
    dlq = mocks.one(QUEUE, "escalations-dlq")
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm.inputs["dimensions"] == {"QueueName": dlq.outputs["name"]}, f"{alarm.urn} watches another queue"
    assert (alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == ("GreaterThanThreshold", 0), alarm.urn
    assert alarm.inputs["alarmActions"] == [ALARM_TOPIC], f"{alarm.urn} notifies no one"


def test_without_alarm_actions_the_alarms_exist_and_notify_no_one(mocks):
    # GIVEN no alarm actions (no alarm address in the stack)
    # WHEN Escalations are created
    # THEN the alarms still exist (console, dashboards), with no action
    alarms = mocks.of_type(ALARM)
    assert {alarm.name for alarm in alarms} == {
        "escalations-dlq-not-empty",
        "escalations-tickets-wait",
        "escalations-mail-bounced",
        "escalations-mail-complaint",
    }
    for alarm in alarms:
        assert alarm.inputs.get("alarmActions", []) == [], alarm.urn


def test_sender_may_send_email_only_as_the_sender_identity_to_the_team(mocks):
    # GIVEN / WHEN Escalations
    # THEN the sender's SES statement names the sender's identities and the configuration set, and pins the From
    # address and recipients
    policy = mocks.one(ROLE_POLICY, "escalations-sender-send-tickets")
    [ses] = [s for s in policy.statements() if any(a.startswith("ses:") for a in s["Action"])]
    prefix = f"arn:aws:ses:{REGION}:{mocks.account_id}:"
    configuration = mocks.one(CONFIGURATION_SET).outputs["configurationSetName"]
    assert ses["Action"] == ["ses:SendEmail"], f"{policy.urn}: {ses}"
    assert sorted(ses["Resource"]) == sorted(
        [prefix + "identity/" + SENDER, prefix + "identity/example.com", prefix + "configuration-set/" + configuration]
    ), f"{policy.urn}: {ses}"
    assert ses["Condition"]["StringEquals"] == {"ses:FromAddress": SENDER}, f"{policy.urn}: {ses}"
    assert ses["Condition"]["ForAllValues:StringEquals"] == {"ses:Recipients": list(TEAM)}, f"{policy.urn}: {ses}"


def test_sender_environment_names_table_queue_sender_recipients_and_configuration_set(mocks):
    # GIVEN / WHEN Escalations
    # THEN the sender Lambda knows the tickets table, the queue (for follow-ups), the From address, the team as a
    # JSON list and the configuration set its emails go through
    sender = mocks.one(FUNCTION, "escalations-sender-function")
    tickets = mocks.one(TABLE, "escalations-tickets")
    queue = mocks.one(QUEUE, "escalations-queue")
    env = sender.inputs["environment"]["variables"]
    assert env["TICKETS_TABLE_NAME"] == tickets.outputs["name"], f"{sender.urn}: {env}"
    assert env["ESCALATION_QUEUE_URL"] == queue.outputs["url"], f"{sender.urn}: {env}"
    assert env["SENDER_ADDRESS"] == SENDER, f"{sender.urn}: {env}"
    assert json.loads(env["RECIPIENTS"]) == list(TEAM), f"{sender.urn}: {env}"
    assert env["SES_CONFIGURATION_SET"] == mocks.one(CONFIGURATION_SET).outputs["configurationSetName"], env


def test_open_tickets_grant_is_exactly_what_opening_a_ticket_calls(mocks):
    # GIVEN / WHEN Escalations
    # THEN the escalate role may write a ticket and read it back, and update the hourly counters; no queue (the
    # stream queues tickets), nothing more
    tickets, counters = mocks.one(TABLE, "escalations-tickets"), mocks.one(TABLE, "escalations-idempotency")
    policy = mocks.one(ROLE_POLICY, "escalations-escalate-open-tickets")
    granted = {s["Resource"][0]: s["Action"] for s in policy.statements()}
    assert granted == {
        tickets.outputs["arn"]: ["dynamodb:GetItem", "dynamodb:PutItem"],
        counters.outputs["arn"]: ["dynamodb:UpdateItem"],
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
        ({"tickets_per_session_per_hour": 0}, "tickets_per_session_per_hour"),
    ],
)
def test_bad_arguments_fail_naming_the_argument(run_pulumi, function_sources, override, named):
    # GIVEN one bad argument
    # WHEN Escalations are created
    # THEN they fail before any AWS call, naming the argument
    with pytest.raises(ValueError, match=named):
        run_pulumi(escalations(**override))


# --- opening a ticket is one durable step: the stream queues it -----------------------------------------------


def test_tickets_table_streams_the_keys_of_each_change(mocks):
    # GIVEN / WHEN Escalations
    # THEN the tickets table has a stream of keys only (no user text leaves the table)
    tickets = mocks.one(TABLE, "escalations-tickets")
    assert (tickets.inputs["streamEnabled"], tickets.inputs["streamViewType"]) == (True, "KEYS_ONLY"), tickets.urn


def test_the_forwarder_reads_new_tickets_from_the_stream_and_retries_until_they_are_queued(mocks):
    # GIVEN / WHEN Escalations
    # THEN the forwarder is fed the tickets table's stream from its start, new items only, retried from the first
    # failed record until the record expires, and a batch it could never forward goes to the DLQ (its alarm)
    mapping = mocks.one(MAPPING, "escalations-forwarder-source")
    tickets = mocks.one(TABLE, "escalations-tickets")
    forwarder = mocks.one(FUNCTION, "escalations-forwarder-function")
    dlq = mocks.one(QUEUE, "escalations-dlq")
    assert mapping.inputs["eventSourceArn"] == tickets.outputs["streamArn"], mapping.urn
    assert mapping.inputs["functionName"] == forwarder.outputs["arn"], mapping.urn
    assert mapping.inputs["startingPosition"] == "TRIM_HORIZON", mapping.urn
    [pattern] = [json.loads(f["pattern"]) for f in mapping.inputs["filterCriteria"]["filters"]]
    assert pattern == {"eventName": ["INSERT"]}, mapping.urn
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"], mapping.urn
    assert (mapping.inputs["maximumRetryAttempts"], mapping.inputs["maximumRecordAgeInSeconds"]) == (-1, -1)
    assert mapping.inputs["destinationConfig"]["onFailure"]["destinationArn"] == dlq.outputs["arn"], mapping.urn


def test_the_forwarder_knows_only_the_queue(mocks):
    forwarder = mocks.one(FUNCTION, "escalations-forwarder-function")
    queue = mocks.one(QUEUE, "escalations-queue")
    assert forwarder.inputs["environment"]["variables"] == {
        "POWERTOOLS_SERVICE_NAME": "forward_tickets",
        "POWERTOOLS_METRICS_NAMESPACE": "SupportChatbot",
        "ESCALATION_QUEUE_URL": queue.outputs["url"],
    }, forwarder.urn


def test_the_forwarder_may_read_the_stream_and_send_to_the_queue_and_dlq_nothing_more(mocks):
    # GIVEN / WHEN Escalations
    # THEN its policy names the table's streams and the two queues
    policy = mocks.one(ROLE_POLICY, "escalations-forwarder-forward-tickets")
    tickets = mocks.one(TABLE, "escalations-tickets")
    queue, dlq = mocks.one(QUEUE, "escalations-queue"), mocks.one(QUEUE, "escalations-dlq")
    granted = sorted((s["Action"], sorted(s["Resource"])) for s in policy.statements())
    assert granted == [
        (
            ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
            [tickets.outputs["arn"] + "/stream/*"],
        ),
        (["sqs:SendMessage"], sorted([queue.outputs["arn"], dlq.outputs["arn"]])),
    ], f"{policy.urn} grants {granted}"


def test_tickets_waiting_on_the_stream_raise_an_alarm(run_pulumi, function_sources):
    # GIVEN the stack's alarm topic
    # WHEN Escalations are created
    mocks = run_pulumi(escalations(alarm_actions=[ALARM_TOPIC]))
    # THEN an alarm fires when the forwarder's oldest unread record is over five minutes old
    alarm = mocks.one(ALARM, "escalations-tickets-wait")
    forwarder = mocks.one(FUNCTION, "escalations-forwarder-function")
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/Lambda", "IteratorAge"), alarm.urn
    assert alarm.inputs["dimensions"] == {"FunctionName": forwarder.outputs["name"]}, alarm.urn
    assert (alarm.inputs["statistic"], alarm.inputs["threshold"]) == ("Maximum", 300_000), alarm.urn
    assert alarm.inputs["alarmActions"] == [ALARM_TOPIC], alarm.urn


def test_the_sender_may_queue_a_follow_up(mocks):
    policy = mocks.one(ROLE_POLICY, "escalations-sender-send-tickets")
    queue = mocks.one(QUEUE, "escalations-queue")
    [on_queue] = [s for s in policy.statements() if s["Resource"] == [queue.outputs["arn"]]]
    assert "sqs:SendMessage" in on_queue["Action"], f"{policy.urn}: {on_queue}"


# --- bounces reach the alarm topic ----------------------------------------------------------------------------


def test_bounces_and_complaints_of_the_configuration_set_raise_alarms_that_notify_the_alarm_topic(
    run_pulumi, function_sources
):
    # GIVEN the stack's alarm topic
    # WHEN Escalations are created
    mocks = run_pulumi(escalations(alarm_actions=[ALARM_TOPIC]))
    # THEN the configuration set the sender uses turns bounces and complaints into CloudWatch metrics of the set,
    # and an alarm on each notifies the topic at the first one
    configuration = mocks.one(CONFIGURATION_SET)
    name = configuration.outputs["configurationSetName"]
    destination = mocks.one(EVENT_DESTINATION)
    assert destination.inputs["configurationSetName"] == name, destination.urn
    published = destination.inputs["eventDestination"]
    assert sorted(published["matchingEventTypes"]) == ["BOUNCE", "COMPLAINT"], destination.urn
    [dimension] = published["cloudWatchDestination"]["dimensionConfigurations"]
    assert dimension == {
        "dimensionName": "ses:configuration-set",
        "dimensionValueSource": "MESSAGE_TAG",
        "defaultDimensionValue": name,
    }, destination.urn
    for alarm_name, metric in (("escalations-mail-bounced", "Bounce"), ("escalations-mail-complaint", "Complaint")):
        alarm = mocks.one(ALARM, alarm_name)
        assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/SES", metric), alarm.urn
        assert alarm.inputs["dimensions"] == {"ses:configuration-set": name}, alarm.urn
        assert (alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == ("GreaterThanThreshold", 0)
        assert alarm.inputs["alarmActions"] == [ALARM_TOPIC], alarm.urn


def test_the_configuration_set_is_named_for_the_project_stack_and_component(mocks):
    assert mocks.one(CONFIGURATION_SET).inputs["configurationSetName"] == "support-chatbot-test-escalations"


# --- the hourly ticket limit ----------------------------------------------------------------------------------


def test_ticket_openers_are_told_the_hourly_limit(mocks, run_pulumi, function_sources):
    # GIVEN the default, and a stack that sets 5
    default = mocks.values["ticket_environment"]["TICKETS_PER_SESSION_PER_HOUR"]
    five = run_pulumi(escalations(tickets_per_session_per_hour=5)).values["ticket_environment"]
    # THEN the openers' environment carries it
    assert default == str(DEFAULT_TICKETS_PER_SESSION_PER_HOUR)
    assert five["TICKETS_PER_SESSION_PER_HOUR"] == "5"


@pytest.mark.parametrize("value", [0, 101, "three"])
def test_a_ticket_limit_out_of_range_names_the_setting_and_the_fix(value):
    # GIVEN a stack setting ticketsPerSessionPerHour outside 1..100
    values = {"region": REGION, "escalation_sender": SENDER, "escalation_recipients": list(TEAM)}
    # WHEN the settings are read
    with pytest.raises(SettingsError) as error:
        settings_from_values("dev", {**values, "tickets_per_session_per_hour": value})
    # THEN the error names the key and the command that fixes it
    assert "ticketsPerSessionPerHour" in str(error.value)
    assert "pulumi config set support-chatbot:ticketsPerSessionPerHour 3" in str(error.value)


def test_the_ticket_limit_defaults_to_three():
    values = {"region": REGION, "escalation_sender": SENDER, "escalation_recipients": list(TEAM)}
    assert settings_from_values("dev", values).tickets_per_session_per_hour == 3


def test_a_configuration_set_name_keeps_to_what_ses_accepts():
    # GIVEN a stack name with a dot and a long project name
    name = configuration_set_name("support-chatbot" * 5, "team.prod", "escalations")
    # THEN the name holds only letters, digits, '-' and '_', at most 64 of them
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name), name
