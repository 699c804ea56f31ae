"""The ticket forwarder: each new ticket in the tickets table's stream becomes one message carrying only its id;
a failed send is retried from the stream, so no recorded ticket is left without its message."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from chatbot_shared.escalation.models import EscalationRequest
from local.stand_ins import StandInNames
from tests.functions.aws_faults import AwsFaults
from tests.functions.escalation_pipeline import TicketPipeline

REQUEST = EscalationRequest(
    sessionId="s-forward", userQuery="Printer jammed", userEmail="ada@example.com", userName="Ada"
)


@pytest.fixture
def forwarder(stand_ins: StandInNames) -> ModuleType:
    from functions.forward_tickets import handler

    return handler


@pytest.fixture
def pipeline(stand_ins: StandInNames, forwarder) -> TicketPipeline:
    from functions.send_escalation import handler as sender

    return TicketPipeline(stand_ins, forwarder, sender)


@pytest.fixture
def open_ticket(stand_ins: StandInNames) -> Any:
    """Open a ticket through the escalate function's own desk; its reference."""
    from functions.escalate import handler as escalate

    return lambda request=REQUEST: escalate.desk.open(request).ticket_id


@pytest.fixture
def faults() -> Any:
    injected = AwsFaults()
    yield injected
    injected.clear()


def test_a_new_ticket_becomes_one_message_with_only_its_id(open_ticket, pipeline, aws):
    # GIVEN a recorded ticket
    ticket_id = open_ticket()
    # WHEN the stream is read into the forwarder
    pipeline.forward()
    # THEN one message waits for the sender, naming the ticket and nothing else
    assert pipeline.queued(aws) == [{"ticketId": ticket_id}]


def test_changes_to_a_ticket_are_not_forwarded_again(open_ticket, pipeline, aws, sqs_event, forwarder):
    # GIVEN a ticket forwarded and sent (marking it sent is a change on the stream)
    open_ticket()
    pipeline.drain()
    assert len(pipeline.sent_mail()) == 1
    # WHEN the stream is read again
    pipeline.forward()
    # THEN nothing more is queued
    assert pipeline.queued(aws) == []


def test_a_record_that_is_not_a_new_ticket_is_skipped_by_the_function_itself(forwarder, lambda_context, aws, stand_ins):
    # GIVEN a stream record of a change (the deployed mapping's filter drops these; the function does too)
    event = {
        "Records": [
            {
                "eventID": "1",
                "eventName": "MODIFY",
                "eventSource": "aws:dynamodb",
                "dynamodb": {"Keys": {"ticketId": {"S": "SUP-ABCDE"}}, "SequenceNumber": "100", "SizeBytes": 10},
            }
        ]
    }
    # WHEN the forwarder gets it
    answer = forwarder.lambda_handler(event, lambda_context)
    # THEN it succeeds and queues nothing
    assert answer["batchItemFailures"] == []
    messages = aws.client("sqs").receive_message(QueueUrl=stand_ins.escalation_queue_url).get("Messages", [])
    assert messages == []


def test_a_failed_send_is_retried_from_the_stream_until_the_ticket_is_queued(
    open_ticket, pipeline, forwarder, aws, faults
):
    # GIVEN two new tickets, and SQS refusing the forwarder's first send
    first, second = open_ticket(), open_ticket(REQUEST.model_copy(update={"user_query": "Scanner jammed"}))
    faults.refuse(forwarder.desk.sqs, "SendMessage", "InternalError")
    # WHEN the stream is read, and read again
    pipeline.forward()
    after_failure = [message["ticketId"] for message in pipeline.queued(aws)]
    pipeline.forward()
    # THEN the failed record was read again: each ticket has its message (the one after it may come twice)
    assert faults.fired == ["SendMessage refused (InternalError)"]
    assert first not in after_failure
    queued = [message["ticketId"] for message in pipeline.queued(aws)]
    assert set(queued) == {first, second}, json.dumps(queued)
