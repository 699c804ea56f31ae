"""The ingestion starter: when documents in the knowledge base's bucket change, sync the knowledge base once.

S3 sends an event for every object put or deleted to an SQS queue; the queue's event source mapping waits up to its
batching window and hands this function everything that arrived, so a `pulumi up` that changes twenty documents
starts one ingestion job, not twenty. An ingestion job reads the whole data source, so one job after the last change
covers every change before it:

- no document changed (S3's test event, a file type the knowledge base does not read): nothing to do;
- a job already running started after the last change: it covers them, nothing to do;
- a job is running that started before the last change: the batch goes back to the queue (`batchItemFailures`) and
  comes again after the queue's visibility timeout, when that job has likely finished (Bedrock runs one job per
  data source at a time);
- otherwise: start a job.

The deployment also calls the function once when the data source is new (`{"sync": "<reason>"}`, no queue): a new
knowledge base must be synced though no document changed.

A batch that keeps coming back moves to the dead-letter queue after the queue's receive limit, which raises the
stack's alarm; so does any error here (the function's Errors alarm). Nothing is lost in between: the messages wait.

Environment (read on first use, in `Settings`): KNOWLEDGE_BASE_ID, KNOWLEDGE_DATA_SOURCE_ID.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from chatbot_shared.environment import FunctionEnvironment
from contracts.knowledge import DOCUMENT_SUFFIXES
from contracts.stack import KNOWLEDGE_BASE_ID, KNOWLEDGE_DATA_SOURCE_ID, METRICS_NAMESPACE

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

FUNCTION = "start_ingestion"
RUNNING_STATUSES = ("STARTING", "IN_PROGRESS", "STOPPING")  # Bedrock's statuses of a job not yet finished
DOCUMENT_EVENTS = ("ObjectCreated:", "ObjectRemoved:")


@dataclass(frozen=True)
class Settings:
    """Everything this function reads from its environment (`contracts.stack.FUNCTION_ENVIRONMENT[FUNCTION]`)."""

    knowledge_base_id: str
    data_source_id: str

    @classmethod
    def read(cls, source: Mapping[str, str] | None = None) -> Settings:
        """Read from `source` (default: the process environment); ConfigurationError names a missing variable."""
        environment = FunctionEnvironment(FUNCTION, source)
        return cls(
            knowledge_base_id=environment.require(KNOWLEDGE_BASE_ID),
            data_source_id=environment.require(KNOWLEDGE_DATA_SOURCE_ID),
        )


@cache
def settings() -> Settings:
    """This function's settings, read on first use."""
    return Settings.read()


# --- the pure core: what the batch asks for --------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentChange:
    """One document put or deleted in the bucket: its key and when S3 saw it."""

    key: str
    at: datetime


class Plan(Enum):
    """What to do with a batch of changes."""

    NOTHING = "nothing"  # no document changed
    COVERED = "covered"  # a running job started after the last change: it reads them all
    WAIT = "wait"  # a job that started before the last change is still running: come back later
    START = "start"  # no job is running: start one


def document_changes(bodies: Iterable[str]) -> list[DocumentChange]:
    """The document changes in SQS message bodies holding S3 event notifications. S3's test event (sent when the
    notification is configured), other event types, keys with a suffix the knowledge base does not read, and bodies
    that are not S3 events are no change."""
    changes = []
    for body in bodies:
        try:
            event = json.loads(body)
        except json.JSONDecodeError:
            continue
        records = event.get("Records") if isinstance(event, dict) else None
        for record in records if isinstance(records, list) else []:
            change = _document_change(record)
            if change is not None:
                changes.append(change)
    return changes


def _document_change(record: object) -> DocumentChange | None:
    if not isinstance(record, dict) or not str(record.get("eventName", "")).startswith(DOCUMENT_EVENTS):
        return None
    try:
        key = unquote_plus(str(record["s3"]["object"]["key"]))  # S3 sends keys URL-encoded, spaces as `+`
        at = datetime.fromisoformat(str(record["eventTime"]).replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError):
        return None
    return DocumentChange(key, at) if key.lower().endswith(DOCUMENT_SUFFIXES) else None


def plan(changes: Sequence[DocumentChange], running_jobs_started: Sequence[datetime]) -> Plan:
    """What to do about `changes`, given when each ingestion job still running started."""
    if not changes:
        return Plan.NOTHING
    last_change = max(change.at for change in changes)
    if any(started >= last_change for started in running_jobs_started):
        return Plan.COVERED
    if running_jobs_started:
        return Plan.WAIT
    return Plan.START


# --- the AWS edge ---------------------------------------------------------------------------------------------


class DataSourceSync:
    """The knowledge base's data source, as Bedrock's agent API sees it: its running jobs, and a new job.

    The client is made on first use (tests put a stubbed one in `client`)."""

    def __init__(self, settings_source: Callable[[], Settings]) -> None:
        self._settings = settings_source
        self.client: Any = None

    def _bedrock(self) -> Any:
        if self.client is None:
            import boto3

            self.client = boto3.client("bedrock-agent")
        return self.client

    def running_jobs_started(self) -> list[datetime]:
        """When each ingestion job of the data source that has not finished started."""
        current = self._settings()
        request: dict[str, Any] = {
            "knowledgeBaseId": current.knowledge_base_id,
            "dataSourceId": current.data_source_id,
            "filters": [{"attribute": "STATUS", "operator": "EQ", "values": list(RUNNING_STATUSES)}],
            "maxResults": 100,
        }
        started: list[datetime] = []
        while True:
            response = self._bedrock().list_ingestion_jobs(**request)
            started += [job["startedAt"] for job in response.get("ingestionJobSummaries", [])]
            if not response.get("nextToken"):
                return started
            request["nextToken"] = response["nextToken"]

    def start(self, reason: str) -> str | None:
        """Start an ingestion job of the data source: its id, or None when Bedrock refuses because a job is already
        running (one started since `running_jobs_started` looked)."""
        from botocore.exceptions import ClientError

        current = self._settings()
        try:
            response = self._bedrock().start_ingestion_job(
                knowledgeBaseId=current.knowledge_base_id,
                dataSourceId=current.data_source_id,
                description=reason[:200],
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConflictException":
                return None
            raise
        return str(response["ingestionJob"]["ingestionJobId"])


logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
data_source = DataSourceSync(settings)  # tests swap its client


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    """SQS entry point: one ingestion job for the whole batch of document changes, or the batch back to the queue.
    Called directly with `{"sync": reason}`, a sync now (nothing to return to a queue when it must wait)."""
    records = event.get("Records", [])
    if "sync" in event and not records:  # the deployment's call when the data source is new
        changes = [DocumentChange(f"(deployment: {event['sync']})", datetime.now(UTC))]
    else:
        changes = document_changes(str(record.get("body", "")) for record in records)
    decision = plan(changes, data_source.running_jobs_started() if changes else [])
    if decision is Plan.START:
        keys = sorted({change.key for change in changes})
        job_id = data_source.start(f"{len(keys)} document(s) changed, e.g. {keys[0]}")
        if job_id is None:
            decision = Plan.WAIT
        else:
            metrics.add_metric(name="IngestionStarted", unit=MetricUnit.Count, value=1)
            logger.info("Ingestion job started", extra={"ingestion_job_id": job_id, "documents": keys[:20]})
    logger.info("Documents changed", extra={"changes": len(changes), "plan": decision.value})
    if decision is Plan.WAIT:
        metrics.add_metric(name="IngestionDeferred", unit=MetricUnit.Count, value=1)
        return {"batchItemFailures": [{"itemIdentifier": str(record["messageId"])} for record in records]}
    return {"batchItemFailures": []}
