"""The ticket forwarder: each new ticket in the tickets table's stream becomes one message on the escalation queue.

This is the second half of opening a ticket (the outbox pattern): the opener writes the ticket (status `queued`)
in one durable step, and DynamoDB Streams delivers every new item here, in order, for 24 hours, retrying until
this function succeeds. So a ticket cannot be recorded without being queued, whatever fails in between.

The event source mapping passes only `INSERT` records (a filter; a record that is not one is skipped here too) and
the stream carries keys only, so no user text leaves the table: the message is `{"ticketId": ...}`. A failed send
fails its record (`batchItemFailures` by sequence number) and the mapping retries from there; a ticket sent twice
is harmless (the sender sends each ticket once). An `IteratorAge` alarm on this function says when tickets wait.

Environment (read on first use, in `Settings`): ESCALATION_QUEUE_URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from chatbot_shared.environment import FunctionEnvironment
from chatbot_shared.escalation.desk import DeskNames, TicketDesk
from contracts.stack import METRICS_NAMESPACE, TICKETS_TABLE

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

FUNCTION = "forward_tickets"
NEW_ITEM = "INSERT"


@dataclass(frozen=True)
class Settings:
    """Everything this function reads from its environment (`contracts.stack.FUNCTION_ENVIRONMENT[FUNCTION]`)."""

    desk: DeskNames

    @classmethod
    def read(cls, source: Mapping[str, str] | None = None) -> Settings:
        """Read from `source` (default: the process environment); ConfigurationError names a missing variable."""
        return cls(desk=DeskNames.to_forward_tickets(FunctionEnvironment(FUNCTION, source)))


@cache
def settings() -> Settings:
    """This function's settings, read on first use."""
    return Settings.read()


logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
# An all-failed batch is reported like a partial one: the mapping retries from the first failed record either way.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
desk = TicketDesk(lambda: settings().desk)  # tests swap it


def record_handler(record: DynamoDBRecord) -> None:
    """Queue the new ticket a stream record names; raise to have the mapping deliver it again."""
    if record.event_name is None or record.event_name.name != NEW_ITEM or record.dynamodb is None:
        return  # the mapping's filter passes only new tickets; anything else is not ours to forward
    ticket_id = str(record.dynamodb.keys[TICKETS_TABLE.hash_key.name])
    desk.enqueue(ticket_id)
    logger.info("Ticket queued for the sender", extra={"ticket_id": ticket_id})


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """DynamoDB Streams entry point: one message per new ticket; failed records are listed for retry."""
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = len(response.get("batchItemFailures", []))
    metrics.add_metric(name="TicketForwardFailed", unit=MetricUnit.Count, value=failed)
    return response
