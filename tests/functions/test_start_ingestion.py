"""The ingestion starter: a burst of document changes starts one Bedrock ingestion job; a job already running
covers what changed before it started, or the batch goes back to the queue until it has finished.

S3 and SQS are moto's: the events the handler reads are the ones S3 sends when a document is put or deleted. Bedrock
is not: moto's `bedrock-agent` has knowledge bases but neither data sources nor ingestion jobs, so the two calls the
handler makes (`ListIngestionJobs`, `StartIngestionJob`) are answered by botocore's `Stubber` on a real
`bedrock-agent` client, at the AWS edge only (`data_source.client`); the stub checks every request's parameters
against the API model, as AWS would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from contracts.stack import KNOWLEDGE_BASE_ID, KNOWLEDGE_DATA_SOURCE_ID

KB_ID = "KBID123456"
DS_ID = "DSID123456"
BUCKET = "knowledge-base-documents-test"
QUEUE = "knowledge-base-ingestion-queue-test"
RUNNING = ["STARTING", "IN_PROGRESS", "STOPPING"]


class Bedrock:
    """The bedrock-agent client the handler uses, with every call it may make answered by a stub."""

    def __init__(self) -> None:
        self.client = boto3.client("bedrock-agent", region_name="us-east-1")
        self.stub = Stubber(self.client)

    def running_jobs(self, *started: datetime, next_token: str | None = None, after: str | None = None) -> None:
        """The next ListIngestionJobs answers with jobs (not finished) started at `started`."""
        request: dict[str, Any] = {
            "knowledgeBaseId": KB_ID,
            "dataSourceId": DS_ID,
            "filters": [{"attribute": "STATUS", "operator": "EQ", "values": RUNNING}],
            "maxResults": 100,
        }
        if after:
            request["nextToken"] = after
        jobs = [
            {
                "knowledgeBaseId": KB_ID,
                "dataSourceId": DS_ID,
                "ingestionJobId": f"JOB{i:07d}",
                "status": "IN_PROGRESS",
                "startedAt": at,
                "updatedAt": at,
            }
            for i, at in enumerate(started)
        ]
        response: dict[str, Any] = {"ingestionJobSummaries": jobs}
        if next_token:
            response["nextToken"] = next_token
        self.stub.add_response("list_ingestion_jobs", response, request)

    def starts_a_job(self) -> None:
        """The next StartIngestionJob starts one."""
        now = datetime.now(UTC)
        job = {
            "knowledgeBaseId": KB_ID,
            "dataSourceId": DS_ID,
            "ingestionJobId": "NEWJOB0001",
            "status": "STARTING",
            "startedAt": now,
            "updatedAt": now,
        }
        expected = {"knowledgeBaseId": KB_ID, "dataSourceId": DS_ID, "description": ANY}
        self.stub.add_response("start_ingestion_job", {"ingestionJob": job}, expected)

    def refuses_to_start(self, code: str, status: int) -> None:
        """The next StartIngestionJob fails with `code`."""
        self.stub.add_client_error("start_ingestion_job", service_error_code=code, http_status_code=status)


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The handler, its environment pointing at one knowledge base and data source."""
    monkeypatch.setenv(KNOWLEDGE_BASE_ID.name, KB_ID)
    monkeypatch.setenv(KNOWLEDGE_DATA_SOURCE_ID.name, DS_ID)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    from functions.start_ingestion import handler as module

    module.settings.cache_clear()
    yield module
    module.settings.cache_clear()
    module.data_source.client = None


@pytest.fixture
def bedrock(handler: ModuleType) -> Iterator[Bedrock]:
    """Bedrock's agent API as the handler sees it; every stubbed answer must be used by the end of the test."""
    fake = Bedrock()
    handler.data_source.client = fake.client
    with fake.stub:
        yield fake
        fake.stub.assert_no_pending_responses()


@pytest.fixture
def documents_bucket() -> Iterator[Any]:
    """moto's S3 and SQS: the documents bucket sending its object events to the ingestion queue, as the stack sets
    them up. Yields a function that puts (or deletes) documents and returns the queue's messages."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]
            },
        )

        def change(put: tuple[str, ...] = (), delete: tuple[str, ...] = ()) -> list[dict[str, Any]]:
            for key in put:
                s3.put_object(Bucket=BUCKET, Key=key, Body=b"# A guide\n\nSteps.\n")
            for key in delete:
                s3.delete_object(Bucket=BUCKET, Key=key)
            messages: list[Any] = []
            while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
                messages += batch
            return messages

        yield change


def test_a_burst_of_document_changes_starts_one_ingestion_job(
    handler, bedrock, documents_bucket, sqs_event, lambda_context
):
    # GIVEN three documents put and one deleted in the bucket, in one batch from the queue, and no job running
    messages = documents_bucket(put=("guides/vpn.md", "guides/mfa.md", "printing.pdf"), delete=("old/fax.txt",))
    bedrock.running_jobs()
    bedrock.starts_a_job()
    # WHEN the starter receives the batch
    response = handler.lambda_handler(sqs_event(messages, queue_name=QUEUE), lambda_context)
    # THEN one ingestion job was started (the stub held exactly one StartIngestionJob) and the batch is done
    assert response == {"batchItemFailures": []}


def test_a_job_started_after_the_last_change_covers_the_batch(
    handler, bedrock, documents_bucket, sqs_event, lambda_context
):
    # GIVEN a changed document, and an ingestion job that started after the change and still runs
    messages = documents_bucket(put=("guides/vpn.md",))
    bedrock.running_jobs(datetime.now(UTC) + timedelta(seconds=5))
    # WHEN the starter receives the change
    response = handler.lambda_handler(sqs_event(messages, queue_name=QUEUE), lambda_context)
    # THEN no job is started (none was stubbed) and nothing goes back to the queue: the running job reads it
    assert response == {"batchItemFailures": []}


def test_a_job_started_before_the_last_change_sends_the_batch_back_to_wait(
    handler, bedrock, documents_bucket, sqs_event, lambda_context
):
    # GIVEN two changed documents, and a job still running that started before they changed
    messages = documents_bucket(put=("guides/vpn.md", "guides/mfa.md"))
    bedrock.running_jobs(datetime.now(UTC) - timedelta(minutes=3))
    # WHEN the starter receives them
    response = handler.lambda_handler(sqs_event(messages, queue_name=QUEUE), lambda_context)
    # THEN every message goes back to the queue, to come again once that job has likely finished
    assert sorted(item["itemIdentifier"] for item in response["batchItemFailures"]) == sorted(
        m["MessageId"] for m in messages
    )


def test_a_job_started_by_someone_else_in_between_sends_the_batch_back(
    handler, bedrock, documents_bucket, sqs_event, lambda_context
):
    # GIVEN a changed document, no job running when the starter looks, but one started before it can start its own
    messages = documents_bucket(put=("guides/vpn.md",))
    bedrock.running_jobs()
    bedrock.refuses_to_start("ConflictException", 409)
    # WHEN the starter receives the change
    response = handler.lambda_handler(sqs_event(messages, queue_name=QUEUE), lambda_context)
    # THEN the batch goes back to the queue instead of failing the function
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == [m["MessageId"] for m in messages]


def test_a_refusal_other_than_a_running_job_fails_the_invocation(
    handler, bedrock, documents_bucket, sqs_event, lambda_context
):
    # GIVEN a changed document and a starter Bedrock refuses (its role lost a permission)
    messages = documents_bucket(put=("guides/vpn.md",))
    bedrock.running_jobs()
    bedrock.refuses_to_start("AccessDeniedException", 403)
    # WHEN / THEN the invocation fails, which the function's Errors alarm reports (the batch is retried by SQS)
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="AccessDeniedException"):
        handler.lambda_handler(sqs_event(messages, queue_name=QUEUE), lambda_context)


def test_s3s_test_event_and_files_the_knowledge_base_does_not_read_start_nothing(
    handler, bedrock, documents_bucket, sqs_event, lambda_context
):
    # GIVEN S3's test event (sent when the notification is set) and a file that is not a document
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET})
    messages = documents_bucket(put=("notes/draft.docx",))
    # WHEN the starter receives them (no Bedrock call is stubbed: any would fail the test)
    response = handler.lambda_handler(sqs_event([test_event, *messages], queue_name=QUEUE), lambda_context)
    # THEN nothing is started and nothing goes back to the queue
    assert response == {"batchItemFailures": []}


def test_running_jobs_are_read_across_pages(handler, bedrock, documents_bucket, sqs_event, lambda_context):
    # GIVEN a change, and Bedrock listing running jobs over two pages, the second holding one that started after it
    messages = documents_bucket(put=("guides/vpn.md",))
    bedrock.running_jobs(datetime.now(UTC) - timedelta(minutes=9), next_token="page-2")
    bedrock.running_jobs(datetime.now(UTC) + timedelta(seconds=5), after="page-2")
    # WHEN the starter receives the change
    response = handler.lambda_handler(sqs_event(messages, queue_name=QUEUE), lambda_context)
    # THEN the job on the second page covers it: nothing started, nothing sent back
    assert response == {"batchItemFailures": []}


def test_the_deployments_call_for_a_new_data_source_starts_a_job(handler, bedrock, lambda_context):
    # GIVEN a new data source (its first deploy) with no job running
    bedrock.running_jobs()
    bedrock.starts_a_job()
    # WHEN the deployment calls the starter directly
    response = handler.lambda_handler({"sync": "the knowledge base's data source is new"}, lambda_context)
    # THEN a job is started
    assert response == {"batchItemFailures": []}


def test_keys_are_read_as_s3_encodes_them(handler):
    # GIVEN an S3 event for a key with spaces and a non-ASCII letter, as S3 encodes keys in events
    body = json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "eventTime": "2026-12-01T10:00:00.000Z",
                    "s3": {"object": {"key": "guides/Connect+to+the+VPN+%C3%A0+home.PDF"}},
                }
            ]
        }
    )
    # WHEN the changes are read
    [change] = handler.document_changes([body])
    # THEN the key is the object's own, and an upper-case suffix is still a document
    assert change.key == "guides/Connect to the VPN à home.PDF"
    assert change.at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "body", ["not json", "[]", '{"Records": "x"}', '{"Records": [{"eventName": "ObjectCreated:Put"}]}']
)
def test_a_message_that_is_not_an_s3_event_is_no_change(handler, body):
    assert handler.document_changes([body]) == []
