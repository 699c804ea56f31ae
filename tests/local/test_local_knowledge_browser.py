"""The page and the whole local stack: an answer from the knowledge base shows its sources, and they open.

Playwright with Debian's Chromium (tests/conftest.py), the page served by the local stack, which indexes the
shipped guides of `knowledge/`.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from playwright.sync_api import Locator, Page, expect

from contracts.knowledge import KNOWLEDGE_INTENT_NAME, document_title
from contracts.query_log import ANSWER_SOURCES
from local.knowledge import DEFAULT_FOLDER
from local.stack import LocalStack

pytestmark = [pytest.mark.browser, pytest.mark.local_stack]

VPN_GUIDE = "s3://local-knowledge/connect-to-the-VPN.md"


def conversation(page: Page) -> Locator:
    return page.get_by_role("log", name="Conversation")


def ask(page: Page, text: str) -> None:
    page.goto("/")
    page.get_by_role("textbox", name="Your message").fill(text)
    page.get_by_role("button", name="Send").click()


def logged_turn(local_stack: LocalStack, question: str, timeout: float = 15.0) -> dict[str, Any]:
    """The query-log row of `question`, read from the table (the page logs it in the background)."""
    client = boto3.client("dynamodb", endpoint_url=local_stack.info.moto_url, region_name="us-east-1")
    deserialize = TypeDeserializer().deserialize
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in client.scan(TableName=local_stack.info.query_log_table)["Items"]:
            row = {key: deserialize(value) for key, value in item.items()}
            if row.get("userQuery") == question:
                return row
        time.sleep(0.2)
    raise AssertionError(f"no query-log row for {question!r} within {timeout} s")


def test_an_answer_from_the_guides_shows_its_source_and_the_link_opens_the_guide(
    page: Page, local_stack: LocalStack
) -> None:
    # WHEN the user asks a question no intent answers but a guide does
    ask(page, "how do I connect to the VPN")
    # THEN the answer is the guide's steps, shown as a list
    answer = conversation(page).get_by_role("listitem").filter(has_text="Open the GlobalConnect app")
    expect(answer).to_be_visible(timeout=15_000)
    # AND under it, the source: the guide's title, linking to where the stack serves it
    sources = conversation(page).get_by_role("navigation", name="Sources")
    link = sources.get_by_role("link", name=document_title(VPN_GUIDE))
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", "/knowledge/connect-to-the-VPN.md")
    # AND the link serves the guide itself
    served = page.request.get(str(link.get_attribute("href")))
    assert served.status == 200
    assert served.body() == (DEFAULT_FOLDER / "connect-to-the-VPN.md").read_bytes()
    # AND the query log records that the documents answered, and which
    row = logged_turn(local_stack, "how do I connect to the VPN")
    assert row["intentName"] == KNOWLEDGE_INTENT_NAME
    assert row[ANSWER_SOURCES] == {VPN_GUIDE}


def test_the_sources_stay_under_their_answer_after_a_reload(page: Page) -> None:
    # GIVEN an answer from a PDF guide, then an answer from an intent
    ask(page, "how do I release my print job")
    expect(conversation(page).get_by_role("link", name="Print to an office printer")).to_be_visible(timeout=15_000)
    page.get_by_role("textbox", name="Your message").fill("thank you")
    page.get_by_role("button", name="Send").click()
    expect(conversation(page).get_by_text("You're welcome!", exact=False)).to_be_visible(timeout=15_000)
    # WHEN the page is reloaded
    page.reload()
    # THEN the one answer from the documents still shows its one source, and the intent's answer shows none
    expect(conversation(page).get_by_role("navigation", name="Sources")).to_have_count(1)
    link = conversation(page).get_by_role("link", name="Print to an office printer")
    expect(link).to_have_attribute("href", "/knowledge/print-to-an-office-printer.pdf")
    assert page.request.get("/knowledge/print-to-an-office-printer.pdf").headers["content-type"] == "application/pdf"


def test_a_question_the_guides_do_not_cover_shows_no_sources(page: Page) -> None:
    ask(page, "how do I book a meeting room")
    expect(conversation(page).get_by_text("talk to a human", exact=False).first).to_be_visible(timeout=15_000)
    expect(conversation(page).get_by_role("navigation", name="Sources")).to_have_count(0)
