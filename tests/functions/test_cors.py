"""Extra origins a stack allows get CORS headers on every answer; every other origin gets none."""

from __future__ import annotations

import importlib
import json

import pytest

from chatbot_shared.environment import ConfigurationError
from chatbot_shared.rest import JsonApi, parse_allowed_origins

ALLOWED = "https://www.example.com"


@pytest.fixture
def api() -> JsonApi:
    """A JSON API allowing one extra origin, with one route that stores nothing."""
    json_api = JsonApi(allowed_origins=[ALLOWED])

    @json_api.app.post("/ping")
    def ping() -> tuple[dict[str, bool], int]:
        return {"pong": True}, 201

    return json_api


def headers_of(response: dict) -> dict[str, str]:
    merged = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    return {**merged, **(response.get("headers") or {})}


def test_allowed_origin_gets_its_origin_echoed_with_vary(api, api_event, lambda_context):
    response = api.handle(
        api_event("POST", "/ping", body={}, headers={"Origin": ALLOWED, "Content-Type": "application/json"}),
        lambda_context,
    )
    assert response["statusCode"] == 201
    assert headers_of(response)["Access-Control-Allow-Origin"] == ALLOWED
    assert headers_of(response)["Vary"] == "Origin"


def test_allowed_origin_gets_cors_on_a_refusal_too(api, api_event, lambda_context):
    # GIVEN a body that is not JSON from the allowed origin
    event = api_event("POST", "/ping", body="x=1", headers={"Origin": ALLOWED, "Content-Type": "text/plain"})
    # WHEN the API refuses it
    response = api.handle(event, lambda_context)
    # THEN the browser can still read why
    assert response["statusCode"] == 415
    assert headers_of(response)["Access-Control-Allow-Origin"] == ALLOWED
    assert json.loads(response["body"])["errors"][0]["field"] == "Content-Type"


def test_other_origin_gets_no_cors_header(api, api_event, lambda_context):
    response = api.handle(
        api_event(
            "POST", "/ping", body={}, headers={"Origin": "https://evil.example", "Content-Type": "application/json"}
        ),
        lambda_context,
    )
    assert response["statusCode"] == 201
    assert "Access-Control-Allow-Origin" not in headers_of(response)


@pytest.mark.parametrize(("module", "path"), [("escalate", "/escalate"), ("store_query", "/store-query")])
def test_each_api_function_allows_the_origins_in_its_environment(
    stand_ins, monkeypatch, api_event, lambda_context, module, path
):
    # GIVEN a stack that allows one extra origin, and an API function reading its settings afresh
    handler = importlib.import_module(f"functions.{module}.handler")
    monkeypatch.setenv("ALLOWED_ORIGINS", json.dumps([ALLOWED]))
    handler.settings.cache_clear()
    try:
        # WHEN a request from that origin is refused
        event = api_event("POST", path, body="x=1", headers={"Origin": ALLOWED, "Content-Type": "text/plain"})
        response = handler.lambda_handler(event, lambda_context)
    finally:
        handler.settings.cache_clear()  # the next test reads its own environment
    # THEN the answer carries the CORS header for it
    assert response["statusCode"] == 415
    assert headers_of(response)["Access-Control-Allow-Origin"] == ALLOWED, f"{module} ignored ALLOWED_ORIGINS"


@pytest.mark.parametrize("raw", [None, "", "not json", '{"origin": "https://www.example.com"}'])
def test_unset_or_malformed_allowed_origins_allow_none(raw):
    assert parse_allowed_origins(raw) == frozenset()


def test_allowed_origins_keep_only_strings():
    assert parse_allowed_origins(json.dumps([ALLOWED, 42, None])) == {ALLOWED}


def test_origins_that_cannot_be_read_allow_none_and_the_request_is_still_answered(api_event, lambda_context):
    # GIVEN an API whose allowed origins cannot be read (a function missing a required variable)
    def unreadable() -> list[str]:
        raise ConfigurationError("environment variable QUERY_LOG_TABLE_NAME is not set")

    json_api = JsonApi(allowed_origins=unreadable)

    @json_api.app.post("/ping")
    def ping() -> tuple[dict[str, bool], int]:
        return {"pong": True}, 201

    # WHEN a request comes from an origin
    event = api_event("POST", "/ping", body={}, headers={"Origin": ALLOWED, "Content-Type": "application/json"})
    response = json_api.handle(event, lambda_context)
    # THEN it is answered as usual, with no CORS header
    assert response["statusCode"] == 201
    assert "Access-Control-Allow-Origin" not in headers_of(response)
