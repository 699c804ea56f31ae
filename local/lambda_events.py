"""What AWS hands a Lambda function, built for the local stack: the context, API Gateway and SQS events.

Shapes follow the AWS docs ("Lambda proxy integration" input format for REST APIs; "Using Lambda with
Amazon SQS" event) and Powertools' own test events, so the real handlers cannot tell the difference.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.stack import API_STAGE

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"  # the local stack's one region: moto's default, the page's config and every stand-in


@dataclass
class LambdaContext:
    """The attributes Powertools and handlers read from a Lambda context."""

    function_name: str
    memory_limit_in_mb: int = 256
    timeout_seconds: float = 30.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


def api_gateway_event(
    method: str,
    resource: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    query: Mapping[str, list[str]] | None = None,
    source_ip: str = "127.0.0.1",
    host: str = "127.0.0.1",
) -> dict[str, Any]:
    """A REST API (v1) Lambda proxy event for `method resource`, as API Gateway sends it on stage `live`."""
    try:
        text: str | None = body.decode("utf-8") if body else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    now = time.time()
    single = {name: value for name, value in headers.items()}
    return {
        "resource": resource,
        "path": resource,
        "httpMethod": method,
        "headers": single,
        "multiValueHeaders": {name: [value] for name, value in single.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": dict(query) if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "localapi00",
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "extendedRequestId": str(uuid.uuid4()),
            "httpMethod": method,
            "identity": {"sourceIp": source_ip, "userAgent": single.get("User-Agent", single.get("user-agent", ""))},
            "path": f"/{API_STAGE}{resource}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": "local",
            "resourcePath": resource,
            "stage": API_STAGE,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event an SQS event source mapping hands the function for a batch of received `messages`."""
    return {"Records": [_sqs_record(message, queue_arn) for message in messages]}


def _sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    attributes = {
        name: str(message.get("Attributes", {}).get(name, ""))
        for name in ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")
    }
    for optional in ("MessageGroupId", "MessageDeduplicationId", "SequenceNumber", "AWSTraceHeader"):
        if optional in message.get("Attributes", {}):
            attributes[optional] = str(message["Attributes"][optional])
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
