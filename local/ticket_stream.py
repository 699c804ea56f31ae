"""The DynamoDB Streams event source mapping, stood in by a thread: tickets table stream -> forwarder handler.

Like Lambda's mapping for a stream: read the table's stream (moto keeps one), pass only the event names the
deployed mapping's filter passes (`INSERT`: new tickets), hand the records to the function as one stream event,
and move past the records it did not fail. A record listed in `batchItemFailures` is where the next read starts,
and a raising function gets the same batch again; nothing is skipped, as a stream shard is retried in order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from typing import Any

import boto3
from botocore.config import Config

from local.lambda_events import LambdaContext

Handler = Callable[[dict[str, Any], Any], Any]
BATCH_SIZE = 100  # the mapping's default for DynamoDB streams
NEW_ITEMS = ("INSERT",)  # the deployed mapping's filter (components/escalations.py)
RETRY_SECONDS = 1.0  # after a failed delivery, before the same records are tried again
log = logging.getLogger("local.stream")


class StreamWorker:
    """Reads one table's stream from its start and drives one handler until `stop()`."""

    def __init__(
        self,
        table_name: str,
        handler: Handler,
        *,
        function_name: str = "forward_tickets",
        event_names: Collection[str] = NEW_ITEMS,
        poll_seconds: float = 0.1,
    ) -> None:
        self.table_name = table_name
        self.handler = handler
        self.function_name = function_name
        self.event_names = frozenset(event_names)
        self.poll_seconds = poll_seconds
        # moto (5.2) answers the streams API on its regional name only, not on botocore's account-based one.
        regional = Config(account_id_endpoint_mode="disabled")
        self._streams: Any = boto3.client("dynamodbstreams", config=regional)  # (no type stubs for it in the venv)
        table = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"]
        if "LatestStreamArn" not in table:
            raise ValueError(f"table {table_name} has no stream (contracts.stack gives its schema one)")
        self.stream_arn: str = table["LatestStreamArn"]
        self._after: str | None = None  # the last sequence number handled; None: from the start of the stream
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dynamodb-stream-source", daemon=True)
        self.delivered = 0
        self.failed = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand, then stop reading."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def poll_once(self) -> int:
        """Read the next records and deliver the ones the filter passes; the number of records read."""
        records = self._read()
        if not records:
            return 0
        passing = [record for record in records if record.get("eventName") in self.event_names]
        if not passing:
            self._after = records[-1]["dynamodb"]["SequenceNumber"]  # filtered out: the mapping drops them
            return len(records)
        self._deliver(records, passing)
        return len(records)

    def _read(self) -> list[dict[str, Any]]:
        shard = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]
        position: dict[str, Any] = (
            {"ShardIteratorType": "TRIM_HORIZON"}
            if self._after is None
            else {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._after}
        )
        iterator = self._streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard["ShardId"], **position)
        answer = self._streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=BATCH_SIZE)
        return [dict(record) for record in answer.get("Records", [])]

    def _run(self) -> None:
        while not self._stop.is_set():
            failed_before = self.failed
            try:
                read = self.poll_once()
            except Exception:  # a broken read must not kill the loop; log it and keep going
                log.exception("reading the stream of %s failed", self.table_name)
                read, failed_before = 0, -1
            if read == 0 or self.failed != failed_before:  # idle, or a failure to retry: do not spin
                self._stop.wait(self.poll_seconds if read == 0 else RETRY_SECONDS)

    def _deliver(self, records: list[dict[str, Any]], passing: list[dict[str, Any]]) -> None:
        event = {"Records": [{**record, "eventSourceARN": self.stream_arn} for record in passing]}
        try:
            result = self.handler(event, LambdaContext(function_name=self.function_name))
        except Exception:
            log.exception("%s raised: the batch of %d will be retried", self.function_name, len(passing))
            self.failed += len(passing)
            return
        failures = {item.get("itemIdentifier") for item in (result or {}).get("batchItemFailures", [])}
        sequence = [record["dynamodb"]["SequenceNumber"] for record in records]
        first_failed = next((index for index, number in enumerate(sequence) if number in failures), None)
        done = len(records) if first_failed is None else first_failed
        if done:
            self._after = sequence[done - 1]
        passed = {record["dynamodb"]["SequenceNumber"] for record in passing}
        self.delivered += sum(1 for number in sequence[:done] if number in passed)
        if first_failed is not None:
            self.failed += 1
            log.warning("%s failed a record; the stream is read again from it", self.function_name)
