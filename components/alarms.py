"""CloudWatch alarms as the components use them: "this metric went above a threshold", quiet when there is no data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class Metric:
    """A CloudWatch metric and how to aggregate it over each period."""

    namespace: str
    name: str
    dimensions: Mapping[str, pulumi.Input[str]]
    statistic: str = "Sum"
    period_seconds: int = 300


def alarm_above(
    name: str,
    description: str,
    metric: Metric,
    threshold: float,
    actions: Sequence[pulumi.Input[str]],
    parent: pulumi.Resource,
) -> aws.cloudwatch.MetricAlarm:
    """An alarm that fires when one period of `metric` is above `threshold` and notifies `actions` (SNS ARNs)."""
    return aws.cloudwatch.MetricAlarm(
        name,
        alarm_description=description,
        namespace=metric.namespace,
        metric_name=metric.name,
        dimensions=dict(metric.dimensions),
        statistic=metric.statistic,
        period=metric.period_seconds,
        evaluation_periods=1,
        comparison_operator="GreaterThanThreshold",
        threshold=threshold,
        treat_missing_data="notBreaching",  # no traffic is no problem
        alarm_actions=list(actions),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def queue_not_empty(
    name: str,
    description: str,
    queue_name: pulumi.Input[str],
    actions: Sequence[pulumi.Input[str]],
    parent: pulumi.Resource,
) -> aws.cloudwatch.MetricAlarm:
    """An alarm on any visible message in a queue (a dead-letter queue: something was given up on)."""
    return alarm_above(
        name,
        description,
        Metric(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": queue_name},
            statistic="Maximum",
            period_seconds=60,
        ),
        threshold=0,
        actions=actions,
        parent=parent,
    )
