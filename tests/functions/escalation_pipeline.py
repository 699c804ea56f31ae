"""What carries a ticket from the tickets table to the team in the cloud, driven step by step over moto.

In AWS two event source mappings do it: the tickets table's stream into the forwarder, and the escalation queue
into the sender. The local stack's stand-ins for them (`local.ticket_stream.StreamWorker`,
`local.queue_worker.QueueWorker`) drive the real handlers here too, one poll at a time, so a test decides when
each step happens. Import the handler modules only once moto runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from local.queue_worker import QueueWorker
from local.stand_ins import StandInNames
from local.ticket_stream import StreamWorker
from tests.functions.aws_faults import LambdaTimeout


@dataclass
class TicketPipeline:
    """The stream -> forwarder -> queue -> sender path of one set of stand-ins."""

    names: StandInNames
    forwarder: ModuleType
    sender: ModuleType
    stream: StreamWorker = field(init=False)
    queue: QueueWorker = field(init=False)

    def __post_init__(self) -> None:
        # The handlers are looked up at each call, so a test may swap a module's `desk` or `mailer` meanwhile.
        self.stream = StreamWorker(self.names.tickets_table, lambda event, ctx: _invoke(self.forwarder, event, ctx))
        self.queue = QueueWorker(
            self.names.escalation_queue_url,
            lambda event, ctx: _invoke(self.sender, event, ctx),
            visibility_timeout=0,  # a failed message is visible again at once (Lambda waits the visibility timeout)
            wait_seconds=0,
        )

    def forward(self) -> int:
        """One read of the tickets table's stream into the forwarder; the number of stream records read."""
        return self.stream.poll_once()

    def deliver(self) -> int:
        """One receive from the escalation queue into the sender; the number of messages received."""
        return self.queue.poll_once()

    def drain(self, rounds: int = 10) -> None:
        """Forward and deliver until nothing moves (or `rounds` rounds have passed)."""
        for _ in range(rounds):
            if self.forward() + self.deliver() == 0:
                return

    def sent_mail(self) -> list[Any]:
        """The messages moto's SES accepted (SES v2 lands in the v1 backend)."""
        return list(ses_backends[DEFAULT_ACCOUNT_ID][self.names.region].sent_messages)

    def queued(self, aws: Any) -> list[dict[str, Any]]:
        """The bodies of the messages waiting on the escalation queue (left there for the next reader)."""
        messages = (
            aws.client("sqs")
            .receive_message(QueueUrl=self.names.escalation_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            .get("Messages", [])
        )
        return [json.loads(message["Body"]) for message in messages]

    def dead_letters(self, aws: Any) -> list[dict[str, Any]]:
        """The bodies of the messages in the dead-letter queue."""
        messages = (
            aws.client("sqs")
            .receive_message(QueueUrl=self.names.escalation_dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            .get("Messages", [])
        )
        return [json.loads(message["Body"]) for message in messages]


class InvocationTimedOutError(Exception):
    """What an event source mapping sees of an invocation Lambda stopped at its timeout: a failed invocation."""


def _invoke(module: ModuleType, event: dict[str, Any], context: Any) -> Any:
    """Call a handler as Lambda does: a timeout fails the whole invocation (the mapping retries the batch)."""
    try:
        return module.lambda_handler(event, context)
    except LambdaTimeout as stopped:
        raise InvocationTimedOutError(str(stopped)) from None
