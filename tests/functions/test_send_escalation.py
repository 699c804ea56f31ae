"""The escalation sender: each queued ticket is emailed at most once, escaped, with no user text in headers, through
the stack's configuration set, tagged with its ticket; SES failures stay on the queue for retry and end in the
DLQ; an attempt that may have sent is never repeated."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chatbot_shared.escalation.desk import DeskNames, TicketDesk
from local.stand_ins import StandInNames
from tests.functions.aws_faults import AwsFaults
from tests.functions.escalation_pipeline import TicketPipeline

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
def pipeline(stand_ins: StandInNames, sender) -> TicketPipeline:
    from functions.forward_tickets import handler as forwarder

    return TicketPipeline(stand_ins, forwarder, sender)


@pytest.fixture
def deliver(stand_ins: StandInNames, sender, pipeline, sqs_event, lambda_context, aws) -> Callable[[], dict[str, Any]]:
    """The stream forwards what is new; then one round of the SQS event source mapping: receive, invoke the
    sender, delete what succeeded."""
    sqs = aws.client("sqs")

    def one_round() -> dict[str, Any]:
        pipeline.forward()
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
def ticket_item(stand_ins: StandInNames, aws) -> Callable[[str], dict[str, Any]]:
    def item(ticket_id: str) -> dict[str, Any]:
        found = aws.client("dynamodb").get_item(
            TableName=stand_ins.tickets_table, Key={"ticketId": {"S": ticket_id}}, ConsistentRead=True
        )["Item"]
        return {key: next(iter(value.values())) for key, value in found.items()}

    return item


@pytest.fixture
def ticket_status(ticket_item) -> Callable[[str], str]:
    return lambda ticket_id: str(ticket_item(ticket_id)["status"])


@pytest.fixture
def desk_names(stand_ins: StandInNames) -> DeskNames:
    return DeskNames(tickets_table=stand_ins.tickets_table, queue_url=stand_ins.escalation_queue_url)


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
    # and the subject is fixed text around the ticket id; the email goes through the stack's configuration set,
    # tagged with its ticket (bounce events carry the tag)
    [request] = ses_requests
    assert request["ConfigurationSetName"] == stand_ins.ses_configuration_set
    assert request["EmailTags"] == [{"Name": "ticketId", "Value": ticket_id}]
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
    escalate, sender, pipeline, sqs_event, lambda_context, aws, stand_ins, sent_mail
):
    # GIVEN a ticket whose message SQS delivers twice (at-least-once delivery)
    escalate(REQUEST)
    pipeline.forward()
    [message] = aws.client("sqs").receive_message(QueueUrl=stand_ins.escalation_queue_url)["Messages"]
    # WHEN the sender gets the same message in two invocations
    first = sender.lambda_handler(sqs_event([message]), lambda_context)
    second = sender.lambda_handler(sqs_event([message]), lambda_context)
    # THEN both succeed and only one email exists
    assert first["batchItemFailures"] == second["batchItemFailures"] == []
    assert len(sent_mail()) == 1


def test_a_sent_ticket_records_the_ses_message_id(escalate, deliver, ticket_item, sent_mail):
    # GIVEN an escalation
    ticket_id = escalate(REQUEST)
    # WHEN the sender emails it
    deliver()
    # THEN the ticket names the SES message id, so a bounce of that message is traced to it
    [mail] = sent_mail()
    item = ticket_item(ticket_id)
    assert (item["status"], item["sesMessageId"]) == ("sent", mail.id)


def test_a_repeated_submission_sends_one_email(escalate, deliver, sent_mail):
    # GIVEN the page submitted the same escalation twice
    first, again = escalate(REQUEST), escalate(REQUEST)
    # WHEN the queue is drained
    deliver()
    # THEN the team received one email, for that one ticket
    assert first == again
    assert len(sent_mail()) == 1


def test_an_ses_failure_leaves_the_message_for_retry_and_gives_the_ticket_back(
    escalate, deliver, sender, sent_mail, ticket_item, monkeypatch
):
    # GIVEN SES refuses the sender (an unverified identity, as in a fresh SES account)
    monkeypatch.setattr(sender, "mailer", sender.Mailer(sender_address="nobody@unverified.example"))
    ticket_id = escalate(REQUEST)
    # WHEN the sender processes the queue
    answer = deliver()
    # THEN that record is reported as failed (SQS keeps it), nothing was sent, and the ticket is queued again,
    # with no claim left on it
    assert answer["received"] == 1
    assert len(answer["batchItemFailures"]) == 1
    assert sent_mail() == []
    item = ticket_item(ticket_id)
    assert item["status"] == "queued"
    assert "claimToken" not in item, item
    assert "claimedUntil" not in item, item


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
    escalate, sender, pipeline, sqs_event, lambda_context, aws, stand_ins, sent_mail
):
    # GIVEN a batch with a good message and a message that is not JSON
    escalate(REQUEST)
    pipeline.forward()
    [good] = aws.client("sqs").receive_message(QueueUrl=stand_ins.escalation_queue_url)["Messages"]
    event = sqs_event([good, "not json"])
    # WHEN the sender processes the batch
    answer = sender.lambda_handler(event, lambda_context)
    # THEN only the bad record is reported, and the good one was emailed
    assert answer["batchItemFailures"] == [{"itemIdentifier": event["Records"][1]["messageId"]}]
    assert len(sent_mail()) == 1


@pytest.fixture
def faults() -> Iterator[AwsFaults]:
    injected = AwsFaults()
    yield injected
    injected.clear()


def test_when_marking_sent_fails_a_follow_up_marks_it_and_no_second_email_goes(
    escalate, deliver, sender, sent_mail, ticket_status, faults
):
    # GIVEN a ticket, and DynamoDB refusing the sender's second update (the first claims, the second marks sent)
    ticket_id = escalate(REQUEST)
    faults.refuse(sender.desk.dynamodb, "UpdateItem", "InternalServerError", nth=2)
    # WHEN the sender emails it, and the follow-up it leaves is delivered
    first = deliver()
    deliver()
    # THEN the record succeeded, the team got one email, and the ticket is sent
    assert faults.fired == ["UpdateItem refused (InternalServerError)"]
    assert first["batchItemFailures"] == []
    assert len(sent_mail()) == 1
    assert ticket_status(ticket_id) == "sent"


def test_a_ticket_claimed_by_a_stopped_attempt_is_not_sent_again(
    escalate, deliver, sender, desk_names, sent_mail, stand_ins, aws, ticket_status, monkeypatch
):
    # GIVEN a ticket an earlier attempt claimed and never finished (its invocation timed out around SES)
    ticket_id = escalate(REQUEST)
    TicketDesk(desk_names, clock=lambda: 1_000_000.0).claim(ticket_id, token="stopped", lease_seconds=60)
    # WHEN its message is delivered as often as the redrive policy allows, and once more
    for _ in range(stand_ins.max_receive_count + 1):
        deliver()
    # THEN no email went (it may have gone before), the ticket still says sending, and the message waits in the
    # DLQ, whose alarm asks a human to check
    assert sent_mail() == []
    assert ticket_status(ticket_id) == "sending"
    dead = aws.client("sqs").receive_message(QueueUrl=stand_ins.escalation_dlq_url).get("Messages", [])
    assert [json.loads(message["Body"])["ticketId"] for message in dead] == [ticket_id]


def test_a_ticket_being_sent_by_another_delivery_is_tried_again_later(
    escalate, deliver, sender, desk_names, sent_mail, ticket_status
):
    # GIVEN a ticket claimed right now by another delivery (a duplicate message, a concurrent sender)
    ticket_id = escalate(REQUEST)
    other = TicketDesk(desk_names)
    other.claim(ticket_id, token="other", lease_seconds=600)
    # WHEN this delivery gets it
    answer = deliver()
    # THEN it fails the record for later, sending nothing, and leaves the claim alone
    assert len(answer["batchItemFailures"]) == 1
    assert sent_mail() == []
    assert ticket_status(ticket_id) == "sending"


def test_throttling_is_waited_out_and_the_email_sent_once(escalate, deliver, sender, sent_mail, faults, monkeypatch):
    # GIVEN SES throttles the first send (sandbox: one mail per second)
    escalate(REQUEST)
    monkeypatch.setattr(sender, "mailer", sender.Mailer(sleep=lambda seconds: None))
    faults.refuse(sender.mailer.client, "SendEmail", "TooManyRequestsException", status=429)
    # WHEN the sender processes the queue
    answer = deliver()
    # THEN it waited, tried again and sent one email
    assert faults.fired == ["SendEmail refused (TooManyRequestsException)"]
    assert answer["batchItemFailures"] == []
    assert len(sent_mail()) == 1


def test_the_ses_client_never_retries_a_send_by_itself(sender):
    # A retry after a lost answer could send the email twice: only SES's own refusals are retried, by the sender
    assert sender.mailer.client.meta.config.retries["total_max_attempts"] == 1
