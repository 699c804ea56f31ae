"""The admin API: staff list, filter, page, group and export the query log, and nothing answers without staff claims.

The table is the stand-ins' query log, created from the contracts with its by-day index; rows are written as the
query log's writers write them (`day` included).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from local.stand_ins import StandInNames

DAY_MS = 86_400_000
T0 = 1_764_547_200_000  # 2025-12-01T00:00:00Z
STAFF_CLAIMS = {"sub": "5f1c-staff", "email": "staff@example.com", "token_use": "id", "cognito:username": "staff"}

Row = dict[str, Any]
AdminGet = Callable[..., dict[str, Any]]


@pytest.fixture
def admin(stand_ins: StandInNames) -> ModuleType:
    """The handler module, imported once moto runs."""
    from functions.admin_api import handler

    return handler


@pytest.fixture
def put_turn(stand_ins: StandInNames, aws) -> Callable[..., Row]:
    """`put_turn(session, timestamp, userQuery, **attributes)`: one query-log row as the writers store it."""
    from boto3.dynamodb.types import TypeSerializer

    from functions.store_query.handler import utc_day

    serialize = TypeSerializer().serialize

    def put(session: str, timestamp: int, user_query: str = "hello", **attributes: Any) -> Row:
        row = {
            "sessionId": session,
            "timestamp": timestamp,
            "userQuery": user_query,
            "botResponse": attributes.pop("botResponse", "An answer."),
            "day": utc_day(timestamp),
            **attributes,
        }
        item = {key: serialize(value) for key, value in row.items() if value is not None}
        aws.client("dynamodb").put_item(TableName=stand_ins.query_log_table, Item=item)
        return row

    return put


@pytest.fixture
def get(admin: ModuleType, api_event, lambda_context) -> AdminGet:
    """`get(path, claims=STAFF_CLAIMS, **params)`: the handler's answer to a staff GET through CloudFront."""

    def call(path: str, claims: dict[str, Any] | None = STAFF_CLAIMS, **params: Any) -> dict[str, Any]:
        event = api_event("GET", path, headers={"Accept": "application/json"})
        query = {key: str(value) for key, value in params.items()}
        event["queryStringParameters"] = query or None
        event["multiValueQueryStringParameters"] = {key: [value] for key, value in query.items()} or None
        if claims is not None:  # what API Gateway's Cognito authorizer adds for a valid staff token
            event["requestContext"]["authorizer"] = {"claims": claims}
        return admin.lambda_handler(event, lambda_context)

    return call


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def window(**params: Any) -> dict[str, Any]:
    """A range covering the test rows (three days from T0)."""
    return {"from": T0, "to": T0 + 3 * DAY_MS - 1, **params}


def all_pages(get: AdminGet, **params: Any) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        answer = get("/admin/turns", **params, **({"cursor": cursor} if cursor else {}))
        assert answer["statusCode"] == 200, answer["body"]
        page = body(answer)
        yield page
        cursor = page["nextCursor"]
        if cursor is None:
            return


# --- who may read ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("claims", [None, {}, {"email": "staff@example.com"}], ids=["none", "empty", "no-subject"])
@pytest.mark.parametrize(
    "path", ["/admin/turns", "/admin/export", "/admin/conversations/s-1", "/admin/unanswered", "/admin/worst-rated"]
)
def test_a_request_without_staff_claims_gets_401_and_no_row(get, put_turn, path, claims):
    # GIVEN a logged turn
    put_turn("s-1", T0 + 1000, "my secret question")
    # WHEN an admin route is called without the claims API Gateway's authorizer adds for a signed-in staff member
    response = get(path, claims=claims, **window())
    # THEN it is refused with a JSON 401 and no row is in the answer
    assert response["statusCode"] == 401, response["body"]
    assert body(response)["message"] == "Unauthorized"
    assert "secret question" not in response["body"]


def test_a_request_around_cloudfront_is_refused_before_the_claims_are_looked_at(admin, api_event, lambda_context):
    # GIVEN a signed request sent to the API's own URL (no origin secret)
    event = api_event("GET", "/admin/turns", headers={"Accept": "application/json"}, through_cloudfront=False)
    event["requestContext"]["authorizer"] = {"claims": STAFF_CLAIMS}
    # WHEN the handler receives it THEN it answers 403
    assert admin.lambda_handler(event, lambda_context)["statusCode"] == 403


# --- listing, filters, pagination -----------------------------------------------------------------------------


def test_turns_in_a_range_are_listed_newest_first_across_days(get, put_turn):
    # GIVEN turns on three days and one outside the range
    put_turn("s-1", T0 + 1000, "first")
    put_turn("s-2", T0 + DAY_MS + 5, "second")
    put_turn("s-1", T0 + 2 * DAY_MS + 7, "third")
    put_turn("s-3", T0 + 3 * DAY_MS + 1, "too late")
    # WHEN staff list the range
    response = get("/admin/turns", **window())
    # THEN the turns in the range come newest first, in the wire's shape
    assert response["statusCode"] == 200, response["body"]
    page = body(response)
    assert [turn["userQuery"] for turn in page["turns"]] == ["third", "second", "first"]
    assert page["nextCursor"] is None
    assert set(page["turns"][0]) == {
        "sessionId",
        "timestamp",
        "userQuery",
        "botResponse",
        "intentName",
        "confidenceScore",
        "sentiment",
        "rating",
        "ratingReason",
        "answerSources",
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"intent": "OrderStatus"}, ["order"]),
        ({"rating": "down"}, ["fallback"]),
        ({"sentiment": "negative"}, ["fallback"]),
        ({"answer": "fallback"}, ["fallback"]),
        ({"answer": "knowledge"}, ["vpn doc"]),
        ({"answer": "intent"}, ["order"]),
        ({"session": "s-b"}, ["vpn doc"]),
        ({"intent": "OrderStatus", "rating": "down"}, []),
    ],
    ids=["intent", "rating", "sentiment", "fallback", "knowledge", "intent-answers", "session", "combined"],
)
def test_filters_keep_only_the_matching_turns(get, put_turn, params, expected):
    # GIVEN a bot-intent answer, a knowledge-base answer and a fallback
    put_turn("s-a", T0 + 1, "order", intentName="OrderStatus", rating="up", sentiment="NEUTRAL")
    put_turn("s-b", T0 + 2, "vpn doc", intentName="QnAIntent", answerSources={"s3://docs/vpn.md"})
    put_turn("s-c", T0 + 3, "fallback", intentName="FallbackIntent", rating="down", sentiment="NEGATIVE")
    # WHEN staff filter
    response = get("/admin/turns", **window(**params))
    # THEN only the matching turns are listed
    assert response["statusCode"] == 200, response["body"]
    assert [turn["userQuery"] for turn in body(response)["turns"]] == expected


def test_pages_follow_each_other_through_the_cursor_with_no_turn_lost_or_repeated(get, put_turn):
    # GIVEN 23 turns over three days
    written = [put_turn(f"s-{n % 4}", T0 + (n % 3) * DAY_MS + n * 1000, f"q{n}") for n in range(23)]
    # WHEN staff read pages of 5, following each nextCursor
    pages = list(all_pages(get, **window(limit=5)))
    # THEN every turn comes exactly once, newest first, in pages of at most 5
    seen = [turn["timestamp"] for page in pages for turn in page["turns"]]
    assert seen == sorted((row["timestamp"] for row in written), reverse=True)
    assert all(len(page["turns"]) <= 5 for page in pages)
    assert len(pages) >= 5


def test_a_filtered_listing_pages_through_the_matching_turns_only(get, put_turn):
    # GIVEN 12 down-voted turns among 30
    for n in range(30):
        put_turn("s-1", T0 + n * 1000, f"q{n}", rating="down" if n % 5 < 2 else "up")
    # WHEN staff page through the down votes, 5 at a time
    pages = list(all_pages(get, **window(limit=5, rating="down")))
    # THEN they get all 12, each once
    queries = [turn["userQuery"] for page in pages for turn in page["turns"]]
    assert sorted(queries) == sorted(f"q{n}" for n in range(30) if n % 5 < 2)
    assert len(queries) == len(set(queries)) == 12


def test_a_tampered_cursor_is_a_400_naming_the_cursor(get, put_turn):
    # GIVEN a cursor the API gave
    for n in range(4):
        put_turn("s-1", T0 + n, f"q{n}")
    cursor = body(get("/admin/turns", **window(limit=2)))["nextCursor"]
    payload, _, signature = cursor.partition(".")
    forged_payload = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    # WHEN it is sent back changed (its position, or its signature), or with other filters
    for changed, params in (
        (f"{forged_payload}.{signature}", window(limit=2)),
        (f"{payload}.{signature[::-1]}", window(limit=2)),
        ("not-a-cursor", window(limit=2)),
        (cursor, window(limit=2, rating="up")),
    ):
        response = get("/admin/turns", **params, cursor=changed)
        # THEN it is refused with 400 naming `cursor`
        assert response["statusCode"] == 400, (changed, response["body"])
        assert body(response)["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"from": "yesterday"}, "from"),
        ({"to": "-5"}, "to"),
        ({"from": str(T0 + DAY_MS), "to": str(T0)}, "from"),
        ({"from": str(T0 - 400 * DAY_MS), "to": str(T0)}, "from"),
        ({"rating": "meh"}, "rating"),
        ({"sentiment": "ANGRY"}, "sentiment"),
        ({"answer": "maybe"}, "answer"),
        ({"intent": "Order Status"}, "intent"),
        ({"session": "a/b"}, "session"),
    ],
    ids=lambda value: value if isinstance(value, str) else "-".join(f"{k}={v}" for k, v in value.items())[:40],
)
def test_a_bad_parameter_is_a_400_naming_it(get, params, parameter):
    # WHEN staff send a parameter the API cannot use
    response = get("/admin/turns", **params)
    # THEN it answers 400 with the shared error shape naming the parameter
    assert response["statusCode"] == 400, response["body"]
    [error] = body(response)["errors"]
    assert error["field"] == parameter
    assert error["reason"]


def test_the_list_reads_only_through_queries_never_a_scan(admin, get, put_turn, monkeypatch):
    # GIVEN a logged turn and a client that refuses Scan
    put_turn("s-1", T0 + 1, "hello")

    def no_scan(**_: Any) -> None:
        raise AssertionError("the admin API must not scan the table")

    monkeypatch.setattr(admin.reader.client, "scan", no_scan)
    # WHEN staff list, group and export THEN every route answers without scanning
    for path in ("/admin/turns", "/admin/export", "/admin/unanswered", "/admin/worst-rated"):
        assert get(path, **window())["statusCode"] == 200, path


# --- conversations, groupings -----------------------------------------------------------------------------------


def test_a_conversation_is_every_turn_of_the_session_oldest_first(get, put_turn):
    # GIVEN two sessions interleaved over two days
    put_turn("s-1", T0 + DAY_MS, "later")
    put_turn("s-2", T0 + 5, "other session")
    put_turn("s-1", T0 + 10, "earlier")
    # WHEN staff open session s-1
    response = get("/admin/conversations/s-1")
    # THEN they get its turns, oldest first, and nothing of s-2
    assert response["statusCode"] == 200, response["body"]
    conversation = body(response)
    assert conversation["sessionId"] == "s-1"
    assert [turn["userQuery"] for turn in conversation["turns"]] == ["earlier", "later"]


def test_a_conversation_with_a_malformed_session_id_is_a_400_naming_it(get):
    response = get("/admin/conversations/bad%20id")
    assert response["statusCode"] == 400, response["body"]
    assert body(response)["errors"][0]["field"] == "sessionId"


def test_unanswered_questions_are_fallbacks_grouped_by_similar_text(get, put_turn):
    # GIVEN fallbacks asked in different words, and an answered question
    asked = [
        "How do I cancel my subscription?",
        "how to cancel subscription",
        "Cancel my subscriptions!!",
        "Where is the printer on floor 3?",
        "where is the printer, floor 3",
        "Do you sell gift cards?",
    ]
    for n, text in enumerate(asked):
        put_turn(f"s-{n}", T0 + n * 1000, text, intentName="FallbackIntent")
    put_turn("s-9", T0 + 9000, "How do I cancel my subscription?", intentName="CancelOrder")
    # WHEN staff ask for the top unanswered questions
    response = get("/admin/unanswered", **window())
    # THEN similar questions are one group, most asked first, with examples and when last asked
    assert response["statusCode"] == 200, response["body"]
    questions = body(response)["questions"]
    assert [q["count"] for q in questions] == [3, 2, 1]
    assert set(questions[0]["examples"]) == set(asked[:3])
    assert questions[0]["lastAskedAt"] == T0 + 2000
    assert "printer" in questions[1]["text"].lower()
    assert questions[2]["text"] == "Do you sell gift cards?"


def test_worst_rated_answers_are_grouped_by_answer_with_down_and_up_votes(get, put_turn):
    # GIVEN one answer voted down three times and up once, another down once, a third only up
    for n, rating in enumerate(["down", "down", "up", "down"]):
        put_turn(f"s-{n}", T0 + n, f"reset {n}", botResponse="Open the portal.", intentName="ResetPassword",
                 rating=rating, ratingReason="did not help" if rating == "down" else None)  # fmt: skip
    put_turn("s-5", T0 + 5, "vpn", botResponse="Restart the VPN.", intentName="Vpn", rating="down")
    put_turn("s-6", T0 + 6, "hours", botResponse="9 to 5.", intentName="Hours", rating="up")
    put_turn("s-7", T0 + 7, "unrated", botResponse="Open the portal.", intentName="ResetPassword")
    # WHEN staff ask for the worst-rated answers
    response = get("/admin/worst-rated", **window())
    # THEN the most down-voted answer comes first with its counts and down-voted examples; an unvoted-down one is absent
    assert response["statusCode"] == 200, response["body"]
    answers = body(response)["answers"]
    assert [(a["botResponse"], a["down"], a["up"]) for a in answers] == [
        ("Open the portal.", 3, 1),
        ("Restart the VPN.", 1, 0),
    ]
    assert answers[0]["intentName"] == "ResetPassword"
    assert {example["ratingReason"] for example in answers[0]["examples"]} == {"did not help"}


# --- CSV export ---------------------------------------------------------------------------------------------------


def read_csv(response: dict[str, Any]) -> list[dict[str, str]]:
    text = response["body"]
    assert text.startswith("\ufeff"), "a byte-order mark lets spreadsheets read the file as UTF-8"
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def test_the_export_is_the_filtered_list_as_a_csv_download(get, put_turn):
    # GIVEN turns of two intents
    put_turn("s-1", T0 + 1, "where is my order", intentName="OrderStatus", confidenceScore=None)
    put_turn("s-2", T0 + 2, "reset password", intentName="ResetPassword")
    # WHEN staff export one intent
    response = get("/admin/export", **window(intent="OrderStatus"))
    # THEN they download a CSV of exactly those turns
    assert response["statusCode"] == 200, response["body"]
    headers = {key.lower(): ", ".join(values) for key, values in response["multiValueHeaders"].items()}
    assert headers["content-type"].startswith("text/csv")
    assert headers["content-disposition"].startswith("attachment; filename=")
    rows = read_csv(response)
    assert [(row["sessionId"], row["userQuery"]) for row in rows] == [("s-1", "where is my order")]
    assert rows[0]["time"] == "2025-12-01T00:00:00.001Z"


def test_the_export_quotes_per_rfc_4180_and_defuses_formulas(get, put_turn):
    # GIVEN turns whose text would break a CSV or run as a spreadsheet formula
    nasty = {
        "=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0",
        "+SUM(1,2)": "'+SUM(1,2)",
        "-2+3": "'-2+3",
        "@IMPORT": "'@IMPORT",
        "\tTAB": "'\tTAB",
        'He said "hi", then\r\nleft': 'He said "hi", then\r\nleft',
        "naïve café 日本": "naïve café 日本",
    }
    for n, text in enumerate(nasty):
        put_turn(f"s-{n}", T0 + n, text)
    # WHEN staff export them
    response = get("/admin/export", **window())
    # THEN each cell reads back as the text, formulas with a leading apostrophe; lines end in CRLF
    rows = read_csv(response)
    assert {row["userQuery"] for row in rows} == set(nasty.values())
    assert response["body"].split("\r\n", 1)[0].removeprefix("\ufeff").startswith("time,sessionId,userQuery")
    assert '"He said ""hi"", then\r\nleft"' in response["body"], "quotes are doubled inside a quoted field"


def test_csv_rows_stop_before_the_size_bound(admin):
    # GIVEN more rows than fit the bound
    turns = [{"sessionId": "s-1", "timestamp": T0 + n, "userQuery": "x" * 100} for n in range(50)]
    # WHEN they are written with a bound of about ten rows
    text, truncated = admin.csv_document(turns, max_bytes=1500)
    # THEN the document stays under it and says it was cut
    assert truncated
    assert len(text.encode()) <= 1500
    assert 5 < text.count("\r\n") < 15


def test_a_listing_stops_at_its_read_bound_and_goes_on_from_its_cursor(admin, put_turn):
    # GIVEN one turn on the oldest of three days (the two newer days are empty)
    put_turn("s-1", T0 + 1, "old")
    window_ = admin.TimeRange(T0, T0 + 3 * DAY_MS - 1)
    # WHEN a listing may make one read at a time
    first = admin.reader.list_turns(window_, admin.TurnFilter(), 10, max_calls=1)
    # THEN it answers with nothing yet but a position to go on from, and following the positions finds the turn
    assert first.items == []
    assert first.next_position is not None
    found, position, reads = [], first.next_position, 1
    while position is not None:
        page = admin.reader.list_turns(window_, admin.TurnFilter(), 10, position, max_calls=1)
        found += page.items
        position, reads = page.next_position, reads + 1
    assert [item["userQuery"]["S"] for item in found] == ["old"]
    assert reads <= 4, "one read per day, and no read past the last day"
