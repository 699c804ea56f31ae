"""The chat page (site/dist) in real Chromium, against the loopback double of Cognito, Lex V2 and the support API."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Locator, Page, Route, ViewportSize, expect

from tests.site.chat_double import DIST, LEX_PATH, SUGGESTIONS, ChatDouble, card

pytestmark = pytest.mark.browser

FIRST_LOAD_BUDGET_BYTES = 40 * 1024
PASSWORD_STEPS = [
    'Open the sign-in page and choose "Forgot password".',
    "Enter your work email address and submit.",
    "Open the reset email and follow the link.",
]
PHONE: ViewportSize = {"width": 320, "height": 640}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
LEX_TEXT = re.compile(r"/sessions/[^/]+/text$")
IDEMPOTENCY_KEY = "idempotencyKey"  # the escalation field the page names one submission with (site/src/api.js)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def message_box(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Your message")


def conversation(page: Page) -> Locator:
    return page.get_by_role("log", name="Conversation")


def open_chat(page: Page) -> None:
    page.goto("/")
    expect(conversation(page).get_by_role("button", name=SUGGESTIONS[0])).to_be_visible()


def ask(page: Page, text: str) -> None:
    message_box(page).fill(text)
    message_box(page).press("Enter")


def lex_session_id(chat: ChatDouble) -> str:
    match = LEX_PATH.match(chat.lex_texts()[-1].path)
    assert match, "the page sent no RecognizeText request"
    return match["session"]


def test_a_question_gets_a_bot_bubble(page: Page, chat: ChatDouble) -> None:
    # GIVEN a bot that answers a greeting
    chat.reply_to("Hello", "Hi there! How can I help?", intent="Welcome", confidence=0.97)
    open_chat(page)
    # WHEN the user asks
    ask(page, "Hello")
    # THEN the question and the answer appear in the conversation
    log = conversation(page)
    expect(log.get_by_text("Hello", exact=True)).to_be_visible()
    expect(log.get_by_text("Hi there! How can I help?")).to_be_visible()
    assert chat.lex_texts()[0].json()["text"] == "Hello", "Lex received another text than the user typed"


def test_lex_requests_are_signed_with_the_guest_credentials_from_cognito(page: Page, chat: ChatDouble) -> None:
    # GIVEN the page on a fresh browser
    open_chat(page)
    # WHEN the user sends a message
    ask(page, "Hello")
    expect(conversation(page).get_by_text("Sorry, I did not understand")).to_be_visible()
    # THEN it got an identity and credentials from Cognito, and Lex saw a valid SigV4 signature for lex/us-east-1
    targets = [r.headers.get("x-amz-target") for r in chat.received("/", "POST") if r.path == "/"]
    assert targets == [
        "AWSCognitoIdentityService.GetId",
        "AWSCognitoIdentityService.GetCredentialsForIdentity",
    ], f"unexpected Cognito calls: {targets}"
    lex = chat.lex_texts()[0]
    key = next(iter(chat.issued))
    assert re.match(
        rf"AWS4-HMAC-SHA256 Credential={key}/\d{{8}}/us-east-1/lex/aws4_request, ", lex.headers["authorization"]
    )
    assert lex.headers["x-amz-security-token"] == chat.issued[key].token, "no session token header"
    assert chat.signature_problems == [], f"the double rejected the signature: {chat.signature_problems}"


def test_credentials_near_expiry_are_renewed_before_the_next_request(page: Page, chat: ChatDouble) -> None:
    # GIVEN Cognito hands out credentials that expire in 4 minutes (inside the 5-minute margin)
    chat.credential_lifetime_seconds = 240
    open_chat(page)
    ask(page, "first")
    expect(conversation(page).get_by_text("Sorry, I did not understand")).to_have_count(1)
    # WHEN the user asks again
    ask(page, "second")
    expect(conversation(page).get_by_text("Sorry, I did not understand")).to_have_count(2)
    # THEN new credentials were fetched for the same identity, and the second request was signed with them
    renewals = chat.cognito_calls("GetCredentialsForIdentity")
    assert len(renewals) == 2, f"expected a renewal before the second request, got {len(renewals)} calls"
    assert len(chat.cognito_calls("GetId")) == 1, "the identity id should be reused"
    keys = [re.search(r"Credential=([^/]+)/", r.headers["authorization"])[1] for r in chat.lex_texts()]  # type: ignore[index]
    assert keys[0] != keys[1], "the second request was signed with the old credentials"


def test_the_identity_id_is_kept_across_visits(page: Page, chat: ChatDouble) -> None:
    # GIVEN a user who chatted once
    open_chat(page)
    ask(page, "Hello")
    expect(conversation(page).get_by_text("Sorry, I did not understand")).to_be_visible()
    # WHEN they come back in a new tab of the same browser and chat again
    second = page.context.new_page()
    open_chat(second)
    ask(second, "Hello again")
    expect(conversation(second).get_by_text("Sorry, I did not understand")).to_be_visible()
    # THEN Cognito was asked for an identity once, and for credentials of that same identity
    calls = [r for r in chat.received("/", "POST") if r.path == "/"]
    get_ids = [c for c in calls if c.headers["x-amz-target"].endswith(".GetId")]
    identities = {c.json()["IdentityId"] for c in calls if c.headers["x-amz-target"].endswith("ForIdentity")}
    assert len(get_ids) == 1, f"expected one GetId, got {len(get_ids)}"
    assert len(identities) == 1, f"credentials were asked for several identities: {identities}"


def test_a_numbered_answer_renders_as_an_ordered_list(page: Page, chat: ChatDouble) -> None:
    # GIVEN a multi-step answer in numbered lines
    answer = "Here is how to reset your password:\n" + "\n".join(
        f"{n}. {step}" for n, step in enumerate(PASSWORD_STEPS, 1)
    )
    chat.reply_to("I forgot my password", answer, intent="ResetPassword", confidence=0.91)
    open_chat(page)
    # WHEN the user asks for it
    ask(page, "I forgot my password")
    # THEN the steps are the items of a real <ol>, the intro a paragraph
    ordered = conversation(page).locator("ol")
    expect(ordered).to_have_count(1)
    expect(ordered.get_by_role("listitem")).to_have_text(PASSWORD_STEPS)
    expect(conversation(page).locator("p", has_text="Here is how to reset your password:")).to_be_visible()


def test_dash_lines_render_as_a_bullet_list(page: Page, chat: ChatDouble) -> None:
    # GIVEN an answer with "- " and "• " lines
    chat.reply_to("Help", "I can help with:\n- your order status\n• our laptops\nWhat can I do for you?")
    open_chat(page)
    # WHEN the user asks
    ask(page, "Help")
    # THEN those lines are the items of a <ul>
    bullets = conversation(page).locator("ul:not([aria-label])")
    expect(bullets.get_by_role("listitem")).to_have_text(["your order status", "our laptops"])


def test_markup_in_a_bot_reply_is_shown_as_text(page: Page, chat: ChatDouble) -> None:
    # GIVEN a reply that carries HTML
    hostile = '<img src=x onerror="window.pwned=1"> <b>bold</b>'
    chat.reply_to("Show me", hostile)
    open_chat(page)
    # WHEN it arrives
    ask(page, "Show me")
    # THEN the page shows the characters and creates no element from them
    expect(conversation(page).get_by_text(hostile)).to_be_visible()
    expect(page.locator("img")).to_have_count(0)
    expect(conversation(page).locator("b")).to_have_count(0)
    assert page.evaluate("window.pwned") is None, "the reply's onerror handler ran"


def test_markup_typed_by_the_user_is_shown_as_text(page: Page, chat: ChatDouble) -> None:
    # GIVEN the page
    open_chat(page)
    # WHEN the user types HTML
    ask(page, "<i>hi</i>")
    # THEN their bubble shows it literally
    expect(conversation(page).get_by_text("<i>hi</i>")).to_be_visible()
    expect(conversation(page).locator("i")).to_have_count(0)


def test_clicking_a_suggestion_asks_that_question(page: Page, chat: ChatDouble) -> None:
    # GIVEN the welcome message with the configured suggestions
    chat.reply_to("Where is my order?", "Could you please provide your customer ID?", intent="OrderStatus")
    open_chat(page)
    # WHEN the user clicks one
    conversation(page).get_by_role("button", name="Where is my order?").click()
    # THEN it is sent as their question and answered
    expect(conversation(page).get_by_text("Could you please provide your customer ID?")).to_be_visible()
    assert chat.lex_texts()[0].json()["text"] == "Where is my order?"


def test_the_console_shows_intent_and_confidence(page: Page, chat: ChatDouble, console: list[ConsoleMessage]) -> None:
    # GIVEN a reply whose interpretation carries a confidence, then one without
    chat.reply_to("Where is my order?", "Your order shipped.", intent="OrderStatus", confidence=0.93)
    chat.reply_to("Thanks", "You're welcome!", intent="ThankYouIntent")
    open_chat(page)
    # WHEN both replies arrive
    ask(page, "Where is my order?")
    expect(conversation(page).get_by_text("Your order shipped.")).to_be_visible()
    ask(page, "Thanks")
    expect(conversation(page).get_by_text("You're welcome!")).to_be_visible()
    # THEN the console names each intent and its confidence ("n/a" when Lex gave none)
    lines = [formatted(m) for m in console if m.type == "info" and m.text.startswith("[chatbot] intent=")]
    assert lines == [
        "[chatbot] intent=OrderStatus confidence=0.93",
        "[chatbot] intent=ThankYouIntent confidence=n/a",
    ], f"console lines: {lines}"


def formatted(message: ConsoleMessage) -> str:
    """The line as DevTools shows it: console.info's %s placeholders filled with the arguments."""
    template, *values = [arg.json_value() for arg in message.args]
    return str(template) % tuple(str(value) for value in values)


def test_session_attributes_from_lex_are_sent_back(page: Page, chat: ChatDouble) -> None:
    # GIVEN a reply that sets a session attribute
    chat.reply_to("Where is my order?", "Your customer ID?", intent="OrderStatus", attributes={"lastIntent": "Order"})
    open_chat(page)
    ask(page, "Where is my order?")
    expect(conversation(page).get_by_text("Your customer ID?")).to_be_visible()
    # WHEN the user answers
    ask(page, "12345")
    expect(conversation(page).get_by_text("Sorry, I did not understand")).to_be_visible()
    # THEN the next request carries the attribute back
    sent = chat.lex_texts()[1].json()
    assert sent["sessionState"]["sessionAttributes"] == {"lastIntent": "Order"}, f"second request: {sent}"


def escalation_offer(chat: ChatDouble) -> None:
    chat.reply_to(
        "My laptop will not boot",
        "I could not solve this. Shall our support team contact you?",
        intent="FallbackIntent",
        attributes={"escalationOffered": "true"},
    )


def test_the_escalation_form_posts_the_conversation_and_shows_the_ticket(page: Page, chat: ChatDouble) -> None:
    # GIVEN a reply that offers escalation
    escalation_offer(chat)
    open_chat(page)
    ask(page, "My laptop will not boot")
    form = page.get_by_role("form", name="Contact the support team")
    # WHEN the user leaves their name and email
    form.get_by_label("Name").fill("Ada Lovelace")
    form.get_by_label("Email").fill("ada@example.com")
    form.get_by_role("button", name="Contact support").click()
    # THEN the ticket is confirmed with its reference and the reply address, and the form is gone
    expect(
        conversation(page).get_by_text("Ticket T-1001: our support team will email you at ada@example.com")
    ).to_be_visible()
    expect(form).to_have_count(0)
    # AND the API received the seed's payload: who, what, and the conversation oldest first
    (request,) = chat.received("/api/escalate")
    payload = request.json()
    assert request.headers["content-type"] == "application/json"
    history = payload.pop("conversationHistory")
    assert UUID.match(payload.pop(IDEMPOTENCY_KEY)), f"no random idempotency key in {request.json()}"
    assert payload == {
        "sessionId": lex_session_id(chat),
        "userQuery": "My laptop will not boot",
        "userEmail": "ada@example.com",
        "userName": "Ada Lovelace",
    }
    assert [(turn["role"], turn["text"]) for turn in history] == [
        ("user", "My laptop will not boot"),
        ("bot", "I could not solve this. Shall our support team contact you?"),
    ]
    stamps = [turn["timestamp"] for turn in history]
    assert all(isinstance(t, int) for t in stamps), f"timestamps are not integer epoch ms: {stamps}"
    assert stamps == sorted(stamps), f"history is not oldest first: {stamps}"


def test_a_pending_escalation_form_survives_a_reload(page: Page, chat: ChatDouble) -> None:
    # GIVEN an escalation offer the user has not answered yet
    escalation_offer(chat)
    open_chat(page)
    ask(page, "My laptop will not boot")
    expect(page.get_by_role("form", name="Contact the support team")).to_be_visible()
    # WHEN the tab reloads
    page.reload()
    # THEN the form is still offered after the restored conversation
    expect(conversation(page).get_by_text("I could not solve this.")).to_be_visible()
    expect(page.get_by_role("form", name="Contact the support team")).to_be_visible()


def test_the_escalation_form_checks_fields_before_posting(page: Page, chat: ChatDouble) -> None:
    # GIVEN the escalation form
    escalation_offer(chat)
    open_chat(page)
    ask(page, "My laptop will not boot")
    form = page.get_by_role("form", name="Contact the support team")
    # WHEN the user submits a bad email and no name
    form.get_by_label("Email").fill("not-an-email")
    form.get_by_role("button", name="Contact support").click()
    # THEN both fields say why, and nothing was posted
    expect(form.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_text("Please enter your name.")).to_be_visible()
    expect(form.get_by_text("Enter an email address like name@example.com.")).to_be_visible()
    assert chat.received("/api/escalate") == []


def test_escalation_errors_from_the_api_show_next_to_the_fields(page: Page, chat: ChatDouble) -> None:
    # GIVEN an API that refuses the email address
    escalation_offer(chat)
    chat.escalate_answer = (
        422,
        {"message": "invalid request", "errors": [{"field": "userEmail", "reason": "domain does not accept mail"}]},
    )
    open_chat(page)
    ask(page, "My laptop will not boot")
    form = page.get_by_role("form", name="Contact the support team")
    # WHEN the user submits
    form.get_by_label("Name").fill("Ada")
    form.get_by_label("Email").fill("ada@example.invalid")
    form.get_by_role("button", name="Contact support").click()
    # THEN the API's reason is shown under the email field, which is marked invalid
    email = form.get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description("domain does not accept mail")


def test_a_phone_viewport_has_no_horizontal_scroll(page: Page, chat: ChatDouble) -> None:
    # GIVEN a 320 px wide phone
    page.set_viewport_size(PHONE)
    question = "Hello " + "x" * 120
    chat.reply_to(question, "A-very-long-unbroken-token-" * 8 + "\n1. step one\n2. step two")
    open_chat(page)
    # WHEN a conversation with long words is on screen
    ask(page, question)
    expect(conversation(page).locator("ol")).to_be_visible()
    # THEN nothing is wider than the screen
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"scrollWidth {widths[0]} > clientWidth {widths[1]}"


def test_keyboard_alone_sends_a_message_and_toggles_dark_mode(page: Page, chat: ChatDouble) -> None:
    # GIVEN the page and a user without a mouse
    chat.reply_to("Hello", "Hi there!")
    open_chat(page)
    # WHEN they Tab to the message box, type and press Enter
    tab_to(page, message_box(page))
    page.keyboard.type("Hello")
    page.keyboard.press("Enter")
    # THEN the answer arrives and the focus is back in the message box, with a visible focus ring
    expect(conversation(page).get_by_text("Hi there!")).to_be_visible()
    expect(message_box(page)).to_be_focused()
    # WHEN they Tab to the dark mode toggle and press Space
    toggle = page.get_by_role("button", name="Dark mode")
    tab_to(page, toggle)
    outline = toggle.evaluate("el => getComputedStyle(el).outlineStyle")
    page.keyboard.press("Space")
    # THEN dark mode is on, and the focused toggle showed a focus ring
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
    assert outline != "none", "the focused toggle has no visible focus ring"


def tab_to(page: Page, target: Locator, limit: int = 20) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    pytest.fail(f"{target} cannot be reached with Tab in {limit} presses")


def test_dark_mode_is_remembered_and_applied_before_the_app_runs(page: Page, chat: ChatDouble) -> None:
    # GIVEN a user who turned dark mode on
    page.emulate_media(color_scheme="light")
    open_chat(page)
    page.get_by_role("button", name="Dark mode").click()
    # WHEN the page loads again with the app script blocked (only theme-init.js can act before first paint)
    page.route(re.compile(r"/assets/app-[0-9a-f]+\.js$"), lambda route: route.abort())
    page.reload()
    # THEN the page is dark already: the class is on <html> and the body paints dark
    expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert lightness(background) < 0.3, f"body background {background} is not dark"
    # AND theme-init.js is a blocking script in <head>, ahead of the stylesheet, right after config.js (whose accent
    # colour it applies before first paint too)
    order = page.evaluate(
        """[...document.head.querySelectorAll('script, link[rel=stylesheet]')]
             .map(e => (e.getAttribute('src') || '').replace(/^assets\\/|-[0-9a-f]+(?=\\.js$)/g, '') + ' ' + e.tagName
               + (e.type ? ':' + e.type : '') + (e.defer || e.async ? ':deferred' : ''))"""
    )
    assert order[:3] == ["config.js SCRIPT", "theme-init.js SCRIPT", " LINK"], f"head order: {order}"


def test_dark_mode_defaults_to_the_system_preference(page: Page, chat: ChatDouble) -> None:
    # GIVEN a system in dark mode and no saved choice
    page.emulate_media(color_scheme="dark")
    # WHEN the page opens
    open_chat(page)
    # THEN it is dark and the toggle says so
    expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
    expect(page.get_by_role("button", name="Dark mode")).to_have_attribute("aria-pressed", "true")


def lightness(css_color: str) -> float:
    """0 (black) to 1 (white), from the oklch() Tailwind 4 colours compute to, or rgb()."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css_color)]
    if css_color.startswith("oklch("):
        return numbers[0]
    red, green, blue = (n / 255 for n in numbers[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_each_reply_is_posted_to_the_query_log(page: Page, chat: ChatDouble) -> None:
    # GIVEN a scripted answer
    chat.reply_to("Where is my order?", "Your order shipped.", "Anything else?", intent="OrderStatus", confidence=0.8)
    open_chat(page)
    # WHEN the user asks
    ask(page, "Where is my order?")
    # THEN the query log receives the turn: who, when, what was asked and answered, intent and confidence
    chat.wait_for(lambda: len(chat.received("/api/store-query")) == 1, "a store-query post")
    row = chat.received("/api/store-query")[0].json()
    timestamp = row.pop("timestamp")
    assert isinstance(timestamp, int), f"timestamp {timestamp!r} is not integer epoch ms"
    assert row == {
        "sessionId": lex_session_id(chat),
        "userQuery": "Where is my order?",
        "botResponse": "Your order shipped.\nAnything else?",
        "confidenceScore": 0.8,
        "intentName": "OrderStatus",
    }


def test_a_failed_query_log_post_is_kept_and_sent_on_the_next_turn(page: Page, chat: ChatDouble) -> None:
    # GIVEN a query log that fails once with a 503
    chat.store_query_statuses.extend([503])
    open_chat(page)
    ask(page, "first question")
    chat.wait_for(lambda: len(chat.received("/api/store-query")) == 1, "the first store-query post")
    expect(conversation(page).get_by_text("Sorry, I did not understand")).to_be_visible()
    # WHEN the user asks again
    ask(page, "second question")
    # THEN the first row is posted again, then the second, and nothing stays queued
    chat.wait_for(lambda: len(chat.received("/api/store-query")) == 3, "the retried and the new post")
    queries = [r.json()["userQuery"] for r in chat.received("/api/store-query")]
    assert queries == ["first question", "first question", "second question"], f"posts: {queries}"
    assert page.evaluate("localStorage.getItem('chatbot.pendingQueries')") == "[]"


def test_a_query_log_row_lost_offline_is_sent_when_the_browser_is_back_online(page: Page, chat: ChatDouble) -> None:
    # GIVEN the store-query post dies on the network (the chat itself got through)
    open_chat(page)
    page.route("**/api/store-query", lambda route: route.abort("internetdisconnected"))
    ask(page, "first question")
    expect(conversation(page).get_by_text("Sorry, I did not understand")).to_be_visible()
    page.wait_for_function("JSON.parse(localStorage.getItem('chatbot.pendingQueries') || '[]').length === 1")
    page.unroute("**/api/store-query")
    # WHEN the browser goes offline and back online
    page.context.set_offline(True)
    page.context.set_offline(False)
    # THEN the kept row is posted without a new question
    chat.wait_for(lambda: len(chat.received("/api/store-query")) == 1, "the post after the online event")
    assert chat.received("/api/store-query")[0].json()["userQuery"] == "first question"


def test_a_query_log_row_that_failed_is_sent_on_the_next_visit(page: Page, chat: ChatDouble) -> None:
    # GIVEN a row that could not be posted (503) when the user left
    chat.store_query_statuses.extend([503])
    open_chat(page)
    ask(page, "first question")
    chat.wait_for(lambda: len(chat.received("/api/store-query")) == 1, "the failing store-query post")
    # WHEN the page loads again
    page.reload()
    # THEN the row is posted again without a new question
    chat.wait_for(lambda: len(chat.received("/api/store-query")) == 2, "the retry on load")
    assert chat.received("/api/store-query")[1].json()["userQuery"] == "first question"


def test_a_query_log_row_refused_with_a_4xx_is_not_retried(page: Page, chat: ChatDouble) -> None:
    # GIVEN a query log that refuses the first row as invalid
    chat.store_query_statuses.extend([400])
    open_chat(page)
    ask(page, "first question")
    chat.wait_for(lambda: len(chat.received("/api/store-query")) == 1, "the refused post")
    # WHEN the user asks again
    ask(page, "second question")
    chat.wait_for(lambda: len(chat.received("/api/store-query")) == 2, "the second post")
    # THEN only the new row is posted: the refused one was dropped (and logged), not queued
    queries = [r.json()["userQuery"] for r in chat.received("/api/store-query")]
    assert queries == ["first question", "second question"], f"posts: {queries}"


def test_the_counter_appears_near_the_limit_and_the_input_is_capped(page: Page, chat: ChatDouble) -> None:
    # GIVEN the page
    open_chat(page)
    box = message_box(page)
    counter = page.get_by_text(re.compile(r"characters left"))
    # WHEN the message is 900 characters long, no counter; at 950 it shows what is left
    box.fill("a" * 900)
    expect(counter).to_be_hidden()
    box.fill("a" * 950)
    expect(counter).to_have_text("74 of 1024 characters left")
    # WHEN the user types past the limit
    box.press("End")
    page.keyboard.type("b" * 100)
    # THEN the message stops at 1024 characters
    expect(counter).to_have_text("0 of 1024 characters left")
    assert len(box.input_value()) == 1024


def test_throttling_shows_an_error_with_a_retry_button_that_resends(page: Page, chat: ChatDouble) -> None:
    # GIVEN Lex throttles the next three attempts (the client retries twice by itself)
    chat.lex_statuses.extend([(429, "ThrottlingException")] * 3)
    chat.reply_to("Hello", "Hi there!")
    open_chat(page)
    # WHEN the user asks
    ask(page, "Hello")
    # THEN the page says the assistant is busy and offers Retry; the composer is usable again
    alert = page.get_by_role("alert").filter(has_text="busy")
    expect(alert).to_be_visible()
    expect(message_box(page)).to_be_enabled()
    assert len(chat.lex_texts()) == 3, "expected three bounded attempts"
    # WHEN the user retries
    alert.get_by_role("button", name="Retry").click()
    # THEN the same question is answered and the error is gone
    expect(conversation(page).get_by_text("Hi there!")).to_be_visible()
    expect(alert).to_be_hidden()
    assert [r.json()["text"] for r in chat.lex_texts()] == ["Hello"] * 4


def test_a_lex_error_shows_an_error_with_retry(page: Page, chat: ChatDouble) -> None:
    # GIVEN Lex answers 400 (not retried)
    chat.lex_statuses.append((400, "BadRequestException"))
    open_chat(page)
    # WHEN the user asks
    ask(page, "Hello")
    # THEN the page says it could not answer, with Retry, after one attempt
    alert = page.get_by_role("alert").filter(has_text="could not answer")
    expect(alert.get_by_role("button", name="Retry")).to_be_visible()
    assert len(chat.lex_texts()) == 1


def test_the_network_down_shows_an_offline_error(page: Page, chat: ChatDouble) -> None:
    # GIVEN the page loaded, then the network went away
    open_chat(page)
    page.context.set_offline(True)
    # WHEN the user asks
    ask(page, "Hello")
    # THEN the page says so and offers Retry
    alert = page.get_by_role("alert").filter(has_text="offline")
    expect(alert.get_by_role("button", name="Retry")).to_be_visible()
    # WHEN the network is back and the user retries
    page.context.set_offline(False)
    alert.get_by_role("button", name="Retry").click()
    # THEN the question is answered
    expect(conversation(page).get_by_text("Sorry, I did not understand")).to_be_visible()


def hold_lex(page: Page, count: int = 1) -> list[Route]:
    """Hold the page's first `count` RecognizeText requests (the test lets them go); later ones pass."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        if len(held) < count:
            held.append(route)
        else:
            route.continue_()

    page.route(LEX_TEXT, hold)
    return held


def wait_until_held(page: Page, held: list[Route], count: int = 1) -> None:
    for _ in range(250):  # the route handler runs when Playwright next dispatches events
        if len(held) >= count:
            return
        page.wait_for_timeout(20)
    pytest.fail(f"expected {count} held Lex request(s), got {len(held)}")


def test_the_composer_stays_usable_while_the_bot_answers(page: Page, chat: ChatDouble) -> None:
    # GIVEN a Lex that takes a moment (the route holds the request until the test lets it go)
    open_chat(page)
    held = hold_lex(page)
    # WHEN the user sends a message
    ask(page, "Hello")
    wait_until_held(page, held)
    # THEN the typing indicator shows, and the message box and Send button stay usable, with the cursor in the box
    expect(page.get_by_role("status").filter(has_text="typing")).to_be_visible()
    expect(message_box(page)).to_be_editable()
    expect(message_box(page)).to_be_focused()
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    # WHEN the answer comes
    held[0].continue_()
    # THEN the indicator goes
    expect(conversation(page).get_by_text("Sorry, I did not understand")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="typing")).to_be_hidden()


def test_messages_typed_while_the_bot_answers_are_sent_one_by_one_in_order(page: Page, chat: ChatDouble) -> None:
    # GIVEN a bot with an answer for each of three messages, and a first answer that takes a while
    for n in ("one", "two", "three"):
        chat.reply_to(f"question {n}", f"answer {n}")
    open_chat(page)
    held = hold_lex(page)
    ask(page, "question one")
    wait_until_held(page, held)
    # WHEN the user types two more messages before the first answer
    ask(page, "question two")
    ask(page, "question three")
    # THEN both show at once as waiting, and nothing more reached Lex
    waiting = page.get_by_role("list", name="Waiting to be sent").get_by_role("listitem")
    expect(waiting).to_have_count(2)
    expect(waiting.nth(0)).to_contain_text("question two")
    expect(waiting.nth(1)).to_contain_text("question three")
    assert chat.lex_texts() == [], "a typed-ahead message went out before the first was answered"
    # WHEN the first answer comes
    held[0].continue_()
    # THEN the queue is sent in order, each after the answer before it, and the conversation reads in that order
    expect(conversation(page).get_by_text("answer three")).to_be_visible()
    expect(waiting).to_have_count(0)
    bubbles = conversation(page).locator("p").filter(has_text=re.compile(r"^(question|answer) "))
    expect(bubbles).to_have_text(
        ["question one", "answer one", "question two", "answer two", "question three", "answer three"]
    )
    sent = [r.json()["text"] for r in chat.lex_texts()]
    assert sent == ["question one", "question two", "question three"], f"Lex received {sent}"


def test_a_reload_restores_the_conversation(page: Page, chat: ChatDouble) -> None:
    # GIVEN a conversation
    chat.reply_to("Hello", "Hi there!")
    open_chat(page)
    ask(page, "Hello")
    expect(conversation(page).get_by_text("Hi there!")).to_be_visible()
    first_session = lex_session_id(chat)
    # WHEN the tab reloads and the user goes on
    page.reload()
    expect(conversation(page).get_by_text("Hi there!")).to_be_visible()
    ask(page, "Hello")
    expect(conversation(page).get_by_text("Hi there!")).to_have_count(2)
    # THEN the same Lex session continues
    assert lex_session_id(chat) == first_session


def test_new_conversation_clears_the_transcript_and_deletes_the_lex_session(page: Page, chat: ChatDouble) -> None:
    # GIVEN a conversation
    chat.reply_to("Hello", "Hi there!")
    open_chat(page)
    ask(page, "Hello")
    expect(conversation(page).get_by_text("Hi there!")).to_be_visible()
    old_session = lex_session_id(chat)
    # WHEN the user starts a new one
    page.get_by_role("button", name="New conversation").click()
    # THEN the transcript is empty, Lex forgets the old session, and the next question uses a new one
    expect(conversation(page).get_by_text("Hi there!")).to_have_count(0)
    chat.wait_for(lambda: len(chat.received("/bots/", "DELETE")) == 1, "DeleteSession")
    assert chat.received("/bots/", "DELETE")[0].path.endswith(f"/sessions/{old_session}")
    ask(page, "Hello")
    expect(conversation(page).get_by_text("Hi there!")).to_be_visible()
    assert lex_session_id(chat) != old_session


def test_a_missing_config_tells_the_user_the_chat_is_unavailable_and_logs_why(
    page: Page, chat: ChatDouble, console: list[ConsoleMessage]
) -> None:
    # GIVEN a config.js without the bot's ids
    chat.config = {"region": "us-east-1"}
    # WHEN the page opens
    page.goto("/")
    # THEN the user reads that the chat is unavailable, in plain words, and the controls that need the bot are locked
    alert = page.get_by_role("alert").filter(has_text="not available")
    expect(alert).to_have_text("Sorry, the chat is not available right now. Please try again later.")
    expect(message_box(page)).to_be_disabled()
    expect(page.get_by_role("button", name="Talk to a person")).to_be_disabled()
    # AND the console tells whoever runs the site what is wrong and where
    errors = [m.text for m in console if m.type == "error"]
    assert any("config.js" in e and "botId" in e for e in errors), f"no config detail in the console: {errors}"


def test_the_page_runs_under_a_strict_content_security_policy(
    page: Page, chat: ChatDouble, console: list[ConsoleMessage]
) -> None:
    # GIVEN the server's CSP forbids inline scripts and styles
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    # WHEN the page opens, chats and toggles the theme
    open_chat(page)
    ask(page, "Hello")
    expect(conversation(page).get_by_text("Sorry, I did not understand")).to_be_visible()
    page.get_by_role("button", name="Dark mode").click()
    # THEN the browser reported no violation
    assert violations == [], f"CSP violations: {violations}"


def test_the_first_load_fits_the_budget(built_site: Path) -> None:
    # GIVEN the built site
    size = json.loads((built_site / "size.json").read_text())
    html = (built_site / "index.html").read_text()
    assets = re.findall(r'(?:src|href)="(assets/[^"]+)"', html)
    # WHEN its first load is measured again (HTML + every asset it references + the recorded config.js)
    measured = {"index.html": gzipped(built_site / "index.html")} | {a: gzipped(built_site / a) for a in assets}
    total = sum(measured.values()) + size["files"]["config.js"]
    # THEN the total is within 40 KB gzipped, and size.json agrees (zlib builds differ by a few bytes)
    assert len(assets) == 4, f"index.html should reference app JS, app CSS, theme-init JS and the favicon: {assets}"
    assert total <= FIRST_LOAD_BUDGET_BYTES, f"first load is {total} B gzipped, over {FIRST_LOAD_BUDGET_BYTES} B"
    recorded = size["firstLoadGzipBytes"]
    assert abs(total - recorded) <= total * 0.01, f"size.json says {recorded} B, measured {total} B"


AXE = DIST.parent / "node_modules" / "axe-core" / "axe.min.js"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_page_has_no_wcag_aa_violations(page: Page, chat: ChatDouble, theme: str) -> None:
    # GIVEN a conversation with a list answer, quick replies, an escalation form showing field errors and the ticket
    # limit, and an error banner
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make site` (axe-core is a dev dependency of site/)")
    page.emulate_media(color_scheme=theme)  # type: ignore[arg-type]
    chat.reply_to("I forgot my password", "Here is how:\n1. Open the page\n2. Choose a password\n- tip: use 12+ chars")
    chat.reply_to("Tell me about products", card("Which product?", ("Laptops", "laptop"), subtitle="Pick one"))
    chat.escalate_answers.append((429, {"message": "limit", "limit": 3, "windowSeconds": 3600}, {}))
    escalation_offer(chat)
    open_chat(page)
    ask(page, "I forgot my password")
    ask(page, "Tell me about products")
    expect(conversation(page).get_by_role("button", name="Laptops", exact=True)).to_be_visible()
    ask(page, "My laptop will not boot")
    page.get_by_role("button", name="Contact support").click()
    form = page.get_by_role("form", name="Contact the support team")
    form.get_by_label("Name").fill("Ada")
    form.get_by_label("Email").fill("ada@example.com")
    form.get_by_role("button", name="Contact support").click()
    expect(form.get_by_text("reached that limit")).to_be_visible()
    chat.lex_statuses.append((400, "BadRequestException"))
    ask(page, "Hello")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    # WHEN axe-core checks it against WCAG 2.1 A and AA (contrast included)
    # THEN there is no violation
    assert axe_violations(page) == [], f"{theme} theme"
    # AND WHEN the bot is answering and the user has typed ahead, there is none either
    held = hold_lex(page)
    ask(page, "first")
    wait_until_held(page, held)
    ask(page, "typed ahead")
    expect(page.get_by_role("list", name="Waiting to be sent")).to_be_visible()
    assert axe_violations(page) == [], f"{theme} theme, typing ahead"
    held[0].continue_()


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A and AA violations on the page as it is, one line each."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # evaluated by the test harness, so the page's CSP does not apply
    result = page.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})")
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in result["violations"]]


def gzipped(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_screenshots_for_review(
    page: Page, chat: ChatDouble, artifacts_dir: Path, theme: str, viewport: ViewportSize
) -> None:
    # GIVEN a conversation with a list answer, quick replies and an escalation offer, in each theme and size
    page.set_viewport_size(viewport)
    page.emulate_media(color_scheme=theme)  # type: ignore[arg-type]
    chat.reply_to(
        "I forgot my password", "Here is how:\n" + "\n".join(f"{n}. {s}" for n, s in enumerate(PASSWORD_STEPS, 1))
    )
    chat.reply_to("Tell me about products", card("Which product?", ("Laptops", "laptop"), ("Mobile phones", "phone")))
    escalation_offer(chat)
    open_chat(page)
    ask(page, "I forgot my password")
    expect(conversation(page).locator("ol")).to_be_visible()
    ask(page, "Tell me about products")
    expect(conversation(page).get_by_role("button", name="Laptops", exact=True)).to_be_visible()
    ask(page, "My laptop will not boot")
    expect(page.get_by_role("form", name="Contact the support team")).to_be_visible()
    # WHEN a screenshot is taken
    name = "desktop" if viewport == DESKTOP else "phone"
    path = artifacts_dir / f"chat-{name}-{theme}.png"
    page.screenshot(path=str(path))
    # THEN it was written, in the theme asked for
    assert path.stat().st_size > 0
    expect(page.locator("html")).to_have_class(
        re.compile(r"\bdark\b") if theme == "dark" else re.compile(r"^(?!.*dark)")
    )


# --- the page keeps up with the user -----------------------------------------------------------------------------


def talk_to_a_person(page: Page) -> Locator:
    return page.get_by_role("banner").get_by_role("button", name="Talk to a person")


def test_talk_to_a_person_is_always_visible_and_opens_the_contact_form(page: Page, chat: ChatDouble) -> None:
    # GIVEN the page, before the bot offered anything
    chat.reply_to("Hello", "Hi there!", intent="Welcome")
    open_chat(page)
    expect(talk_to_a_person(page)).to_be_visible()
    ask(page, "Hello")
    expect(conversation(page).get_by_text("Hi there!")).to_be_visible()
    # WHEN, after an answer that offered no person, the user asks for one
    expect(talk_to_a_person(page)).to_be_visible()
    talk_to_a_person(page).click()
    # THEN the contact form opens with the cursor in its first empty field and their last question prefilled
    form = page.get_by_role("form", name="Contact the support team")
    expect(form.get_by_label("Name")).to_be_focused()
    expect(form.get_by_label("What do you need help with?")).to_have_value("Hello")
    # WHEN they fill it in and send it
    form.get_by_label("What do you need help with?").fill("I need an invoice copy")
    form.get_by_label("Name").fill("Ada Lovelace")
    form.get_by_label("Email").fill("ada@example.com")
    form.get_by_role("button", name="Contact support").click()
    # THEN a ticket is opened with the question they wrote
    expect(conversation(page).get_by_text("Ticket T-1001: our support team will email you")).to_be_visible()
    assert chat.received("/api/escalate")[0].json()["userQuery"] == "I need an invoice copy"


def test_a_form_the_user_opened_stays_when_the_bot_answers_without_an_offer(page: Page, chat: ChatDouble) -> None:
    # GIVEN the contact form opened with "Talk to a person"
    open_chat(page)
    talk_to_a_person(page).click()
    form = page.get_by_role("form", name="Contact the support team")
    expect(form).to_be_visible()
    # WHEN the user chats on and the bot answers without offering a person
    ask(page, "Hello")
    expect(conversation(page).get_by_text("Sorry, I did not understand")).to_be_visible()
    # THEN the form is still there
    expect(form).to_be_visible()


def test_response_card_buttons_show_their_text_and_send_their_value(page: Page, chat: ChatDouble) -> None:
    # GIVEN a bot that asks for a product with a response card
    chat.reply_to(
        "Tell me about your products",
        "We sell laptops, phones and accessories.",
        card("Which product?", ("Laptops", "laptop"), ("Mobile phones", "smartphone"), subtitle="Pick one"),
        intent="ProductInfo",
    )
    chat.reply_to("smartphone", "Our phones have great cameras.", intent="ProductInfo")
    open_chat(page)
    ask(page, "Tell me about your products")
    # THEN the card's title, subtitle and buttons show as quick replies
    replies = conversation(page).get_by_role("list", name="Quick replies")
    expect(conversation(page).get_by_text("Which product?")).to_be_visible()
    expect(conversation(page).get_by_text("Pick one")).to_be_visible()
    expect(replies.get_by_role("button")).to_have_text(["Laptops", "Mobile phones"])
    # WHEN the user clicks one
    replies.get_by_role("button", name="Mobile phones").click()
    # THEN the conversation shows its text, Lex receives its value, and the quick replies are spent
    expect(conversation(page).get_by_text("Our phones have great cameras.")).to_be_visible()
    expect(conversation(page).locator(".bubble-user p")).to_have_text(["Tell me about your products", "Mobile phones"])
    assert chat.lex_texts()[-1].json()["text"] == "smartphone"
    expect(replies.get_by_role("button", name="Laptops", exact=True)).to_be_disabled()
    expect(message_box(page)).to_be_focused()
    # AND the query log records the card's title among the bot's words, and what Lex was sent
    chat.wait_for(lambda: len(chat.received("/api/store-query")) == 2, "two store-query posts")
    rows = [r.json() for r in chat.received("/api/store-query")]
    assert rows[0]["botResponse"] == "We sell laptops, phones and accessories.\nWhich product?", rows[0]
    assert rows[1]["userQuery"] == "smartphone", rows[1]


def test_response_card_buttons_work_from_the_keyboard(page: Page, chat: ChatDouble) -> None:
    # GIVEN a card with two buttons on screen
    chat.reply_to("products", card("Which product?", ("Laptops", "laptop"), ("Tablets", "tablet")))
    chat.reply_to("tablet", "Our tablets are light.")
    open_chat(page)
    ask(page, "products")
    # WHEN a user without a mouse tabs to a button and presses Enter
    tab_to(page, conversation(page).get_by_role("button", name="Tablets"))
    page.keyboard.press("Enter")
    # THEN its value is sent
    expect(conversation(page).get_by_text("Our tablets are light.")).to_be_visible()
    assert chat.lex_texts()[-1].json()["text"] == "tablet"


def test_a_confirmation_offers_yes_and_no(page: Page, chat: ChatDouble) -> None:
    # GIVEN a bot that asks to confirm, with no card of its own
    chat.reply_to("Reset my password", "Shall I send a reset link to your email?", dialog_action="ConfirmIntent")
    chat.reply_to("yes", "Done: check your inbox.")
    open_chat(page)
    ask(page, "Reset my password")
    # WHEN the user clicks Yes
    conversation(page).get_by_role("list", name="Quick replies").get_by_role("button", name="Yes").click()
    # THEN "yes" is sent
    expect(conversation(page).get_by_text("Done: check your inbox.")).to_be_visible()
    assert chat.lex_texts()[-1].json()["text"] == "yes"


def test_suggestions_come_back_after_a_new_conversation(page: Page, chat: ChatDouble) -> None:
    # GIVEN a conversation started from a suggestion
    chat.reply_to(SUGGESTIONS[2], "Here is how to reset it.")
    chat.reply_to(SUGGESTIONS[0], "Could you please provide your customer ID?")
    open_chat(page)
    conversation(page).get_by_role("button", name=SUGGESTIONS[2]).click()
    expect(conversation(page).get_by_text("Here is how to reset it.")).to_be_visible()
    # WHEN the user starts a new conversation
    page.get_by_role("button", name="New conversation").click()
    # THEN every suggestion is offered again, usable, and asks its question in the new session
    suggested = conversation(page).get_by_role("list", name="Suggested questions").get_by_role("button")
    expect(suggested).to_have_text(SUGGESTIONS)
    suggested.first.click()
    expect(conversation(page).get_by_text("Could you please provide your customer ID?")).to_be_visible()
    assert chat.lex_texts()[-1].json()["text"] == SUGGESTIONS[0]


def test_the_message_box_has_focus_on_load(page: Page, chat: ChatDouble) -> None:
    # WHEN the page opens
    open_chat(page)
    # THEN the user can type at once
    expect(message_box(page)).to_be_focused()


def test_each_message_carries_its_time_readable_on_hover(page: Page, chat: ChatDouble) -> None:
    # GIVEN a question and its answer
    chat.reply_to("Hello", "Hi there!")
    open_chat(page)
    before = page.evaluate("Date.now()")
    ask(page, "Hello")
    expect(conversation(page).get_by_text("Hi there!")).to_be_visible()
    after = page.evaluate("Date.now()")
    # THEN each bubble has a <time> whose datetime is when it was said and whose title spells out the date
    times = conversation(page).locator("time")
    expect(times).to_have_count(2)
    for index in range(2):
        stamp = times.nth(index)
        when = page.evaluate("s => Date.parse(s)", stamp.get_attribute("datetime"))
        assert before - 1000 <= when <= after + 1000, f"datetime {stamp.get_attribute('datetime')} is not now"
        year = page.evaluate("ms => String(new Date(ms).getFullYear())", when)
        expect(stamp).to_have_attribute("title", re.compile(year))
        expect(stamp).to_have_text(re.compile(r"\d{1,2}:\d{2}"))


def test_a_phone_header_keeps_a_labelled_new_chat_and_the_whole_subtitle(page: Page, chat: ChatDouble) -> None:
    # GIVEN a 320 px wide phone
    page.set_viewport_size(PHONE)
    # WHEN the page opens
    open_chat(page)
    # THEN "New chat" and "Talk to a person" are buttons with visible labels
    header = page.get_by_role("banner")
    new_chat = header.get_by_role("button", name="New chat")
    expect(new_chat.get_by_text("New chat", exact=True)).to_be_visible()
    expect(talk_to_a_person(page).get_by_text("Talk to a person", exact=True)).to_be_visible()
    # AND the subtitle is shown whole: not clipped, not ellipsed, inside the screen
    subtitle = header.get_by_text("Orders, billing, products and IT help")
    expect(subtitle).to_be_in_viewport(ratio=1)
    clipped = subtitle.evaluate(
        "el => el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight"
        " || getComputedStyle(el).textOverflow === 'ellipsis'"
    )
    assert not clipped, "the subtitle is cut"
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the header makes the page scroll sideways: {widths}"


def test_the_favicon_is_an_svg_the_page_serves(page: Page, chat: ChatDouble) -> None:
    # GIVEN the page
    open_chat(page)
    # WHEN the browser follows the page's icon link
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href, "index.html has no <link rel=icon>"
    response = page.request.get(href)
    # THEN it is a content-hashed SVG, served as image/svg+xml
    assert re.fullmatch(r"assets/favicon-[0-9a-f]{10}\.svg", href), href
    assert response.status == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.text().startswith("<svg"), response.text()[:80]


def submit_contact(page: Page, name: str = "Ada Lovelace", email: str = "ada@example.com") -> Locator:
    form = page.get_by_role("form", name="Contact the support team")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Email").fill(email)
    form.get_by_role("button", name="Contact support").click()
    return form


def escalation_keys(chat: ChatDouble) -> list[str]:
    return [r.json()[IDEMPOTENCY_KEY] for r in chat.received("/api/escalate")]


def test_a_409_is_retried_with_the_same_idempotency_key(page: Page, chat: ChatDouble) -> None:
    # GIVEN an API still opening the ticket of the first attempt (409), then done
    chat.escalate_answers.append((409, {"message": "the ticket of this key is being opened"}, {}))
    escalation_offer(chat)
    open_chat(page)
    ask(page, "My laptop will not boot")
    # WHEN the user sends the contact form once
    submit_contact(page)
    # THEN the page retried by itself with the same key and the same payload, and shows the one ticket
    expect(conversation(page).get_by_text("Ticket T-1001: our support team will email you")).to_be_visible()
    first, second = (r.json() for r in chat.received("/api/escalate"))
    assert UUID.match(first[IDEMPOTENCY_KEY]), first
    assert first == second, "the retry changed the submission"


def test_a_changed_submission_gets_a_new_idempotency_key(page: Page, chat: ChatDouble) -> None:
    # GIVEN an API that refused a first submission's email address
    chat.escalate_answers.append((422, {"message": "invalid", "errors": [{"field": "userEmail", "reason": "bad"}]}, {}))
    escalation_offer(chat)
    open_chat(page)
    ask(page, "My laptop will not boot")
    form = submit_contact(page, email="ada@example.invalid")
    expect(form.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    # WHEN the user corrects the address and sends again
    submit_contact(page, email="ada@example.com")
    # THEN the corrected submission is another request, with a key of its own
    expect(conversation(page).get_by_text("Ticket T-1001: our support team will email you")).to_be_visible()
    first, second = escalation_keys(chat)
    assert first != second, "a changed submission reused the key of the one before"


def test_an_unchanged_resubmission_after_a_failure_keeps_its_idempotency_key(page: Page, chat: ChatDouble) -> None:
    # GIVEN an API that failed every automatic attempt of a submission (5 x 500)
    chat.escalate_answers.extend([(500, {"message": "internal error"}, {})] * 5)
    escalation_offer(chat)
    open_chat(page)
    ask(page, "My laptop will not boot")
    form = submit_contact(page)
    expect(form.get_by_text("did not reach the support team")).to_be_visible(timeout=30_000)
    assert len(chat.received("/api/escalate")) == 5, "expected five bounded attempts"
    # WHEN the user sends the same form again
    form.get_by_role("button", name="Contact support").click()
    # THEN it carries the same key: if an attempt did open a ticket, the API answers with that one
    expect(conversation(page).get_by_text("Ticket T-1001: our support team will email you")).to_be_visible()
    assert len(set(escalation_keys(chat))) == 1, f"keys: {escalation_keys(chat)}"


def test_a_new_escalation_after_a_ticket_gets_a_new_idempotency_key(page: Page, chat: ChatDouble) -> None:
    # GIVEN a ticket opened from the contact form
    open_chat(page)
    talk_to_a_person(page).click()
    page.get_by_label("What do you need help with?").fill("My printer jams")
    submit_contact(page)
    expect(conversation(page).get_by_text("Ticket T-1001")).to_be_visible()
    # WHEN the user asks for a person again with the very same details
    talk_to_a_person(page).click()
    page.get_by_label("What do you need help with?").fill("My printer jams")
    submit_contact(page)
    # THEN it is a new request, not a retry of the confirmed one
    chat.wait_for(lambda: len(chat.received("/api/escalate")) == 2, "the second escalation")
    first, second = escalation_keys(chat)
    assert first != second, "a new escalation reused a confirmed submission's key"


def test_a_503_with_retry_after_is_retried_no_sooner_than_asked(page: Page, chat: ChatDouble) -> None:
    # GIVEN an API that is briefly unavailable and says when to come back
    chat.escalate_answers.append((503, {"message": "unavailable"}, {"Retry-After": "2"}))
    escalation_offer(chat)
    open_chat(page)
    ask(page, "My laptop will not boot")
    # WHEN the user sends the contact form
    submit_contact(page)
    # THEN the page waited the 2 seconds before it retried, and the retry opened the ticket
    expect(conversation(page).get_by_text("Ticket T-1001: our support team will email you")).to_be_visible()
    first, second = chat.received("/api/escalate")
    assert second.at - first.at >= 1.9, f"retried after {second.at - first.at:.2f}s"


def test_the_ticket_limit_is_explained_politely_and_not_retried(page: Page, chat: ChatDouble) -> None:
    # GIVEN a session that has opened as many tickets as the API allows per hour
    chat.escalate_answers.append(
        (429, {"message": "ticket limit reached", "limit": 3, "windowSeconds": 3600}, {"Retry-After": "1800"})
    )
    escalation_offer(chat)
    open_chat(page)
    ask(page, "My laptop will not boot")
    # WHEN the user sends the contact form
    form = submit_contact(page)
    # THEN the form names the limit kindly, once, and the page did not hammer the API
    message = form.get_by_text("reached that limit")
    expect(message).to_have_text(
        "Thank you for your patience: you can contact our support team 3 times per hour from one conversation, "
        "and you have reached that limit. The team will answer the requests you sent; please try again later."
    )
    assert len(chat.received("/api/escalate")) == 1, "the ticket limit was retried"
