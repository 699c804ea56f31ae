"""End to end in Chromium: a user rates an answer on the real page, and the vote lands on that turn's query-log row.

Nothing is stubbed: the page logs the turn through POST /api/store-query, then sends the vote through
POST /api/feedback to the real store-query handler, which updates the row in the local stack's DynamoDB (moto).
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from playwright.sync_api import Locator, Page, expect

from local.stack import LocalStack

pytestmark = [pytest.mark.browser, pytest.mark.local_stack]
QUESTION = "I forgot my password"
ANSWER_START = "Here is how to reset your password:"


def rows_of(local_stack: LocalStack, session_id: str) -> list[dict[str, Any]]:
    """The query-log rows of one chat session, read straight from the local stack's DynamoDB."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=local_stack.info.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    items = client.scan(TableName=local_stack.info.query_log_table, ConsistentRead=True)["Items"]
    deserialize = TypeDeserializer().deserialize
    rows = [{key: deserialize(value) for key, value in item.items()} for item in items]
    return [row for row in rows if row["sessionId"] == session_id]


def wait_for_row(local_stack: LocalStack, session_id: str, **expected: Any) -> dict[str, Any]:
    """The session's one row once it holds every `expected` value (None: the attribute is absent)."""
    deadline = time.monotonic() + 15
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        rows = rows_of(local_stack, session_id)
        if len(rows) == 1 and all(rows[0].get(key) == value for key, value in expected.items()):
            return rows[0]
        time.sleep(0.2)
    raise AssertionError(f"expected one row of session {session_id} with {expected}, found {rows}")


def answered(page: Page) -> tuple[Locator, str]:
    """A new chat that asked QUESTION: the rating controls of its answer, and the chat's session id."""
    page.goto("/")
    page.get_by_role("textbox", name="Your message").fill(QUESTION)
    page.get_by_role("button", name="Send").click()
    log = page.get_by_role("log", name="Conversation")
    expect(log.get_by_text(ANSWER_START)).to_be_visible(timeout=15_000)
    session_id = page.evaluate("JSON.parse(sessionStorage.getItem('chatbot.session')).id")
    return log.get_by_role("group", name="Rate this answer").last, str(session_id)


def test_a_thumbs_down_with_a_reason_reaches_the_answers_query_log_row(page: Page, local_stack: LocalStack) -> None:
    # GIVEN an answer the bot gave on the page
    rating, session_id = answered(page)
    # WHEN the user rates it "Not helpful" and says why
    rating.get_by_role("button", name="Not helpful").click()
    expect(rating.get_by_role("button", name="Not helpful")).to_have_attribute("aria-pressed", "true")
    rating.get_by_label("What was missing? (optional)").fill("It skipped the step for SSO accounts")
    rating.get_by_role("button", name="Send").click()
    # THEN the page thanks the user, and the turn's own row holds the vote and the reason
    expect(rating.get_by_role("status")).to_have_text("Thanks for your feedback.")
    row = wait_for_row(local_stack, session_id, rating="down", ratingReason="It skipped the step for SSO accounts")
    assert ANSWER_START in row["botResponse"], "the vote must land on the row of the answer that was rated"
    assert isinstance(row["ratedAt"], Decimal)


def test_a_vote_is_cast_and_changed_with_the_keyboard_alone(page: Page, local_stack: LocalStack) -> None:
    # GIVEN an answer on the page
    rating, session_id = answered(page)
    helpful, unhelpful = (
        rating.get_by_role("button", name="Helpful", exact=True),
        rating.get_by_role("button", name="Not helpful"),
    )
    # WHEN the user tabs to "Helpful" and presses Enter
    helpful.focus()
    page.keyboard.press("Enter")
    # THEN it is pressed and stored
    expect(helpful).to_have_attribute("aria-pressed", "true")
    expect(unhelpful).to_have_attribute("aria-pressed", "false")
    wait_for_row(local_stack, session_id, rating="up")
    # WHEN the user changes the vote with Space on "Not helpful"
    unhelpful.focus()
    page.keyboard.press("Space")
    # THEN only the new vote is pressed, the row holds it, and the reason field takes the focus (a reason is optional)
    expect(unhelpful).to_have_attribute("aria-pressed", "true")
    expect(helpful).to_have_attribute("aria-pressed", "false")
    expect(rating.get_by_label("What was missing? (optional)")).to_be_focused()
    wait_for_row(local_stack, session_id, rating="down", ratingReason=None)


def test_a_vote_survives_a_reload_of_the_page(page: Page, local_stack: LocalStack) -> None:
    # GIVEN an answer the user found helpful
    rating, session_id = answered(page)
    rating.get_by_role("button", name="Helpful", exact=True).click()
    wait_for_row(local_stack, session_id, rating="up")
    # WHEN the page is reloaded
    page.reload()
    # THEN the vote is still shown as given
    log = page.get_by_role("log", name="Conversation")
    expect(
        log.get_by_role("group", name="Rate this answer").last.get_by_role("button", name="Helpful", exact=True)
    ).to_have_attribute("aria-pressed", "true")
