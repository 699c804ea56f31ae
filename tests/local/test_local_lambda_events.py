"""The events the local stack hands the handlers have the shapes AWS sends."""

from __future__ import annotations

import base64

from local.lambda_events import LambdaContext, api_gateway_event, sqs_event


def test_api_gateway_event_is_a_rest_proxy_event_on_stage_live() -> None:
    event = api_gateway_event(
        "POST", "/store-query", {"Content-Type": "application/json"}, b'{"a": 1}', source_ip="10.0.0.7"
    )
    assert (event["httpMethod"], event["resource"], event["path"]) == ("POST", "/store-query", "/store-query")
    assert event["body"] == '{"a": 1}'
    assert event["isBase64Encoded"] is False
    assert event["multiValueHeaders"] == {"Content-Type": ["application/json"]}
    context = event["requestContext"]
    assert context["stage"] == "live"
    assert context["identity"]["sourceIp"] == "10.0.0.7"
    assert context["requestId"]
    assert context["path"] == "/live/store-query"


def test_a_body_that_is_not_utf8_is_base64_encoded_as_api_gateway_does() -> None:
    event = api_gateway_event("POST", "/escalate", {}, b"\xff\xfe")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe"


def test_sqs_event_carries_receive_counts_and_the_queue_arn() -> None:
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": "{}",
        "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "Attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1", "SenderId": "x"},
    }
    record = sqs_event([message], "arn:aws:sqs:us-east-1:123456789012:escalations")["Records"][0]
    assert record["messageId"] == "m-1"
    assert record["receiptHandle"] == "r-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "3"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:escalations"


def test_lambda_context_counts_down_its_remaining_time() -> None:
    context = LambdaContext(function_name="store-query", timeout_seconds=3)
    assert 0 < context.get_remaining_time_in_millis() <= 3000
    assert context.invoked_function_arn.endswith(":function:store-query")
