"""Reading one session's turns from the query log, and the capped transcript a handover carries."""

from __future__ import annotations

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer

from chatbot_shared.query_log import (
    TRANSCRIPT_MAX_CHARS,
    TRANSCRIPT_MAX_TURNS,
    LoggedTurn,
    QueryLogReader,
    QueryLogReadError,
    transcript,
)

START_MS = 1_763_700_000_000


def rows(count: int, *, answer: str = "an answer") -> list[LoggedTurn]:
    return [LoggedTurn(timestamp=START_MS + i, user_query=f"question {i}", bot_response=answer) for i in range(count)]


def test_a_row_becomes_the_users_turn_then_the_bots():
    turns = transcript([LoggedTurn(timestamp=START_MS, user_query="hi", bot_response="Hello!")])
    assert [(turn.role, turn.text, turn.timestamp) for turn in turns] == [
        ("user", "hi", START_MS),
        ("bot", "Hello!", START_MS),
    ]


def test_an_empty_bot_answer_is_no_turn():
    turns = transcript([LoggedTurn(timestamp=START_MS, user_query="hi", bot_response="")])
    assert [turn.role for turn in turns] == ["user"]


def test_a_long_chat_keeps_its_newest_turns_up_to_the_turn_cap():
    # GIVEN more rows than the transcript may carry
    turns = transcript(rows(TRANSCRIPT_MAX_TURNS))
    # THEN it keeps exactly the cap, ending with the newest answer and starting at a complete turn
    assert len(turns) == TRANSCRIPT_MAX_TURNS
    assert turns[-1].text == "an answer"
    assert turns[-2].text == f"question {TRANSCRIPT_MAX_TURNS - 1}"
    assert turns[0].text == f"question {TRANSCRIPT_MAX_TURNS // 2}"


def test_a_wordy_chat_keeps_its_newest_turns_up_to_the_character_cap():
    # GIVEN answers so long that a few fill the character budget
    long_answer = "x" * 3000
    turns = transcript(rows(10, answer=long_answer))
    # THEN the kept turns fit the budget and are the newest ones, in order
    assert sum(len(turn.text) for turn in turns) <= TRANSCRIPT_MAX_CHARS
    assert turns[-1].text == long_answer
    times = [turn.timestamp or 0 for turn in turns]
    assert times == sorted(times)
    assert times[0] > START_MS, "the oldest turns are the ones left out"


@pytest.fixture
def query_log_table(stand_ins) -> str:
    return stand_ins.query_log_table


def put_row(table: str, session_id: str, timestamp: int, asked: str) -> None:
    serialize = TypeSerializer().serialize
    row = {"sessionId": session_id, "timestamp": timestamp, "userQuery": asked, "botResponse": "ok"}
    boto3.client("dynamodb").put_item(TableName=table, Item={key: serialize(value) for key, value in row.items()})


def test_the_reader_returns_the_sessions_newest_rows_oldest_first(query_log_table):
    # GIVEN five rows of one session (written out of order) and one of another
    for i in (3, 0, 4, 1, 2):
        put_row(query_log_table, "s-1", START_MS + i, f"q{i}")
    put_row(query_log_table, "s-2", START_MS + 9, "not mine")
    # WHEN the newest three rows of s-1 are read
    turns = QueryLogReader(query_log_table).session_turns("s-1", limit=3)
    # THEN they are the three newest, oldest first, and only s-1's
    assert [turn.user_query for turn in turns] == ["q2", "q3", "q4"]


def test_a_missing_table_is_a_read_error(stand_ins):
    with pytest.raises(QueryLogReadError):
        QueryLogReader("NoSuchTable").session_turns("s-1")
