"""Rating an answer on the chat page (site/dist), in real Chromium against the loopback double: what the page sends,
and what it shows when the API does not save the vote. (The vote reaching the log: tests/local.)"""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.site.chat_double import SUGGESTIONS, ChatDouble

pytestmark = pytest.mark.browser


def answered(page: Page, chat: ChatDouble) -> Locator:
    """A chat where the user asked one question and the bot answered in two messages: the rating controls."""
    chat.reply_to("Where is my order?", "Your order shipped.", "Anything else?", intent="OrderStatus", confidence=0.8)
    page.goto("/")
    log = page.get_by_role("log", name="Conversation")
    expect(log.get_by_role("button", name=SUGGESTIONS[0])).to_be_visible()
    page.get_by_role("textbox", name="Your message").fill("Where is my order?")
    page.get_by_role("textbox", name="Your message").press("Enter")
    expect(log.get_by_text("Anything else?")).to_be_visible()
    return log.get_by_role("group", name="Rate this answer")


def test_an_answer_is_rated_once_under_its_last_message_with_labelled_toggle_buttons(page: Page, chat: ChatDouble):
    # GIVEN an answer of two messages
    rating = answered(page, chat)
    # THEN one group of controls rates it, two toggle buttons named for what they say, neither pressed
    expect(rating).to_have_count(1)
    expect(rating.get_by_role("button", name="Helpful", exact=True)).to_have_attribute("aria-pressed", "false")
    expect(rating.get_by_role("button", name="Not helpful")).to_have_attribute("aria-pressed", "false")


def test_a_vote_is_sent_with_the_keys_of_the_answers_query_log_row(page: Page, chat: ChatDouble):
    # GIVEN an answered question, logged by the page
    rating = answered(page, chat)
    chat.wait_for(lambda: len(chat.received("/api/store-query")) == 1, "a store-query post")
    row = chat.received("/api/store-query")[0].json()
    # WHEN the user finds it helpful
    rating.get_by_role("button", name="Helpful", exact=True).click()
    # THEN the vote names that row's session and timestamp
    chat.wait_for(lambda: len(chat.received("/api/feedback")) >= 1, "a feedback post")
    vote = chat.received("/api/feedback")[0].json()
    assert vote == {"sessionId": row["sessionId"], "timestamp": row["timestamp"], "rating": "up"}


def test_a_vote_the_api_does_not_save_is_shown_as_not_saved_and_not_pressed(page: Page, chat: ChatDouble):
    # GIVEN an API that does not know the feedback route (the double answers 404, even after a retry)
    rating = answered(page, chat)
    # WHEN the user votes
    rating.get_by_role("button", name="Not helpful").click()
    # THEN the page says the vote was not saved and shows no vote as given, and no reason is asked for
    expect(rating.get_by_role("status")).to_have_text("Your rating was not saved. Please try again.", timeout=10_000)
    expect(rating.get_by_role("button", name="Not helpful")).to_have_attribute("aria-pressed", "false")
    expect(rating.get_by_label("What was missing? (optional)")).to_be_hidden()
