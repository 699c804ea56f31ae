"""Dashboard: the stack's CloudWatch dashboard of how the bot does, and the alarms on what its functions report.

Made last, from the other components' names (its arguments): data flows one way, and it imports none of them. The
custom metrics it and its alarms read are `contracts.metrics`' (tests compare them with the functions' real EMF
output). The body is built by the pure `dashboard_body` from plain names, so tests can read it without Pulumi.

Alarms (to the stack's alarm topic): the fallback rate over 15 minutes (metric math `fallback turns / turns`, above
`fallbackRateAlarmThreshold`, only in periods with at least `fallbackRateAlarmMinTurns` turns: a quiet hour's one
unanswered question is no trend), escalation sends that failed, and errors of each function. A dashboard and
standard alarms cost nothing while idle beyond their flat monthly price (the first three dashboards and ten alarms
of an account are free).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import Metric, alarm_above
from contracts.metrics import (
    CONVERSATION_PROPERTY,
    ESCALATION_SEND_FAILURES,
    ESCALATIONS_FROM_BOT,
    ESCALATIONS_FROM_PAGE,
    ESCALATIONS_SENT,
    FALLBACK_TURNS,
    KNOWLEDGE_BASE_TURNS,
    NEGATIVE_SENTIMENT_TURNS,
    PRIORITY_ESCALATIONS_FROM_BOT,
    PRIORITY_ESCALATIONS_FROM_PAGE,
    THUMBS_DOWN,
    THUMBS_UP,
    TURNS,
    FunctionMetric,
)
from contracts.stack import API_STAGE, METRICS_NAMESPACE

FALLBACK_RATE_PERIOD_SECONDS = 900  # the 15 minutes: long enough for a rate, short enough to act on
WIDGET_PERIOD_SECONDS = 300
WIDTH, HEIGHT = 12, 6  # two widgets a row on CloudWatch's 24-column grid
LEX_OPERATION = "RecognizeText"  # what the page calls


@dataclass(frozen=True)
class DashboardNames:
    """The plain names the dashboard shows, resolved: each Lambda function by its folder under `functions/`."""

    region: str
    functions: Mapping[str, str]
    """Deployed function name per folder (`store_query`, `escalate`, `fulfillment`, ...)."""
    log_groups: Mapping[str, str]
    """Log group per folder; the store-query one holds the turns' EMF records (conversations are counted there)."""
    api_name: str
    dead_letter_queue_name: str
    bot_id: str
    bot_alias_id: str
    locale_id: str
    api_stage: str = API_STAGE


@dataclass
class DashboardArgs:
    """What a Dashboard needs: the names of what it shows, from the components that made them."""

    region: pulumi.Input[str]
    functions: Mapping[str, pulumi.Input[str]]
    """Each function's deployed name by its folder under `functions/`, e.g. {"store_query": query_log.writer.name}."""
    log_groups: Mapping[str, pulumi.Input[str]]
    """Each function's log group name by folder (at least `store_query`'s: conversations are counted there)."""
    api_name: pulumi.Input[str]
    """The REST API's name (API Gateway's metrics are by ApiName and Stage)."""
    dead_letter_queue_name: pulumi.Input[str]
    """The escalation dead-letter queue: escalations no send delivered."""
    bot_id: pulumi.Input[str]
    bot_alias_id: pulumi.Input[str]
    locale_id: pulumi.Input[str]
    fallback_rate_threshold: float = 0.3
    """The fallback rate (0 to 1) above which the alarm fires."""
    fallback_rate_min_turns: int = 20
    """Turns a 15-minute period needs before its fallback rate counts; fewer: the period reads 0 (no alarm)."""
    alarm_actions: Sequence[pulumi.Input[str]] = field(default_factory=list)
    """Where the alarms notify (Operations' `alarm_actions`). Empty: CloudWatch only."""


class Dashboard(pulumi.ComponentResource):
    """The per-stack CloudWatch dashboard (`dashboard_url`) and the fallback-rate, send-failure and error alarms."""

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _check(args)
        super().__init__("support-chatbot:index:Dashboard", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        functions = dict(args.functions)
        log_groups = dict(args.log_groups)
        names = pulumi.Output.all(
            region=args.region,
            functions=pulumi.Output.all(**functions) if functions else {},
            log_groups=pulumi.Output.all(**log_groups) if log_groups else {},
            api_name=args.api_name,
            dead_letter_queue_name=args.dead_letter_queue_name,
            bot_id=args.bot_id,
            bot_alias_id=args.bot_alias_id,
            locale_id=args.locale_id,
        )
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"{pulumi.get_project()}-{pulumi.get_stack()}",
            dashboard_body=names.apply(lambda resolved: json.dumps(dashboard_body(DashboardNames(**resolved)))),
            opts=child,
        )
        self.dashboard_url: pulumi.Output[str] = pulumi.Output.concat(
            "https://",
            args.region,
            ".console.aws.amazon.com/cloudwatch/home?region=",
            args.region,
            "#dashboards/dashboard/",
            self.dashboard.dashboard_name,
        )
        self.fallback_rate_alarm = self._fallback_rate_alarm(args)
        self.send_failure_alarm = alarm_above(
            f"{name}-escalation-send-failed",
            "Escalation emails failed to send (they are retried from the queue): check SES and the sender's logs",
            custom_metric(ESCALATION_SEND_FAILURES),
            threshold=0,
            actions=args.alarm_actions,
            parent=self,
        )
        self.error_alarms = {
            folder: alarm_above(
                f"{name}-{folder.replace('_', '-')}-errors",
                f"The {folder} Lambda function failed (an unhandled error or a timeout): check its logs",
                Metric("AWS/Lambda", "Errors", {"FunctionName": function_name}),
                threshold=0,
                actions=args.alarm_actions,
                parent=self,
            )
            for folder, function_name in sorted(functions.items())
        }
        self.register_outputs({"dashboard_url": self.dashboard_url})

    def _fallback_rate_alarm(self, args: DashboardArgs) -> aws.cloudwatch.MetricAlarm:
        """Fallback turns / turns per 15 minutes above the threshold, in periods with enough turns."""
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-fallback-rate",
            alarm_description=(
                f"More than {args.fallback_rate_threshold:.0%} of the turns in 15 minutes fell back "
                f"(periods with fewer than {args.fallback_rate_min_turns} turns are ignored): read the unanswered "
                "questions and teach the bot"
            ),
            metric_queries=[
                aws.cloudwatch.MetricAlarmMetricQueryArgs(**query)
                for query in fallback_rate_queries(args.fallback_rate_min_turns)
            ],
            comparison_operator="GreaterThanThreshold",
            threshold=args.fallback_rate_threshold,
            evaluation_periods=1,
            treat_missing_data="notBreaching",  # no turns at all is no problem
            alarm_actions=list(args.alarm_actions),
            opts=pulumi.ResourceOptions(parent=self),
        )


def custom_metric(metric: FunctionMetric, *, period_seconds: int = WIDGET_PERIOD_SECONDS) -> Metric:
    """A metric of `contracts.metrics` as an alarm reads it: our namespace, its name, its exact dimensions."""
    return Metric(METRICS_NAMESPACE, metric.name, metric.dimensions, period_seconds=period_seconds)


def fallback_rate_queries(min_turns: int) -> list[dict[str, Any]]:
    """The fallback-rate alarm's metric math: the rate where a period has at least `min_turns` turns, else 0."""

    def summed(query_id: str, metric: FunctionMetric) -> dict[str, Any]:
        return {
            "id": query_id,
            "metric": {
                "namespace": METRICS_NAMESPACE,
                "metric_name": metric.name,
                "dimensions": metric.dimensions,
                "period": FALLBACK_RATE_PERIOD_SECONDS,
                "stat": "Sum",
            },
            "return_data": False,
        }

    return [
        summed("turns", TURNS),
        summed("fallback", FALLBACK_TURNS),
        {
            "id": "rate",
            "expression": f"IF(turns >= {min_turns}, fallback / turns, 0)",
            "label": "Fallback rate",
            "return_data": True,
        },
    ]


# --- the dashboard's body: pure, from plain names ----------------------------------------------------------------


def _custom(metric: FunctionMetric, **options: Any) -> list[Any]:
    """A widget's line for a `contracts.metrics` metric: namespace, name, then each dimension name and value."""
    line: list[Any] = [METRICS_NAMESPACE, metric.name]
    for key, value in metric.dimensions.items():
        line += [key, value]
    return [*line, {"label": metric.description, **options}] if options or metric.description else line


def _widget(title: str, metrics: list[list[Any]], names: DashboardNames, **properties: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": title,
            "region": names.region,
            "view": "timeSeries",
            "stat": "Sum",
            "period": WIDGET_PERIOD_SECONDS,
            "metrics": metrics,
            **properties,
        },
    }


def _per_function(namespace: str, metric: str, names: DashboardNames, **options: Any) -> list[list[Any]]:
    return [
        [namespace, metric, "FunctionName", function_name, {"label": folder, **options}]
        for folder, function_name in sorted(names.functions.items())
    ]


def conversations_query(log_group: str) -> str:
    """Logs Insights over the store-query function's log: conversations (distinct sessions) and turns per hour. Only
    a stored turn's EMF record carries the session id property (one record per turn: the function flushes its
    metrics at the end of each invocation)."""
    return (
        f"SOURCE '{log_group}' | filter ispresent({CONVERSATION_PROPERTY}) "
        f"| stats count_dc({CONVERSATION_PROPERTY}) as conversations, count(*) as turns by bin(1h)"
    )


def dashboard_body(names: DashboardNames) -> dict[str, Any]:
    """The dashboard: conversations and turns, fallback and knowledge-base rates, escalations, thumbs, the Lambda
    functions' errors, throttles and p99 duration, the API's 4xx/5xx and latency, and Lex's latency."""
    widgets = [*_conversation_widgets(names), *_escalation_widgets(names), *_platform_widgets(names)]
    for index, widget in enumerate(widgets):  # two a row, in order
        widget["x"], widget["y"] = (index % 2) * WIDTH, (index // 2) * HEIGHT
    return {"widgets": widgets}


def _conversation_widgets(names: DashboardNames) -> list[dict[str, Any]]:
    """Conversations and turns, and the fallback and knowledge-base answer rates."""
    conversations = {
        "type": "log",
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": "Conversations and turns per hour",
            "region": names.region,
            "view": "timeSeries",
            "query": conversations_query(names.log_groups["store_query"]),
        },
    }
    turns = [
        _custom(TURNS, id="turns"),
        _custom(FALLBACK_TURNS, id="fallback"),
        _custom(KNOWLEDGE_BASE_TURNS, id="knowledge"),
        _custom(NEGATIVE_SENTIMENT_TURNS, id="negative"),
    ]
    rates = [
        [{"expression": "FILL(fallback, 0) / turns", "label": "Fallback rate", "id": "fallbackRate"}],
        [{"expression": "FILL(knowledge, 0) / turns", "label": "Knowledge-base answer rate", "id": "kbRate"}],
        _custom(TURNS, id="turns", visible=False),
        _custom(FALLBACK_TURNS, id="fallback", visible=False),
        _custom(KNOWLEDGE_BASE_TURNS, id="knowledge", visible=False),
    ]
    return [
        conversations,
        _widget("Turns", turns, names),
        _widget("Fallback and knowledge-base answer rates", rates, names, yAxis={"left": {"min": 0, "max": 1}}),
    ]


def _escalation_widgets(names: DashboardNames) -> list[dict[str, Any]]:
    """Escalations opened, sent, failed and dead-lettered; answers rated up and down."""
    dead_letters = [
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        names.dead_letter_queue_name,
        {"stat": "Maximum", "label": "Escalations in the dead-letter queue"},
    ]
    escalations = [
        _custom(ESCALATIONS_FROM_PAGE),
        _custom(ESCALATIONS_FROM_BOT),
        _custom(PRIORITY_ESCALATIONS_FROM_PAGE),
        _custom(PRIORITY_ESCALATIONS_FROM_BOT),
        _custom(ESCALATIONS_SENT),
        _custom(ESCALATION_SEND_FAILURES),
        dead_letters,
    ]
    return [
        _widget("Escalations: opened, sent, failed, dead-lettered", escalations, names),
        _widget("Answers rated", [_custom(THUMBS_UP), _custom(THUMBS_DOWN)], names),
    ]


def _platform_widgets(names: DashboardNames) -> list[dict[str, Any]]:
    """The Lambda functions' errors, throttles and p99 duration, the API's 4xx/5xx and latency, Lex's latency."""
    api = ["ApiName", names.api_name, "Stage", names.api_stage]
    lex = ["BotId", names.bot_id, "BotAliasId", names.bot_alias_id, "LocaleId", names.locale_id, "Operation"]
    lex_latency = ["AWS/Lex", "RuntimeSuccessfulRequestLatency", *lex, LEX_OPERATION]
    return [
        _widget("Lambda errors", _per_function("AWS/Lambda", "Errors", names), names),
        _widget("Lambda throttles", _per_function("AWS/Lambda", "Throttles", names), names),
        _widget("Lambda duration (p99)", _per_function("AWS/Lambda", "Duration", names, stat="p99"), names),
        _widget("API 4xx and 5xx", [["AWS/ApiGateway", "4XXError", *api], ["AWS/ApiGateway", "5XXError", *api]], names),
        _widget(
            "API latency",
            [
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p99", "label": "p99"}],
                ["AWS/ApiGateway", "Latency", *api, {"stat": "Average", "label": "average"}],
            ],
            names,
        ),
        _widget(
            "Lex latency (RecognizeText)",
            [[*lex_latency, {"stat": "p99", "label": "p99"}], [*lex_latency, {"stat": "Average", "label": "average"}]],
            names,
        ),
    ]


def _check(args: DashboardArgs) -> None:
    threshold, min_turns = args.fallback_rate_threshold, args.fallback_rate_min_turns
    if not 0 < threshold < 1:
        raise ValueError(f"DashboardArgs.fallback_rate_threshold must be between 0 and 1, got {threshold}")
    if min_turns < 1:
        raise ValueError(f"DashboardArgs.fallback_rate_min_turns must be at least 1, got {min_turns}")
    if "store_query" not in args.log_groups:
        raise ValueError("DashboardArgs.log_groups needs the store_query function's log group (conversations)")
