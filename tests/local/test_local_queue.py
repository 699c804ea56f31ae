"""The stand-in for the SQS event source mapping: partial batch failures, retries, then the DLQ."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from local.queue_worker import QueueWorker
from local.stack import LocalStack

pytestmark = pytest.mark.local_stack


class Sender:
    """A stand-in for the sender function that fails the records whose body says so."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        failed = [r["messageId"] for r in event["Records"] if json.loads(r["body"]).get("fail")]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


@pytest.fixture
def queues(local_stack: LocalStack) -> tuple[str, str]:
    """A fresh queue with a DLQ after 2 receives, on the stack's moto server."""
    sqs = boto3.client("sqs")
    name = f"worker-test-{uuid.uuid4().hex[:8]}"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    queue_url = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    return queue_url, dlq_url


def test_records_the_function_did_not_fail_are_deleted_and_failures_retried(queues) -> None:
    queue_url, _ = queues
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"fail": False}))
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"fail": True}))
    sender = Sender()
    worker = QueueWorker(queue_url, sender, visibility_timeout=0, wait_seconds=0)
    # WHEN the loop delivers the batch and the function fails one record
    worker.poll_once()
    # THEN the function saw an SQS event with both records, receive counts included
    records = sender.events[0]["Records"]
    assert len(records) == 2
    assert {r["attributes"]["ApproximateReceiveCount"] for r in records} == {"1"}
    queue_name = queue_url.rsplit("/", 1)[1]
    assert {(r["eventSource"], r["eventSourceARN"].rsplit(":", 1)[1]) for r in records} == {("aws:sqs", queue_name)}
    # AND only the failed record comes back on the next delivery, with its receive count raised
    worker.poll_once()
    again = sender.events[1]["Records"]
    assert [json.loads(r["body"]) for r in again] == [{"fail": True}]
    assert again[0]["attributes"]["ApproximateReceiveCount"] == "2"


def test_a_record_that_keeps_failing_lands_in_the_dlq(queues) -> None:
    queue_url, dlq_url = queues
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"fail": True, "id": "poison"}))
    worker = QueueWorker(queue_url, Sender(), visibility_timeout=0, wait_seconds=0)
    # WHEN it fails as many times as the redrive policy allows
    for _ in range(3):
        worker.poll_once()
    # THEN it is in the DLQ, not lost
    moved = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["id"] for m in moved] == ["poison"]


def test_a_raising_function_fails_the_whole_batch(queues) -> None:
    queue_url, _ = queues
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=queue_url, MessageBody="{}")

    def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("SES is down")

    worker = QueueWorker(queue_url, broken, visibility_timeout=0, wait_seconds=0)
    worker.poll_once()
    assert worker.failed == 1
    assert sqs.receive_message(QueueUrl=queue_url).get("Messages"), "the message must still be on the queue"
