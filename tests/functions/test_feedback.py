"""POST /feedback: the user's thumbs up or down updates the rating of a stored turn, never makes a row."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from contracts.query_log import MAX_RATING_REASON_CHARS, RATED_AT, RATING, RATING_REASON
from local.stand_ins import StandInNames

TURN: dict[str, Any] = {
    "sessionId": "us-east-1:2f1d6c1e-session",
    "timestamp": 1_763_700_000_000,
    "userQuery": "How do I reset my password?",
    "botResponse": "Open the portal and click 'Forgot password'.",
    "intentName": "ResetPassword",
}
KEYS = {"sessionId": TURN["sessionId"], "timestamp": TURN["timestamp"]}


@pytest.fixture
def store_query(stand_ins: StandInNames) -> ModuleType:
    """The handler module, imported once moto runs."""
    from functions.store_query import handler

    return handler


@pytest.fixture
def rows(stand_ins: StandInNames, aws) -> Callable[[], list[dict[str, Any]]]:
    """The query-log table's rows."""
    return lambda: aws.table_items(stand_ins.query_log_table)


@pytest.fixture
def stored_turn(store_query, api_event, lambda_context) -> dict[str, Any]:
    """TURN, stored through the API as the page stores it."""
    response = store_query.lambda_handler(api_event("POST", "/store-query", TURN), lambda_context)
    assert response["statusCode"] == 201, response["body"]
    return TURN


@pytest.fixture
def rate(store_query, api_event, lambda_context) -> Callable[..., dict[str, Any]]:
    """`rate(body)`: the handler's answer to POST /feedback with `body`."""
    return lambda body: store_query.lambda_handler(api_event("POST", "/feedback", body), lambda_context)


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def test_a_thumbs_down_with_a_reason_is_stored_on_the_turn(stored_turn, rate, rows):
    # GIVEN a stored turn
    before = int(time.time() * 1000)
    # WHEN the user rates it down with a reason
    response = rate({**KEYS, "rating": "down", "reason": "It did not mention the VPN"})
    # THEN the answer is 200 with the rating, and the same row holds rating, reason and when
    assert response["statusCode"] == 200, response["body"]
    assert body(response) == {**KEYS, "rating": "down"}
    [row] = rows()
    assert row[RATING] == "down"
    assert row[RATING_REASON] == "It did not mention the VPN"
    assert before <= int(row[RATED_AT]) <= int(time.time() * 1000) + 1
    assert row["userQuery"] == TURN["userQuery"], "the turn itself must be left as it was"


def test_a_rating_for_a_turn_that_does_not_exist_is_404_naming_it_and_makes_no_row(rate, rows):
    # GIVEN an empty query log
    # WHEN a rating arrives for a turn nobody stored
    response = rate({**KEYS, "rating": "up"})
    # THEN it answers 404 naming the turn, and the table is still empty
    assert response["statusCode"] == 404, response["body"]
    answer = body(response)
    assert answer["message"] == "No such turn"
    [error] = answer["errors"]
    assert error["field"] == "timestamp"
    assert TURN["sessionId"] in error["reason"]
    assert str(TURN["timestamp"]) in error["reason"]
    assert rows() == [], "a rating must never create a row"


def test_a_changed_vote_overwrites_the_last_and_drops_its_reason(stored_turn, rate, rows):
    # GIVEN a turn rated down with a reason
    assert rate({**KEYS, "rating": "down", "reason": "Wrong steps"})["statusCode"] == 200
    # WHEN the user changes the vote to up
    response = rate({**KEYS, "rating": "up"})
    # THEN the row holds the new vote only, with no reason left from the old one
    assert response["statusCode"] == 200, response["body"]
    [row] = rows()
    assert row[RATING] == "up"
    assert RATING_REASON not in row, f"the old reason must go with the old vote: {row}"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rating": "sideways"}, "rating"),
        ({"rating": None}, "rating"),
        ({"rating": "up", "reason": "Great"}, "reason"),
        ({"rating": "down", "reason": "x" * (MAX_RATING_REASON_CHARS + 1)}, "reason"),
        ({"rating": "down", "reason": ""}, "reason"),
        ({"rating": "down", "reason": "line one\nline two"}, "reason"),
        ({"rating": "down", "reason": 5}, "reason"),
        ({"sessionId": "has spaces"}, "sessionId"),
        ({"timestamp": "1763700000000"}, "timestamp"),
        ({"timestamp": True}, "timestamp"),
        ({"comment": "extra"}, "comment"),
    ],
)
def test_each_invalid_field_is_refused_with_422_naming_it_and_nothing_is_rated(stored_turn, rate, rows, change, field):
    # GIVEN a stored turn and feedback with one bad field
    feedback = {**KEYS, "rating": "down", **change}
    # WHEN it arrives
    response = rate(feedback)
    # THEN 422 names that field, and the row carries no rating
    assert response["statusCode"] == 422, response["body"]
    fields = [error["field"] for error in body(response)["errors"]]
    assert field in fields, f"expected {field!r} among {fields}"
    [row] = rows()
    assert RATING not in row


def test_a_missing_rating_is_refused_naming_it(stored_turn, rate):
    # WHEN feedback arrives without a rating
    response = rate(dict(KEYS))
    # THEN 422 names the rating
    assert response["statusCode"] == 422
    assert [error["field"] for error in body(response)["errors"]] == ["rating"]


def test_the_longest_reason_allowed_is_stored_whole(stored_turn, rate, rows):
    # GIVEN a reason of exactly the limit
    reason = "r" * MAX_RATING_REASON_CHARS
    # WHEN it comes with a thumbs-down
    response = rate({**KEYS, "rating": "down", "reason": reason})
    # THEN it is stored as sent
    assert response["statusCode"] == 200, response["body"]
    assert rows()[0][RATING_REASON] == reason


def test_feedback_that_did_not_come_through_cloudfront_is_refused(stored_turn, store_query, api_event, lambda_context):
    # GIVEN feedback sent to the API's own URL, without the origin secret
    event = api_event("POST", "/feedback", {**KEYS, "rating": "up"}, through_cloudfront=False)
    # WHEN it arrives
    response = store_query.lambda_handler(event, lambda_context)
    # THEN it is refused like every other route of the function
    assert response["statusCode"] == 403
