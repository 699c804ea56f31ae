"""Operations under Pulumi mocks: the stack's alarm topic, encrypted with a key CloudWatch may use, made only when
someone is to be told, and the alarm actions every other component's alarms notify."""

from __future__ import annotations

import pytest

from components.operations import Operations, OperationsArgs

TOPIC = "aws:sns/topic:Topic"
KEY = "aws:kms/key:Key"


def operations(alarm_email: str | None):
    """A program: Operations for `alarm_email`; returns its alarm actions."""

    def program():
        component = Operations("operations", OperationsArgs(alarm_email=alarm_email))
        return {"alarm_actions": component.alarm_actions}

    return program


def test_an_alarm_address_gets_an_encrypted_topic_that_mails_it(run_pulumi):
    # GIVEN an alarm address
    # WHEN Operations are created
    mocks = run_pulumi(operations("ops@example.com"))
    # THEN a topic encrypted with its own rotating key mails that address, and it is every alarm's action
    topic = mocks.one(TOPIC)
    subscription = mocks.one("aws:sns/topicSubscription:TopicSubscription")
    key = mocks.one(KEY)
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == ("email", "ops@example.com")
    assert subscription.inputs["topic"] == topic.outputs["arn"], subscription.urn
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"], f"{topic.urn} is not encrypted with its own key"
    assert key.inputs["enableKeyRotation"] is True, key.urn
    assert mocks.values["alarm_actions"] == [topic.outputs["arn"]], "alarms would notify no one"


def test_cloudwatch_may_use_the_key_and_only_the_account_administers_it(run_pulumi):
    # GIVEN an alarm address
    # WHEN Operations are created
    mocks = run_pulumi(operations("ops@example.com"))
    key = mocks.one(KEY)
    # THEN CloudWatch may encrypt what it publishes to the topic, for alarms of this account only
    cloudwatch = [s for s in key.statements() if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch, f"{key.urn}: CloudWatch cannot publish to the encrypted topic"
    assert cloudwatch[0]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"], key.urn
    assert cloudwatch[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": mocks.account_id}}, key.urn
    # AND the only key-policy wildcard is AWS's default "the account administers the key through IAM"
    wildcards = [s for s in key.statements() if any("*" in a for a in s["Action"])]
    assert [s["Principal"] for s in wildcards] == [{"AWS": f"arn:aws:iam::{mocks.account_id}:root"}], key.urn


def test_without_an_alarm_address_there_is_no_topic_and_no_action(run_pulumi):
    # GIVEN no alarm address
    # WHEN Operations are created
    mocks = run_pulumi(operations(None))
    # THEN no topic or key is made (a topic without subscribers costs a key for nothing), and alarms notify no one
    assert mocks.of_type(TOPIC) == [], "a topic without subscribers costs a key for nothing"
    assert mocks.of_type(KEY) == [], "a key without a topic costs for nothing"
    assert mocks.values["alarm_actions"] == []


def test_an_alarm_address_that_is_not_an_address_is_refused(run_pulumi):
    # GIVEN / WHEN / THEN an alarm address without @ is refused, naming the argument
    with pytest.raises(ValueError, match="alarm_email"):
        run_pulumi(operations("ops.example.com"))
