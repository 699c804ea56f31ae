"""Operations: where the stack's alarms go. The alarm topic (its own KMS key, an email subscription) and the
actions every other component's alarms notify."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.formerly import Formerly


@dataclass
class OperationsArgs:
    """What Operations needs."""

    alarm_email: str | None = None
    """Address subscribed to the stack's alarms. None: no topic; alarms show in CloudWatch only."""


class Operations(pulumi.ComponentResource):
    """The stack's alarm topic, made only when someone is to be told, and `alarm_actions` for every alarm."""

    def __init__(
        self,
        name: str,
        args: OperationsArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        formerly: Formerly | None = None,
    ) -> None:
        """`formerly`: where a stack deployed before this component existed has its resources (kept by aliases)."""
        if args.alarm_email is not None and "@" not in args.alarm_email:
            raise ValueError(f"OperationsArgs.alarm_email must be an email address, got {args.alarm_email!r}")
        if formerly:
            opts = pulumi.ResourceOptions.merge(opts, formerly.options(name))
        super().__init__("support-chatbot:index:Operations", name, None, opts)
        self._name = name
        self.alarm_topic = self._alarm_topic(args.alarm_email) if args.alarm_email else None
        self.alarm_actions: list[pulumi.Output[str]] = [self.alarm_topic.arn] if self.alarm_topic else []
        """Where alarms notify (SNS topic ARNs); empty when no one is subscribed."""
        self.register_outputs({"alarm_topic_arn": self.alarm_topic.arn if self.alarm_topic else None})

    def _alarm_topic(self, email: str) -> aws.sns.Topic:
        """An encrypted topic that mails `email`. CloudWatch cannot publish to a topic under the AWS-managed SNS
        key (its key policy cannot name CloudWatch), so the topic has its own key that CloudWatch may use."""
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        key = aws.kms.Key(
            f"{self._name}-alarm-key",
            description="Encrypts the support-chatbot alarm topic",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            policy=account_id.apply(alarm_key_policy),
            opts=child,
        )
        topic = aws.sns.Topic(f"{self._name}-alarms", kms_master_key_id=key.arn, opts=child)
        aws.sns.TopicSubscription(
            f"{self._name}-alarms-email", topic=topic.arn, protocol="email", endpoint=email, opts=child
        )
        return topic


def alarm_key_policy(account_id: str) -> str:
    """The alarm topic key's policy: the account administers it through IAM (AWS's default key policy, without
    which a key becomes unmanageable), and CloudWatch may encrypt what it publishes. In a key policy the
    resource `*` means this key."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersTheKeyThroughIam",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchAlarmsPublishToTheTopic",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": "*",
                    # Only alarms of this account may use the key (no confused deputy).
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                },
            ],
        }
    )
