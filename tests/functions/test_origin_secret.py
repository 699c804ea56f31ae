"""The edge is the only door: every API function answers only requests carrying CloudFront's origin secret, and a
request without it (one sent to the REST API's own execute-api URL) gets a 403 JSON answer and writes nothing."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from contracts.stack import ORIGIN_SECRET_HEADER, ORIGIN_SECRETS, PUBLIC_ROUTES, Route
from local.stand_ins import StandInNames

# A valid request for each route, so that only the origin header decides.
BODIES: dict[str, dict[str, Any]] = {
    "/escalate": {
        "sessionId": "us-east-1:2f1d6c1e-session",
        "userQuery": "The VPN drops every five minutes",
        "userEmail": "ada@example.com",
        "userName": "Ada Lovelace",
        "conversationHistory": [{"role": "user", "text": "vpn keeps dropping", "timestamp": 1_763_700_000_000}],
    },
    "/store-query": {
        "sessionId": "us-east-1:2f1d6c1e-session",
        "timestamp": 1_763_700_000_000,
        "userQuery": "How do I reset my password?",
        "botResponse": "Open the portal.",
        "confidenceScore": 0.87,
        "intentName": "ResetPassword",
        "sentiment": "NEUTRAL",
    },
    "/feedback": {"sessionId": "us-east-1:2f1d6c1e-session", "timestamp": 1_763_700_000_000, "rating": "up"},
}
SERVED = {"/escalate": 202, "/store-query": 201, "/feedback": 404}
"""What each route answers a valid request past the door (no turn is stored, so a rating finds none: the route's
own 404, not the door's 403)."""
ROUTES = [pytest.param(route, id=route.path) for route in PUBLIC_ROUTES]


def handler_of(route: Route) -> ModuleType:
    """The route's handler module, with its settings read afresh from the environment."""
    module = importlib.import_module(f"functions.{route.function}.handler")
    module.settings.cache_clear()
    return module


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """Every API function reads its environment again after the test (which may change it)."""
    yield
    for route in PUBLIC_ROUTES:
        handler_of(route)


@pytest.fixture
def written(stand_ins: StandInNames, aws) -> Any:
    """Everything an API function could have written: query-log rows, tickets, queued messages."""

    def read() -> dict[str, int]:
        messages = aws.client("sqs").receive_message(
            QueueUrl=stand_ins.escalation_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return {
            "query-log rows": len(aws.table_items(stand_ins.query_log_table)),
            "tickets": len(aws.table_items(stand_ins.tickets_table)),
            "queued messages": len(messages.get("Messages", [])),
        }

    return read


def event_with(api_event, route: Route, secret: str | None, header: str = ORIGIN_SECRET_HEADER) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"} | ({header: secret} if secret is not None else {})
    return api_event(route.method, route.path, BODIES[route.path], headers=headers, through_cloudfront=False)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("secret", [None, "", "a-guessed-secret", "local-origin-secret-and-more"])
def test_a_request_without_the_origin_secret_gets_403_and_writes_nothing(
    stand_ins, fresh_settings, written, api_event, lambda_context, route, secret
):
    # GIVEN a valid request sent straight to the API's execute-api URL: no origin header, or a wrong one
    event = event_with(api_event, route, secret)
    # WHEN the API function receives it
    response = handler_of(route).lambda_handler(event, lambda_context)
    # THEN it answers 403 with a JSON body, and nothing is stored, opened or queued
    assert response["statusCode"] == 403, response["body"]
    assert json.loads(response["body"])["message"].startswith("Forbidden")
    assert written() == {"query-log rows": 0, "tickets": 0, "queued messages": 0}


@pytest.mark.parametrize("route", ROUTES)
def test_a_request_through_cloudfront_is_answered(stand_ins, fresh_settings, api_event, lambda_context, route):
    # GIVEN the same request as CloudFront forwards it (its header spelled as a viewer might, in lower case)
    event = event_with(api_event, route, stand_ins.origin_secret, header=ORIGIN_SECRET_HEADER.lower())
    # WHEN the API function receives it
    response = handler_of(route).lambda_handler(event, lambda_context)
    # THEN it is served
    assert response["statusCode"] == SERVED[route.path], response["body"]


@pytest.mark.parametrize("route", ROUTES)
def test_the_secret_before_a_rotation_is_still_accepted(
    stand_ins, fresh_settings, monkeypatch, api_event, lambda_context, route
):
    # GIVEN a function that accepts the new secret and the one CloudFront's edges may still send
    monkeypatch.setenv(ORIGIN_SECRETS.name, json.dumps(["the-new-secret", stand_ins.origin_secret]))
    # WHEN a request carries the old one
    response = handler_of(route).lambda_handler(event_with(api_event, route, stand_ins.origin_secret), lambda_context)
    # THEN it is served: a rotation refuses no request while CloudFront updates
    assert response["statusCode"] == SERVED[route.path], response["body"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("secrets", [None, "not json", "[]"], ids=["unset", "not-json", "empty"])
def test_a_function_that_cannot_read_its_secrets_serves_nobody(
    stand_ins, fresh_settings, monkeypatch, written, api_event, lambda_context, route, secrets
):
    # GIVEN a function whose ORIGIN_SECRETS is unset or unreadable
    if secrets is None:
        monkeypatch.delenv(ORIGIN_SECRETS.name)
    else:
        monkeypatch.setenv(ORIGIN_SECRETS.name, secrets)
    # WHEN a request comes, even one with the stand-ins' secret
    response = handler_of(route).lambda_handler(event_with(api_event, route, stand_ins.origin_secret), lambda_context)
    # THEN it is refused with a JSON 500 (a configuration fault) and nothing is written: the door fails shut
    assert response["statusCode"] == 500, response["body"]
    assert written() == {"query-log rows": 0, "tickets": 0, "queued messages": 0}


@pytest.mark.parametrize("route", ROUTES)
def test_the_origin_secret_is_never_logged(stand_ins, fresh_settings, api_event, lambda_context, capsys, route):
    # GIVEN a request with a wrong secret, and one with the right one
    handler = handler_of(route)
    handler.lambda_handler(event_with(api_event, route, "a-guessed-secret"), lambda_context)
    handler.lambda_handler(event_with(api_event, route, stand_ins.origin_secret), lambda_context)
    # WHEN / THEN neither value appears in what the function logged
    logged = capsys.readouterr()
    for value in ("a-guessed-secret", stand_ins.origin_secret):
        assert value not in logged.out + logged.err, f"{route.path} logged an origin secret"
