"""The dashboard and the alarms of a shipped stack (prod: it has an alarm topic), and the feedback route's IAM."""

from __future__ import annotations

from typing import Any

import pytest

from components.dashboard import DashboardNames, dashboard_body
from components.settings import SettingsError, settings_from_values
from contracts.metrics import ESCALATION_SEND_FAILURES, FALLBACK_TURNS, TURNS
from contracts.stack import API_STAGE, METRICS_NAMESPACE
from tests.infra.conftest import Mocks
from tests.infra.resource_graph import run_stack, stack_config

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTIONS = {  # each function's folder and its Lambda's logical name
    "store_query": "query-log-writer-function",
    "admin_api": "query-log-admin-function",
    "escalate": "escalations-escalate-function",
    "forward_tickets": "escalations-forwarder-function",
    "send_escalation": "escalations-sender-function",
    "fulfillment": "chatbot-fulfillment-function",
}


@pytest.fixture(scope="module")
def prod() -> Mocks:
    return run_stack("prod")


def alarm_topic(mocks: Mocks) -> str:
    return str(mocks.one("aws:sns/topic:Topic").outputs["arn"])


def test_the_stack_exports_the_url_of_its_dashboard(prod):
    # GIVEN the prod stack's one dashboard
    dashboard = prod.one(DASHBOARD)
    # WHEN / THEN the dashboardUrl output opens it in the stack's region
    name = dashboard.inputs["dashboardName"]
    assert name == "support-chatbot-prod"
    assert prod.values["dashboardUrl"] == (
        f"https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/{name}"
    )


def test_the_dashboard_shows_what_the_stack_made(prod):
    # GIVEN the deployed dashboard's body and the names of what the stack made
    body = prod.one(DASHBOARD).json_input("dashboardBody")
    functions = {folder: prod.one(FUNCTION, name) for folder, name in FUNCTIONS.items()}
    log_groups = {r.name: r.outputs["name"] for r in prod.of_type("aws:cloudwatch/logGroup:LogGroup")}
    names = DashboardNames(
        region="us-east-1",
        functions={folder: function.outputs["name"] for folder, function in functions.items()},
        log_groups={folder: log_groups[name.replace("-function", "-logs")] for folder, name in FUNCTIONS.items()},
        api_name=prod.one("aws:apigateway/restApi:RestApi").outputs["name"],
        dead_letter_queue_name=prod.one("aws:sqs/queue:Queue", "escalations-dlq").outputs["name"],
        bot_id=prod.one("aws-native:lex:Bot").outputs["awsId"],
        bot_alias_id=prod.one("aws-native:lex:BotAlias").outputs["botAliasId"],
        locale_id="en_US",
    )
    # WHEN / THEN it is exactly the dashboard those names make (the EMF test checks its custom metrics are emitted)
    assert body == dashboard_body(names)


def widget(body: dict[str, Any], title: str) -> dict[str, Any]:
    [found] = [w for w in body["widgets"] if w["properties"]["title"] == title]
    return found


def test_the_dashboard_has_each_widget_the_issue_asks_for(prod):
    # GIVEN the deployed dashboard
    body = prod.one(DASHBOARD).json_input("dashboardBody")
    titles = [w["properties"]["title"] for w in body["widgets"]]
    # THEN it shows conversations and turns, rates, escalations, votes, Lambda, API and Lex
    assert titles == [
        "Conversations and turns per hour",
        "Turns",
        "Fallback and knowledge-base answer rates",
        "Escalations: opened, sent, failed, dead-lettered",
        "Answers rated",
        "Lambda errors",
        "Lambda throttles",
        "Lambda duration (p99)",
        "API 4xx and 5xx",
        "API latency",
        "Lex latency (RecognizeText)",
    ]
    # AND the Lambda widgets cover every function, the API widgets the live stage
    lambda_names = {line[3] for line in widget(body, "Lambda errors")["properties"]["metrics"]}
    assert lambda_names == {prod.one(FUNCTION, name).outputs["name"] for name in FUNCTIONS.values()}
    api_lines = widget(body, "API 4xx and 5xx")["properties"]["metrics"]
    assert {(line[1], line[5]) for line in api_lines} == {("4XXError", API_STAGE), ("5XXError", API_STAGE)}
    # AND no two widgets overlap on the grid
    cells = [(w["x"], w["y"]) for w in body["widgets"]]
    assert len(set(cells)) == len(cells)


def test_the_fallback_rate_alarm_is_metric_math_over_15_minutes_ignoring_quiet_periods(prod):
    # GIVEN the prod stack (default settings: 0.3, 20 turns)
    alarm = prod.one(ALARM, "dashboard-fallback-rate")
    queries = {query["id"]: query for query in alarm.inputs["metricQueries"]}
    # THEN it divides fallback turns by turns, summed over 900 s, and reads 0 below 20 turns
    for query_id, metric in (("turns", TURNS), ("fallback", FALLBACK_TURNS)):
        read = queries[query_id]["metric"]
        assert (read["namespace"], read["metricName"], read["dimensions"]) == (
            METRICS_NAMESPACE,
            metric.name,
            metric.dimensions,
        )
        assert (read["period"], read["stat"]) == (900, "Sum")
        assert queries[query_id]["returnData"] is False
    assert queries["rate"]["expression"] == "IF(turns >= 20, fallback / turns, 0)"
    assert queries["rate"]["returnData"] is True
    # AND fires above the threshold, quiet without data, to the alarm topic
    assert alarm.inputs["threshold"] == 0.3
    assert alarm.inputs["comparisonOperator"] == "GreaterThanThreshold"
    assert alarm.inputs["treatMissingData"] == "notBreaching"
    assert alarm.inputs["alarmActions"] == [alarm_topic(prod)]


def test_the_fallback_rate_alarm_follows_the_stacks_settings():
    # GIVEN prod with a stricter threshold and a smaller minimum of turns
    config = {
        **stack_config("prod"),
        "support-chatbot:fallbackRateAlarmThreshold": 0.15,
        "support-chatbot:fallbackRateAlarmMinTurns": 5,
    }
    # WHEN the program runs
    alarm = run_stack("prod", config=config).one(ALARM, "dashboard-fallback-rate")
    # THEN the alarm uses both
    assert alarm.inputs["threshold"] == 0.15
    rate = next(query for query in alarm.inputs["metricQueries"] if query["id"] == "rate")
    assert rate["expression"] == "IF(turns >= 5, fallback / turns, 0)"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("fallback_rate_alarm_threshold", 1.5),
        ("fallback_rate_alarm_threshold", 0),
        ("fallback_rate_alarm_min_turns", 0),
    ],
)
def test_an_invalid_fallback_setting_is_refused_naming_the_key_and_the_fix(key, value):
    # GIVEN settings with one fallback-alarm value out of range
    values = {"region": "us-east-1", "escalation_sender": "a@b.io", "escalation_recipients": ["c@d.io"], key: value}
    # WHEN they are validated
    with pytest.raises(SettingsError) as refused:
        settings_from_values("dev", values)
    # THEN the message names the config key and the command that sets it
    camel = {"fallback_rate_alarm_threshold": "fallbackRateAlarmThreshold"}.get(key, "fallbackRateAlarmMinTurns")
    assert camel in str(refused.value)
    assert f"pulumi config set support-chatbot:{camel}" in str(refused.value)


def test_send_failures_alarm_on_the_metric_the_sender_emits(prod):
    # GIVEN the send-failure alarm
    alarm = prod.one(ALARM, "dashboard-escalation-send-failed")
    # THEN it reads EscalationSendFailed with the sender's service dimension, above 0, to the topic
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"], alarm.inputs["dimensions"]) == (
        METRICS_NAMESPACE,
        ESCALATION_SEND_FAILURES.name,
        {"service": "send_escalation"},
    )
    assert alarm.inputs["threshold"] == 0
    assert alarm.inputs["alarmActions"] == [alarm_topic(prod)]


def test_each_function_has_an_errors_alarm(prod):
    # GIVEN the Lambda error alarms
    alarms = [a for a in prod.of_type(ALARM) if a.inputs.get("metricName") == "Errors"]
    # THEN every function of the stack has one, on its own name, to the topic (the dashboard's for the functions the
    # API and the bot run; KnowledgeBase's own for its ingestion starter)
    watched = sorted(a.inputs["dimensions"]["FunctionName"] for a in alarms)
    assert watched == sorted(function.outputs["name"] for function in prod.of_type(FUNCTION))
    assert all(a.inputs["alarmActions"] == [alarm_topic(prod)] for a in alarms)


def test_without_an_alarm_email_the_alarms_notify_no_one():
    # GIVEN dev, which has no alarmEmail
    dev = run_stack("dev")
    # THEN its dashboard alarms exist with no actions
    alarms = [a for a in dev.of_type(ALARM) if a.name.startswith("dashboard-")]
    assert len(alarms) == 2 + len(FUNCTIONS)  # fallback rate, send failures, and each function's errors
    assert all(not a.inputs.get("alarmActions") for a in alarms)


def test_the_writer_may_only_update_items_of_the_query_log_to_rate_them(prod):
    # GIVEN the writer's rating policy
    table_arn = prod.one("aws:dynamodb/table:Table", "query-log-table").outputs["arn"]
    policy = prod.one(ROLE_POLICY, "query-log-writer-rate-data")
    # THEN it allows UpdateItem on the query-log table and nothing else, for the writer's role
    assert policy.statements() == [{"Effect": "Allow", "Action": ["dynamodb:UpdateItem"], "Resource": [table_arn]}]
    writer_role = prod.one("aws:iam/role:Role", "query-log-writer-role")
    assert policy.inputs["role"] == writer_role.id


def test_the_escalate_function_reads_the_query_log_for_the_priority_flag(prod):
    # GIVEN the escalate function and its read policy on the query log
    table = prod.one("aws:dynamodb/table:Table", "query-log-table")
    policy = prod.one(ROLE_POLICY, "query-log-escalate-read-data")
    function = prod.one(FUNCTION, "escalations-escalate-function")
    # THEN it may only GetItem and Query that table, and its environment names it
    assert policy.statements() == [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": [table.outputs["arn"]]}
    ]
    assert policy.inputs["role"] == prod.one("aws:iam/role:Role", "escalations-escalate-role").id
    assert function.inputs["environment"]["variables"]["QUERY_LOG_TABLE_NAME"] == table.outputs["name"]
