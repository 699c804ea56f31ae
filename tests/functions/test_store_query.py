"""POST /store-query: one conversation turn stored once, with a TTL; bad input refused with a 4xx naming the field."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest

from contracts.query_log import ANSWER_SOURCES
from local.stand_ins import StandInNames

TURN: dict[str, Any] = {
    "sessionId": "us-east-1:2f1d6c1e-session",
    "timestamp": 1_763_700_000_000,
    "userQuery": "How do I reset my password?",
    "botResponse": "1. Open the portal. 2. Click 'Forgot password'.",
    "confidenceScore": 0.87,
    "intentName": "ResetPassword",
    "sentiment": "NEUTRAL",
}


@pytest.fixture
def store_query(stand_ins: StandInNames) -> ModuleType:
    """The handler module, imported once moto runs (its client is made on first use and outlives each mock)."""
    from functions.store_query import handler

    return handler


@pytest.fixture
def rows(stand_ins: StandInNames, aws) -> Callable[[], list[dict[str, Any]]]:
    """The query-log table's rows."""
    return lambda: aws.table_items(stand_ins.query_log_table)


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def test_a_stored_turn_reads_back_equal(store_query, rows, api_event, lambda_context):
    # GIVEN a conversation turn as the chat page sends it
    event = api_event("POST", "/store-query", TURN)
    # WHEN the handler receives it
    response = store_query.lambda_handler(event, lambda_context)
    # THEN it answers 201 and the table holds exactly that turn
    assert response["statusCode"] == 201, response["body"]
    assert body(response) == {"stored": True}
    [row] = rows()
    stored = {key: value for key, value in row.items() if key != "expiresAt"}
    expected = {
        **TURN,
        "timestamp": Decimal(TURN["timestamp"]),
        "confidenceScore": Decimal("0.87"),
        "day": "2025-11-21",  # the UTC day of the timestamp: the by-day index's partition
    }
    assert stored == expected, "the row must hold the turn's values unchanged"


@pytest.mark.parametrize(
    ("timestamp", "day"),
    [(1_764_633_599_999, "2025-12-01"), (1_764_633_600_000, "2025-12-02")],
    ids=["last-ms-of-a-day", "first-ms-of-the-next"],
)
def test_a_turn_is_filed_under_the_utc_day_of_its_timestamp(
    store_query, rows, api_event, lambda_context, timestamp, day
):
    # GIVEN a turn asked around midnight UTC
    event = api_event("POST", "/store-query", {**TURN, "timestamp": timestamp})
    # WHEN it is stored
    response = store_query.lambda_handler(event, lambda_context)
    # THEN its row carries the UTC day the by-day index partitions by
    assert response["statusCode"] == 201, response["body"]
    [row] = rows()
    assert row["day"] == day, f"{timestamp} ms is on {day} UTC"


def test_a_timestamp_written_with_a_zero_fraction_is_the_integer_the_api_document_describes(
    store_query, rows, api_event, lambda_context
):
    # GIVEN a turn whose timestamp a JSON encoder wrote as 1763890172742.0 (JSON Schema's integer admits it)
    event = api_event("POST", "/store-query", {**TURN, "timestamp": 1763890172742.0})
    # WHEN the handler receives it
    response = store_query.lambda_handler(event, lambda_context)
    # THEN it is stored, as that integer
    assert response["statusCode"] == 201, response["body"]
    [row] = rows()
    assert row["timestamp"] == Decimal(1763890172742)


def test_a_stored_turn_expires_after_the_retention_period(store_query, rows, api_event, lambda_context):
    # GIVEN the default retention of 90 days
    before = int(time.time())
    # WHEN a turn is stored
    store_query.lambda_handler(api_event("POST", "/store-query", TURN), lambda_context)
    # THEN its TTL attribute is 90 days from now, in epoch seconds
    [row] = rows()
    expires = int(row["expiresAt"])
    ninety_days = 90 * 86_400
    assert before + ninety_days <= expires <= int(time.time()) + ninety_days


def test_the_same_turn_twice_is_stored_once_and_both_answers_are_201(store_query, rows, api_event, lambda_context):
    # GIVEN a turn already stored
    first = store_query.lambda_handler(api_event("POST", "/store-query", TURN), lambda_context)
    # WHEN the page sends the same (sessionId, timestamp) again, with a different answer
    again = store_query.lambda_handler(
        api_event("POST", "/store-query", {**TURN, "botResponse": "changed"}), lambda_context
    )
    # THEN both calls succeed and the first write is the one kept
    assert (first["statusCode"], again["statusCode"]) == (201, 201)
    [row] = rows()
    assert row["botResponse"] == TURN["botResponse"], "the first writer wins"


def test_a_turn_answered_from_the_knowledge_base_stores_its_sources_as_a_string_set(
    store_query, rows, api_event, lambda_context
):
    # GIVEN a turn QnAIntent answered from two documents, one cited twice
    sources = ["s3://docs/guides/reset-your-password.md", "s3://docs/guides/set-up-MFA.md"]
    turn = {**TURN, "intentName": "QnAIntent", "answerSources": [*sources, sources[0]]}
    # WHEN the handler receives it
    response = store_query.lambda_handler(api_event("POST", "/store-query", turn), lambda_context)
    # THEN the row records the intent and each source once (a DynamoDB string set)
    assert response["statusCode"] == 201, response["body"]
    [row] = rows()
    assert row["intentName"] == "QnAIntent"
    assert row[ANSWER_SOURCES] == set(sources)


def test_a_turn_with_no_sources_stores_no_sources_attribute(store_query, rows, api_event, lambda_context):
    response = store_query.lambda_handler(
        api_event("POST", "/store-query", {**TURN, "answerSources": []}), lambda_context
    )
    assert response["statusCode"] == 201, response["body"]
    [row] = rows()
    assert ANSWER_SOURCES not in row, "DynamoDB has no empty string set: an answer without sources has none"


def test_optional_fields_may_be_left_out_or_null(store_query, rows, api_event, lambda_context):
    # GIVEN a turn with no intent, sentiment or confidence (Lex gave none)
    minimal = {key: TURN[key] for key in ("sessionId", "timestamp", "userQuery", "botResponse")}
    # WHEN it is stored
    response = store_query.lambda_handler(
        api_event("POST", "/store-query", {**minimal, "confidenceScore": None}), lambda_context
    )
    # THEN it is accepted and no empty attribute is written
    assert response["statusCode"] == 201, response["body"]
    [row] = rows()
    assert set(row) == {"sessionId", "timestamp", "userQuery", "botResponse", "expiresAt", "day"}


@pytest.mark.parametrize(
    ("score", "stored"),
    [(1e-308, Decimal("0")), (0.123456789, Decimal("0.1235")), (1, Decimal("1")), (0, Decimal("0"))],
    ids=["underflow", "many-decimals", "one", "zero"],
)
def test_confidence_is_stored_as_a_rounded_decimal(store_query, rows, api_event, lambda_context, score, stored):
    # GIVEN a confidence score that a float-to-Decimal conversion would choke on or bloat
    event = api_event("POST", "/store-query", {**TURN, "confidenceScore": score})
    # WHEN it is stored
    response = store_query.lambda_handler(event, lambda_context)
    # THEN it is kept rounded to four decimals
    assert response["statusCode"] == 201, response["body"]
    assert rows()[0]["confidenceScore"] == stored


INVALID_FIELDS = [
    ("sessionId", None, "missing"),
    ("sessionId", "", "empty"),
    ("sessionId", "a b", "space"),
    ("sessionId", "x" * 101, "too-long"),
    ("sessionId", 42, "number"),
    ("timestamp", "1763700000000", "string"),
    ("timestamp", 1.5e12 + 0.5, "fraction"),
    ("timestamp", True, "boolean"),
    ("timestamp", -1, "negative"),
    ("timestamp", 10**20, "far-future"),
    ("userQuery", "", "empty"),
    ("userQuery", "q" * 1025, "over-lex-limit"),
    ("userQuery", None, "missing"),
    ("botResponse", "b" * 4001, "too-long"),
    ("botResponse", ["a"], "list"),
    ("confidenceScore", False, "boolean"),
    ("confidenceScore", 1.01, "above-one"),
    ("confidenceScore", -0.01, "negative"),
    ("confidenceScore", "0.5", "string"),
    ("intentName", "Reset Password", "space"),
    ("intentName", "x" * 101, "too-long"),
    ("intentName", "", "empty"),
    ("sentiment", "HAPPY", "not-in-enum"),
    ("sentiment", "positive", "lowercase"),
    ("answerSources", "s3://docs/guides/vpn.md", "not-a-list"),
    ("answerSources", ["s3://docs/a.md"] * 6, "too-many"),
    ("answerSources", ["s3://docs/" + "k" * 1100], "uri-too-long"),
    ("answerSources", [""], "empty-uri"),
    ("answerSources", [42], "number"),
    ("extra", "field", "unknown-field"),
]


@pytest.mark.parametrize(
    ("field", "value"),
    [(field, value) for field, value, _ in INVALID_FIELDS],
    ids=[f"{f}-{i}" for f, _, i in INVALID_FIELDS],
)
def test_each_invalid_field_is_refused_with_422_naming_it_and_nothing_is_written(
    store_query, rows, api_event, lambda_context, field, value
):
    # GIVEN a turn with one invalid (or missing) field
    turn = {**TURN, field: value}
    if value is None:
        del turn[field]
    # WHEN the handler receives it
    response = store_query.lambda_handler(api_event("POST", "/store-query", turn), lambda_context)
    # THEN it answers 422 naming the field and a reason, and the table stays empty
    assert response["statusCode"] == 422, response["body"]
    answer = body(response)
    assert answer["message"] == "Invalid request"
    named = [error["field"] for error in answer["errors"]]
    # a list's bad item is named by its place ("answerSources.0")
    assert any(name == field or name.startswith(f"{field}.") for name in named), f"{field} must be named: {answer}"
    assert all(error["reason"] for error in answer["errors"]), "every error needs a reason"
    assert rows() == [], "an invalid turn must not be written"


@pytest.mark.parametrize(
    ("headers", "raw", "status", "field"),
    [
        ({"Content-Type": "text/plain"}, json.dumps(TURN), 415, "Content-Type"),
        ({"Content-Type": "multipart/form-data"}, "--x\r\n", 415, "Content-Type"),
        ({}, json.dumps(TURN), 415, "Content-Type"),
        ({"Content-Type": "application/json"}, '{"sessionId": ', 400, "body"),
        ({"Content-Type": "application/json"}, '{"confidenceScore": NaN}', 400, "body"),
        ({"Content-Type": "application/json"}, '{"userQuery": "\\ud800"}', 400, "body"),
        ({"Content-Type": "application/json"}, json.dumps({**TURN, "botResponse": "x" * 70_000}), 413, "body"),
        ({"Content-Type": "application/json"}, "[]", 422, "body"),
        ({"Content-Type": "application/json"}, "null", 422, "body"),
    ],
    ids=[
        "text-plain",
        "multipart-no-boundary",
        "no-content-type",
        "truncated",
        "nan",
        "lone-surrogate",
        "huge",
        "array",
        "null",
    ],
)
def test_a_body_that_is_not_a_small_json_object_gets_a_json_4xx(
    store_query, rows, api_event, lambda_context, headers, raw, status, field
):
    # GIVEN a request whose body is not a JSON object of reasonable size
    event = api_event("POST", "/store-query", raw, headers=headers)
    # WHEN the handler receives it
    response = store_query.lambda_handler(event, lambda_context)
    # THEN it answers the 4xx that says why, as JSON naming where, and writes nothing
    assert response["statusCode"] == status, response["body"]
    assert field in [error["field"] for error in body(response)["errors"]]
    assert rows() == []


def test_a_base64_encoded_json_body_is_accepted(store_query, rows, api_event, lambda_context):
    # GIVEN API Gateway passing the body base64-encoded (binary media types configured)
    encoded = base64.b64encode(json.dumps(TURN).encode()).decode()
    # WHEN the handler receives it
    response = store_query.lambda_handler(api_event("POST", "/store-query", encoded, base64_body=True), lambda_context)
    # THEN it is decoded and stored like any other
    assert response["statusCode"] == 201, response["body"]
    assert len(rows()) == 1


@pytest.mark.parametrize(("method", "path"), [("POST", "/nowhere"), ("GET", "/store-query")])
def test_an_unknown_route_gets_a_json_404(store_query, api_event, lambda_context, method, path):
    # WHEN a route the function does not serve is called
    response = store_query.lambda_handler(api_event(method, path, TURN), lambda_context)
    # THEN it answers 404 with a JSON message
    assert response["statusCode"] == 404
    assert body(response)["message"] == "Not found"


def test_a_failing_table_answers_500_without_internals(store_query, api_event, lambda_context, monkeypatch):
    # GIVEN the table does not exist (a misconfigured stack)
    monkeypatch.setattr(store_query, "query_log", store_query.QueryLogTable(table_name="NoSuchTable"))
    # WHEN a valid turn arrives
    response = store_query.lambda_handler(api_event("POST", "/store-query", TURN), lambda_context)
    # THEN the answer is a plain 500 that names no table, exception or stack
    assert response["statusCode"] == 500
    assert body(response) == {"message": "Internal error", "errors": []}
