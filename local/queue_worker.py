"""The SQS event source mapping, stood in by a thread: escalation queue -> sender handler, with partial failures.

Like Lambda's mapping: receive up to 10 messages, hand them to the function as one SQS event, delete the
records the function did not list in `batchItemFailures`, and leave the failures to reappear after the
visibility timeout. A raising function fails the whole batch. The queue's redrive policy (moto applies it on
receive) moves a message that failed `maxReceiveCount` times to the DLQ, so nothing is lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3

from local.lambda_events import LambdaContext, sqs_event

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

Handler = Callable[[dict[str, Any], Any], Any]
BATCH_SIZE = 10  # the mapping's default and SQS's maximum per receive
log = logging.getLogger("local.queue")


class QueueWorker:
    """Polls one queue and drives one handler until `stop()`."""

    def __init__(
        self,
        queue_url: str,
        handler: Handler,
        *,
        function_name: str = "send_escalation",
        visibility_timeout: int = 10,
        wait_seconds: int = 1,
    ) -> None:
        self.queue_url = queue_url
        self.handler = handler
        self.function_name = function_name
        self.visibility_timeout = visibility_timeout
        self.wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqs-event-source", daemon=True)
        self.delivered = 0
        self.failed = 0

    @cached_property
    def _sqs(self) -> SQSClient:
        """Made on first use (in the polling thread), so creating the worker costs nothing at start-up."""
        return boto3.client("sqs")

    @cached_property
    def _queue_arn(self) -> str:
        attributes = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        return attributes["Attributes"]["QueueArn"]

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand, then stop polling."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def poll_once(self) -> int:
        """Receive one batch and deliver it; the number of messages received."""
        messages = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=self.wait_seconds,
            VisibilityTimeout=self.visibility_timeout,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if messages:
            self._deliver(messages)
        return len(messages)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # a broken poll must not kill the loop; log it and keep going
                log.exception("polling %s failed", self.queue_url)
                self._stop.wait(1.0)

    def _deliver(self, messages: list[Any]) -> None:
        event = sqs_event(messages, self._queue_arn)
        try:
            result = self.handler(event, LambdaContext(function_name=self.function_name))
        except Exception:
            log.exception("%s raised: the whole batch of %d will be retried", self.function_name, len(messages))
            self.failed += len(messages)
            return
        failures = {item.get("itemIdentifier") for item in (result or {}).get("batchItemFailures", [])}
        done = [message for message in messages if message["MessageId"] not in failures]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        self.delivered += len(done)
        self.failed += len(messages) - len(done)
        if failures:
            log.warning(
                "%s failed %d of %d records; they will be retried", self.function_name, len(failures), len(messages)
            )
