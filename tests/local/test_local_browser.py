"""End to end in Chromium: the real page on the local stack, used as a user (and support staff) would.

Nothing is stubbed: the page gets guest credentials from Cognito (moto), signs its calls to the local Lex
runtime, which calls the real fulfillment handler; the page logs turns through the real API and escalates
through the real queue and sender into the SES stand-in.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Dialog, Locator, Page, expect

from local.stack import LocalStack
from tests.local.stack_helpers import admin_get, staff_tokens, wait_for_email

pytestmark = [pytest.mark.browser, pytest.mark.local_stack]


@pytest.fixture
def dialogs(page: Page) -> list[Dialog]:
    """Any alert() a script injected through user text would open (there must be none)."""
    opened: list[Dialog] = []

    def record(dialog: Dialog) -> None:
        opened.append(dialog)
        dialog.dismiss()

    page.on("dialog", record)
    return opened


def conversation(page: Page) -> Locator:
    return page.get_by_role("log", name="Conversation")


def open_chat(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("textbox", name="Your message")).to_be_editable()


def ask(page: Page, text: str) -> None:
    page.get_by_role("textbox", name="Your message").fill(text)
    page.get_by_role("button", name="Send").click()


def expect_reply(page: Page, text: str) -> None:
    expect(conversation(page).get_by_text(text, exact=True)).to_be_visible(timeout=15_000)


def test_the_customer_service_questions_are_answered(page: Page) -> None:
    open_chat(page)
    # WHEN the user asks about an order, a balance and a product
    ask(page, "What is my order status for customer 12345?")
    # THEN each is answered from the customer table or the catalogue
    expect_reply(page, "Hi John Smith! Your last order ORD-789 is currently Shipped.")
    ask(page, "Check my account balance for customer 67890")
    expect_reply(page, "Hi Jane Doe! Your current account balance is $89.23.")
    ask(page, "Tell me about your laptops")
    expect_reply(page, "Our laptops feature high-performance processors and long battery life, starting at $899.")


def test_a_question_without_the_customer_id_is_completed_over_two_turns(page: Page) -> None:
    open_chat(page)
    # WHEN the user clicks the suggestion that needs a customer id
    conversation(page).get_by_role("button", name="Where is my order?").click()
    # THEN the bot asks for it
    expect_reply(page, "Could you please provide your customer ID?")
    # WHEN the user gives it
    ask(page, "12345")
    # THEN the order is answered
    expect_reply(page, "Hi John Smith! Your last order ORD-789 is currently Shipped.")


def test_fallback_escalation_reaches_the_outbox_with_every_user_value_escaped(
    page: Page, local_stack: LocalStack, dialogs: list[Dialog]
) -> None:
    # GIVEN a question the bot cannot answer, with markup in it
    open_chat(page)
    ask(page, "<img src=x onerror=alert(1)> my monitor hums at night")
    # THEN the bot offers a person and the page shows the contact form
    form = page.get_by_role("form", name="Contact the support team")
    expect(form).to_be_visible(timeout=15_000)
    # WHEN the user leaves a name with markup and an email
    form.get_by_label("Name").fill("<b>Ada</b> <script>alert(2)</script>")
    form.get_by_label("Email").fill("ada@example.com")
    form.get_by_role("button", name="Contact support").click()
    # THEN a ticket id is shown
    note = conversation(page).get_by_text(re.compile(r"^Ticket SUP-\w{5}: our support team will email you at \S+@\S+$"))
    expect(note).to_be_visible(timeout=15_000)
    ticket = (note.text_content() or "").split()[1].rstrip(":")
    # WHEN support staff open the outbox
    email = wait_for_email(local_stack, ticket)
    page.goto("/_local/outbox")
    article = page.get_by_role("article", name=email["subject"])
    # THEN the email is listed with the user's address as Reply-To
    expect(article).to_contain_text("Reply-To")
    expect(article).to_contain_text("ada@example.com")
    # AND its body shows the user's words as text, never as markup
    body = article.frame_locator("iframe")
    expect(body.get_by_text("<b>Ada</b> <script>alert(2)</script>", exact=False)).to_be_visible()
    expect(body.get_by_text("<img src=x onerror=alert(1)>", exact=False).first).to_be_visible()
    expect(body.locator("b", has_text="Ada")).to_have_count(0)
    expect(body.locator("img")).to_have_count(0)
    assert dialogs == [], "no script from user text may run"


def test_the_turns_are_logged_with_their_intents(page: Page, local_stack: LocalStack) -> None:
    started = int(time.time() * 1000)
    open_chat(page)
    # WHEN the user has a short conversation
    ask(page, "I forgot my password")
    expect(conversation(page).get_by_text("Here is how to reset your password:")).to_be_visible(timeout=15_000)
    ask(page, "thank you")
    expect_reply(page, "You're welcome! Glad I could help. Is there anything else I can do for you?")
    # THEN the page has logged both turns with their intents (staff read them signed in, newest first)
    rows = wait_for_rows(local_stack, since=started, count=2)
    assert [row["intentName"] for row in rows] == ["ThankYouIntent", "QnAIntent"]
    assert [row["userQuery"] for row in rows] == ["thank you", "I forgot my password"]


def test_dark_mode_persists_across_a_reload(page: Page) -> None:
    open_chat(page)
    html = page.locator("html")
    # WHEN the user turns dark mode on and reloads
    page.get_by_role("button", name="Dark mode").click()
    expect(html).to_have_class(re.compile(r"\bdark\b"))
    page.reload()
    # THEN the page is still dark
    expect(html).to_have_class(re.compile(r"\bdark\b"))


def test_the_console_logs_intent_and_confidence(page: Page, console: list[ConsoleMessage]) -> None:
    open_chat(page)
    # WHEN the user asks something the bot understands
    ask(page, "Where is my order?")
    expect_reply(page, "Could you please provide your customer ID?")
    # THEN the console names the intent and its confidence from the local runtime
    lines = [formatted(m) for m in console if m.type == "info" and m.text.startswith("[chatbot] intent=")]
    assert lines, f"no intent line in the console: {[m.text for m in console]}"
    match = re.fullmatch(r"\[chatbot\] intent=(\w+) confidence=([\d.]+)", lines[-1])
    assert match is not None, lines
    assert match.group(1) == "OrderStatus"
    assert 0.4 <= float(match.group(2)) <= 1.0


def formatted(message: ConsoleMessage) -> str:
    template, *values = [arg.json_value() for arg in message.args]
    return str(template) % tuple(str(value) for value in values)


def wait_for_rows(local_stack: LocalStack, since: int, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    rows: list[dict[str, Any]] = []
    token = staff_tokens(local_stack)["id_token"]
    while time.monotonic() < deadline:
        status, page = admin_get(local_stack, "/admin/turns", token, **{"from": since})
        assert status == 200, page
        rows = page["turns"]
        if len(rows) >= count:
            return rows
        time.sleep(0.2)
    raise AssertionError(f"expected {count} query-log rows since {since}, got {rows}")
