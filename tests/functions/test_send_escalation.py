"""The escalation sender: each queued ticket is emailed once, escaped, with no user text in headers; SES
failures stay on the queue for retry and end in the DLQ."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from local.stand_ins import StandInNames

SCRIPT = "<script>alert(1)</script>"
REQUEST: dict[str, Any] = {
    "sessionId": "us-east-1:2f1d6c1e-session",
    "userQuery": f"My screen says {SCRIPT}",
    "userEmail": "ada@example.com",
    "userName": f"Ada {SCRIPT}",
    "conversationHistory": [
        {"role": "user", "text": f"hello {SCRIPT}", "timestamp": 1_763_700_000_000},
        {"role": "bot", "text": "Sorry, I didn't understand.", "timestamp": 1_763_700_001_000},
    ],
}


@pytest.fixture
def sender(stand_ins: StandInNames) -> ModuleType:
    """The sender module, imported once moto runs (its clients are made on first use and outlive each mock)."""
    from functions.send_escalation import handler

    return handler


@pytest.fixture
def escalate(stand_ins: StandInNames, api_event, lambda_context) -> Callable[[dict[str, Any]], str]:
    """Submit an escalation through POST /escalate; its ticket id."""
    from functions.escalate import handler

    def submit(request: dict[str, Any]) -> str:
        response = handler.lambda_handler(api_event("POST", "/escalate", request), lambda_context)
        assert response["statusCode"] == 202, response["body"]
        return str(json.loads(response["body"])["ticketId"])

    return submit


@pytest.fixture
def deliver(stand_ins: StandInNames, sender, sqs_event, lambda_context, aws) -> Callable[[], dict[str, Any]]:
    """One round of the SQS event source mapping: receive, invoke the sender, delete what succeeded."""
    sqs = aws.client("sqs")

    def one_round() -> dict[str, Any]:
        messages = sqs.receive_message(
            QueueUrl=stand_ins.escalation_queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,  # a failed message is visible again at once (Lambda waits the visibility timeout)
            AttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        if not messages:
            return {"received": 0, "batchItemFailures": []}
        answer = sender.lambda_handler(sqs_event(messages), lambda_context)
        failed = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=stand_ins.escalation_queue_url, ReceiptHandle=message["ReceiptHandle"])
        return {"received": len(messages), **answer}

    return one_round


@pytest.fixture
def sent_mail(stand_ins: StandInNames) -> Callable[[], list[Any]]:
    """The messages moto's SES accepted (SES v2 lands in the v1 backend)."""
    return lambda: list(ses_backends[DEFAULT_ACCOUNT_ID][stand_ins.region].sent_messages)


@pytest.fixture
def ses_requests(sender) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every SES v2 SendEmail call, as sent on the wire (moto keeps no Reply-To or text part)."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(json.loads(params["body"]))

    events = sender.mailer.client.meta.events
    events.register("before-call.sesv2.SendEmail", record)
    yield calls
    events.unregister("before-call.sesv2.SendEmail", record)


@pytest.fixture
def ticket_status(stand_ins: StandInNames, aws) -> Callable[[str], str]:
    def status(ticket_id: str) -> str:
        item = aws.client("dynamodb").get_item(
            TableName=stand_ins.tickets_table, Key={"ticketId": {"S": ticket_id}}, ConsistentRead=True
        )["Item"]
        return str(item["status"]["S"])

    return status


def test_a_queued_ticket_is_emailed_once_with_every_user_value_escaped(escalate, deliver, sent_mail, ticket_status):
    # GIVEN an escalation whose question, name and history carry a script tag
    ticket_id = escalate(REQUEST)
    # WHEN the sender processes the queue
    answer = deliver()
    # THEN exactly one email went out, its HTML shows the script as text, and the ticket is marked sent
    assert answer["batchItemFailures"] == []
    [mail] = sent_mail()
    assert SCRIPT not in mail.body, "user text must never become markup"
    assert mail.body.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3, "query, name and history are escaped"
    assert ticket_id in mail.body
    assert ticket_status(ticket_id) == "sent"


def test_the_email_headers_carry_no_user_text(escalate, deliver, ses_requests, stand_ins, sent_mail):
    # GIVEN an escalation
    ticket_id = escalate(REQUEST)
    # WHEN the sender emails it
    deliver()
    # THEN From and To are the configured addresses, the user's address is only the Reply-To,
    # and the subject is fixed text around the ticket id
    [request] = ses_requests
    assert request["FromEmailAddress"] == stand_ins.sender_address
    assert request["Destination"] == {"ToAddresses": list(stand_ins.recipients)}
    assert request["ReplyToAddresses"] == [REQUEST["userEmail"]]
    subject = request["Content"]["Simple"]["Subject"]["Data"]
    assert subject == f"Chatbot escalation {ticket_id}: a user needs human support"
    assert [mail.subject for mail in sent_mail()] == [subject]


def test_the_email_has_a_plain_text_part_with_the_whole_conversation(escalate, deliver, ses_requests):
    # GIVEN an escalation with history
    escalate(REQUEST)
    # WHEN the sender emails it
    deliver()
    # THEN the text part holds the question, who said what, and when
    text = ses_requests[0]["Content"]["Simple"]["Body"]["Text"]["Data"]
    assert REQUEST["userQuery"] in text
    assert f"[2025-11-21 04:40:00 UTC] User: hello {SCRIPT}" in text
    assert "[2025-11-21 04:40:01 UTC] Bot: Sorry, I didn't understand." in text


def test_a_redelivered_message_sends_no_second_email(
    escalate, sender, sqs_event, lambda_context, aws, stand_ins, sent_mail
):
    # GIVEN a ticket whose message SQS delivers twice (at-least-once delivery)
    escalate(REQUEST)
    [message] = aws.client("sqs").receive_message(QueueUrl=stand_ins.escalation_queue_url)["Messages"]
    # WHEN the sender gets the same message in two invocations
    first = sender.lambda_handler(sqs_event([message]), lambda_context)
    second = sender.lambda_handler(sqs_event([message]), lambda_context)
    # THEN both succeed and only one email exists
    assert first["batchItemFailures"] == second["batchItemFailures"] == []
    assert len(sent_mail()) == 1


def test_a_repeated_submission_sends_one_email(escalate, deliver, sent_mail):
    # GIVEN the page submitted the same escalation twice
    first, again = escalate(REQUEST), escalate(REQUEST)
    # WHEN the queue is drained
    deliver()
    # THEN the team received one email, for that one ticket
    assert first == again
    assert len(sent_mail()) == 1


def test_an_ses_failure_leaves_the_message_for_retry_and_the_ticket_unsent(
    escalate, deliver, sender, sent_mail, ticket_status, monkeypatch
):
    # GIVEN SES refuses the sender (an unverified identity, as in a fresh SES account)
    monkeypatch.setattr(sender, "mailer", sender.Mailer(sender_address="nobody@unverified.example"))
    ticket_id = escalate(REQUEST)
    # WHEN the sender processes the queue
    answer = deliver()
    # THEN that record is reported as failed (SQS keeps it), nothing was sent, and the ticket is still queued
    assert answer["received"] == 1
    assert len(answer["batchItemFailures"]) == 1
    assert sent_mail() == []
    assert ticket_status(ticket_id) == "queued"


def test_a_message_that_keeps_failing_ends_in_the_dlq(
    escalate, deliver, sender, stand_ins, aws, sent_mail, monkeypatch
):
    # GIVEN SES refuses every attempt
    monkeypatch.setattr(sender, "mailer", sender.Mailer(sender_address="nobody@unverified.example"))
    ticket_id = escalate(REQUEST)
    # WHEN SQS delivers it as often as the redrive policy allows, and once more
    attempts = [deliver()["received"] for _ in range(stand_ins.max_receive_count + 1)]
    # THEN it was tried maxReceiveCount times, then moved to the DLQ with its ticket id, never emailed
    assert attempts == [1] * stand_ins.max_receive_count + [0]
    dead = aws.client("sqs").receive_message(QueueUrl=stand_ins.escalation_dlq_url).get("Messages", [])
    assert [json.loads(message["Body"])["ticketId"] for message in dead] == [ticket_id]
    assert sent_mail() == []


def test_a_message_without_its_ticket_is_retried_not_dropped(sender, sqs_event, lambda_context, sent_mail):
    # GIVEN a message naming a ticket the table does not hold
    event = sqs_event([json.dumps({"ticketId": "no-such-ticket"})])
    # WHEN the sender gets it
    answer = sender.lambda_handler(event, lambda_context)
    # THEN it fails (SQS retries it, then the DLQ keeps it) and nothing is sent
    assert answer["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]
    assert sent_mail() == []


def test_one_bad_record_does_not_fail_the_others(
    escalate, sender, sqs_event, lambda_context, aws, stand_ins, sent_mail
):
    # GIVEN a batch with a good message and a message that is not JSON
    escalate(REQUEST)
    [good] = aws.client("sqs").receive_message(QueueUrl=stand_ins.escalation_queue_url)["Messages"]
    event = sqs_event([good, "not json"])
    # WHEN the sender processes the batch
    answer = sender.lambda_handler(event, lambda_context)
    # THEN only the bad record is reported, and the good one was emailed
    assert answer["batchItemFailures"] == [{"itemIdentifier": event["Records"][1]["messageId"]}]
    assert len(sent_mail()) == 1
