"""Fixtures for the Lambda handlers: moto stand-ins, real-shaped API Gateway and SQS events, a Lambda context.

`stand_ins` starts moto, creates every stand-in with `local.stand_ins.provision()` and exports the environment the
handlers read; import handler modules only after it (inside the test or a fixture that depends on it).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws

from contracts.stack import ORIGIN_SECRET_HEADER
from local.stand_ins import StandInNames, provision

ApiEvent = Callable[..., dict[str, Any]]
SqsEvent = Callable[..., dict[str, Any]]
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that Powertools reads."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:test-function"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture(scope="session")
def lambda_context() -> LambdaContext:
    return LambdaContext()


class AwsClients:
    """boto3 clients for assertions, made once per test session (a client outlives moto's mocks, and making one
    costs ~80 ms)."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=REGION)  # type: ignore[call-overload]
        return self._clients[service]

    def table_items(self, table: str) -> list[dict[str, Any]]:
        """Every item of `table`, as plain Python values (numbers as Decimal)."""
        deserialize = TypeDeserializer().deserialize
        items = self.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
        return [{key: deserialize(value) for key, value in item.items()} for item in items]


@pytest.fixture(scope="session")
def aws() -> AwsClients:
    return AwsClients()


@contextmanager
def running_stand_ins(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInNames]:
    """moto running, every stand-in created, and the handlers' environment variables set."""
    with mock_aws():
        names = provision()
        for key, value in names.environment().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "support-chatbot-tests")
        monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        yield names


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInNames]:
    """moto running, every stand-in created, and the handlers' environment variables set (for one test)."""
    with running_stand_ins(monkeypatch) as names:
        yield names


@pytest.fixture(scope="module")
def module_stand_ins() -> Iterator[StandInNames]:
    """The same, shared by every test of a module (for property-based runs of many examples)."""
    with pytest.MonkeyPatch.context() as monkeypatch, running_stand_ins(monkeypatch) as names:
        yield names


@pytest.fixture(scope="session")
def api_event() -> ApiEvent:
    """`api_event(method, path, body=None, headers=None)`: an API Gateway REST (v1) Lambda proxy event, for a request
    that came through CloudFront (with the stand-ins' origin secret header; `through_cloudfront=False`: without).

    `body` may be a dict/list (sent as JSON with `Content-Type: application/json` unless `headers` says otherwise),
    a str (sent as is), or None. `headers` replaces the default headers entirely when given.
    """

    def make(
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        base64_body: bool = False,
        through_cloudfront: bool = True,
    ) -> dict[str, Any]:
        text = body if body is None or isinstance(body, str) else json.dumps(body)
        if headers is None:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if through_cloudfront:  # CloudFront sets its origin header on everything it forwards to the API
            headers = {**headers, ORIGIN_SECRET_HEADER: StandInNames().origin_secret}
        request_id = str(uuid.uuid4())
        return {
            "resource": path,
            "path": path,
            "httpMethod": method,
            "headers": dict(headers),
            "multiValueHeaders": {key: [value] for key, value in headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": "abcdef1234",
                "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
                "httpMethod": method,
                "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
                "path": f"/prod{path}",
                "protocol": "HTTP/1.1",
                "requestId": request_id,
                "requestTimeEpoch": 1_763_700_000_000,
                "resourcePath": path,
                "stage": "prod",
            },
            "body": text,
            "isBase64Encoded": base64_body,
        }

    return make


@pytest.fixture(scope="session")
def sqs_event() -> SqsEvent:
    """`sqs_event(messages)`: the Lambda SQS event for messages from `receive_message` (or plain body strings)."""

    def make(messages: list[Mapping[str, Any] | str], queue_name: str = "escalations") -> dict[str, Any]:
        records = []
        for message in messages:
            if isinstance(message, str):
                message = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": str(uuid.uuid4()), "Body": message}
            body = str(message["Body"])
            records.append(
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": body,
                    "attributes": {
                        "ApproximateReceiveCount": str(message.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
                        "SentTimestamp": "1763700000000",
                        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                        "ApproximateFirstReceiveTimestamp": "1763700000001",
                    },
                    "messageAttributes": {},
                    "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 (SQS's own checksum)
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue_name}",
                    "awsRegion": REGION,
                }
            )
        return {"Records": records}

    return make
