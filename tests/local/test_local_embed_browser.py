"""The chat on another site, end to end: the local stack's demo host (a second origin) embeds it with embed.js.

Chromium runs the real cross-origin path: the loader on the demo host frames the page from the stack's origin,
the page's CSP frame-ancestors lets only the demo host do so, and the two talk through postMessage with origin
checks on both sides. A third origin, not in the list, serves the same host page and is refused.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, FrameLocator, Locator, Page, ViewportSize, expect

from local.embed_demo import demo_page
from local.stack import LocalStack
from tests.local.stack_helpers import fetch

pytestmark = pytest.mark.local_stack

QUESTION = "Tell me about your laptops"
ANSWER = "Our laptops feature high-performance processors and long battery life, starting at $899."
PHONE: ViewportSize = {"width": 375, "height": 667}
AXE = Path(__file__).resolve().parents[2] / "site" / "node_modules" / "axe-core" / "axe.min.js"


# --- helpers -----------------------------------------------------------------------------------------------------


def demo_url(stack: LocalStack, **options: str) -> str:
    """The demo host's page, with the loader's options (position, open, question) in the query."""
    query = urllib.parse.urlencode(options)
    return f"{stack.info.embed_demo_origin}/" + (f"?{query}" if query else "")


def launcher(page: Page) -> Locator:
    return page.get_by_role("button", name="support chat")


def chat(page: Page) -> FrameLocator:
    return page.frame_locator('iframe[title="Support chat"]')


def chat_frame_element(page: Page) -> Locator:
    return page.locator('iframe[title="Support chat"]')


def ask(frame: FrameLocator, text: str) -> None:
    frame.get_by_role("textbox", name="Your message").fill(text)
    frame.get_by_role("button", name="Send").click()


def expect_answer(frame: FrameLocator) -> None:
    conversation = frame.get_by_role("log", name="Conversation")
    expect(conversation.get_by_text(ANSWER, exact=True)).to_be_visible(timeout=20_000)


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A and AA violations of the host page with the loader's button and frame (the chat page
    inside has its own checks in tests/site), one line each."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # evaluated by the test harness, so the host page's CSP does not apply
    rules = "{runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'], iframes: false}"
    result = page.evaluate(f"axe.run(document, {rules})")
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in result["violations"]]


def has_focus(locator: Locator) -> bool:
    """Focus inside a shadow root shows on the root, not on the document: ask the element's own root."""
    return bool(locator.evaluate("el => el.getRootNode().activeElement === el"))


@pytest.fixture
def foreign_host(local_stack: LocalStack) -> Iterator[str]:
    """A third origin, not among the stack's embedding sites, serving the same host page with the same tag."""
    page = demo_page(local_stack.origin, {"question": QUESTION}).encode()

    class HostPage(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HostPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


# --- what the stack serves ------------------------------------------------------------------------------------------


def test_the_page_may_be_framed_by_the_demo_host_only(local_stack: LocalStack) -> None:
    # GIVEN the running stack and its demo host
    demo = local_stack.info.embed_demo_origin
    # WHEN the page is fetched
    status, headers, _ = fetch(local_stack.origin + "/")
    # THEN its CSP lets exactly the demo host frame it, and no X-Frame-Options contradicts that
    assert status == 200
    assert f"frame-ancestors {demo};" in headers["Content-Security-Policy"], headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in headers, headers


def test_the_demo_host_embeds_the_loader_from_the_stack(local_stack: LocalStack) -> None:
    # GIVEN / WHEN the demo host's page and the loader it names are fetched
    status, _, body = fetch(demo_url(local_stack))
    loader_status, loader_headers, loader = fetch(local_stack.origin + "/embed.js")
    # THEN the page carries the one script tag, and the stack serves the loader as JavaScript
    assert status == 200
    assert f'<script src="{local_stack.origin}/embed.js" async></script>' in body.decode(), body[:400]
    assert loader_status == 200
    assert loader_headers["Content-Type"].startswith("text/javascript"), loader_headers
    assert b"postMessage" in loader, "embed.js is not the loader"


def test_the_api_answers_cors_for_the_demo_host_only(local_stack: LocalStack) -> None:
    # GIVEN the demo host's origin and another one
    demo = local_stack.info.embed_demo_origin
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    # WHEN each sends the API a CORS preflight
    allowed = fetch(local_stack.origin + "/api/store-query", method="OPTIONS", headers={**preflight, "Origin": demo})
    other = fetch(
        local_stack.origin + "/api/store-query", method="OPTIONS", headers={**preflight, "Origin": "http://evil.test"}
    )
    # THEN only the demo host is allowed, as API Gateway answers it
    assert allowed[0] == 204, allowed
    assert allowed[1].get("Access-Control-Allow-Origin") == demo, allowed[1]
    assert other[0] == 204, other
    assert "Access-Control-Allow-Origin" not in other[1], other[1]


def test_the_api_takes_a_turn_from_the_demo_host_and_refuses_other_sites(local_stack: LocalStack) -> None:
    # GIVEN a turn to log, posted cross-origin by the demo host and by another site
    demo = local_stack.info.embed_demo_origin
    row = {
        "sessionId": f"embed-{uuid.uuid4()}",
        "timestamp": int(time.time() * 1000),
        "userQuery": "hello",
        "botResponse": "Hello!",
        "confidenceScore": 0.9,
        "intentName": "Welcome",
    }
    url = local_stack.origin + "/api/store-query"
    # WHEN each posts it
    allowed = fetch(url, "POST", row, {"Content-Type": "application/json", "Origin": demo})
    other = fetch(url, "POST", row, {"Content-Type": "application/json", "Origin": "http://evil.test"})
    # THEN the demo host's is stored and answered with CORS for it; the other never reaches the API
    assert allowed[0] == 201, allowed
    assert allowed[1].get("Access-Control-Allow-Origin") == demo, allowed[1]
    assert other[0] == 403, other


# --- in Chromium ------------------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_launcher_opens_the_chat_which_answers_and_closes(page: Page, local_stack: LocalStack) -> None:
    # GIVEN the demo host with the chat's launcher in its corner
    page.goto(demo_url(local_stack))
    expect(launcher(page)).to_have_accessible_name("Open support chat")
    expect(chat_frame_element(page)).to_be_hidden()
    # WHEN the user opens the chat and asks a question in it
    launcher(page).click()
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    ask(chat(page), QUESTION)
    # THEN the answer appears inside the iframe, which is the stack's page
    expect_answer(chat(page))
    expect(chat_frame_element(page)).to_have_attribute(
        "src", re.compile("^" + re.escape(local_stack.origin + "/?embed=1"))
    )
    # WHEN the user closes it with the launcher
    launcher(page).click()
    # THEN the chat is gone and the launcher offers to open it again
    expect(chat_frame_element(page)).to_be_hidden()
    expect(launcher(page)).to_have_accessible_name("Open support chat")


@pytest.mark.browser
def test_the_chat_is_used_with_the_keyboard_alone(page: Page, local_stack: LocalStack) -> None:
    # GIVEN the demo host
    page.goto(demo_url(local_stack))
    expect(launcher(page)).to_be_visible()
    # WHEN the user tabs until the launcher has focus
    for _ in range(10):
        page.keyboard.press("Tab")
        if has_focus(launcher(page)):
            break
    assert has_focus(launcher(page)), "Tab never reached the launcher"
    # ... and presses Enter
    page.keyboard.press("Enter")
    # THEN the chat opens with the focus in its message box, where the user types and sends
    message = chat(page).get_by_role("textbox", name="Your message")
    expect(message).to_be_focused()
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    expect_answer(chat(page))
    # WHEN the user presses Escape inside the chat
    page.keyboard.press("Escape")
    # THEN the chat closes and the focus is back on the launcher
    expect(chat_frame_element(page)).to_be_hidden()
    expect(launcher(page)).to_have_accessible_name("Open support chat")
    assert has_focus(launcher(page)), "the focus did not return to the launcher"


@pytest.mark.browser
def test_a_reply_while_closed_badges_the_launcher(page: Page, local_stack: LocalStack) -> None:
    # GIVEN the demo host whose tag asks an initial question, the chat left closed
    page.goto(demo_url(local_stack, question=QUESTION))
    # WHEN the answer arrives in the closed chat
    # THEN the launcher shows one unread reply, in its name and on its badge
    expect(launcher(page)).to_have_accessible_name("Open support chat, 1 new reply", timeout=20_000)
    expect(launcher(page).get_by_text("1", exact=True)).to_be_visible()
    # WHEN the user opens the chat
    launcher(page).click()
    # THEN the question and its answer are there, and the badge is gone
    conversation = chat(page).get_by_role("log", name="Conversation")
    expect(conversation.get_by_role("paragraph").filter(has_text=QUESTION)).to_be_visible()  # said, not suggested
    expect_answer(chat(page))
    expect(launcher(page)).to_have_accessible_name("Close support chat")
    expect(launcher(page).get_by_text("1", exact=True)).to_be_hidden()


@pytest.mark.browser
def test_the_options_open_the_chat_on_load_on_the_left(page: Page, local_stack: LocalStack) -> None:
    # GIVEN the demo host whose tag says data-open and data-position="bottom-left"
    page.goto(demo_url(local_stack, open="1", position="bottom-left"))
    # THEN the chat is open on load, on the left of the window
    expect(chat(page).get_by_role("textbox", name="Your message")).to_be_editable()
    frame_box = chat_frame_element(page).bounding_box()
    button_box = launcher(page).bounding_box()
    assert frame_box, "the chat's iframe has no box"
    assert button_box, "the launcher has no box"
    width = page.viewport_size["width"] if page.viewport_size else 1280
    assert frame_box["x"] < width / 2, f"the chat is not on the left: {frame_box}"
    assert button_box["x"] < width / 2, f"the launcher is not on the left: {button_box}"


@pytest.mark.browser
def test_the_launcher_takes_the_stacks_accent_with_readable_ink(page: Page, local_stack: LocalStack) -> None:
    # GIVEN a tag with the default accent, one with a dark accent and one with a light accent
    colours = {}
    for accent in ("", "#0f766e", "#facc15"):
        page.goto(demo_url(local_stack, accent=accent) if accent else demo_url(local_stack))
        colours[accent] = launcher(page).evaluate(
            "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]"
        )
    # THEN the launcher wears it, with white ink on the dark ones and dark ink on the light one
    assert colours[""] == ["rgb(79, 57, 246)", "rgb(255, 255, 255)"], f"default launcher: {colours['']}"
    assert colours["#0f766e"] == ["rgb(15, 118, 110)", "rgb(255, 255, 255)"], f"teal launcher: {colours['#0f766e']}"
    assert colours["#facc15"] == ["rgb(250, 204, 21)", "rgb(2, 6, 23)"], f"yellow launcher: {colours['#facc15']}"


@pytest.mark.browser
def test_on_a_phone_the_chat_takes_the_whole_screen(browser: Browser, local_stack: LocalStack) -> None:
    # GIVEN the demo host on a phone-sized screen
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(demo_url(local_stack))
        # WHEN the user opens the chat
        launcher(page).click()
        # THEN it covers the screen, the launcher is out of the way, and the chat's own button closes it
        expect(chat(page).get_by_role("textbox", name="Your message")).to_be_editable()
        box = chat_frame_element(page).bounding_box()
        assert box == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}, box
        expect(launcher(page)).to_be_hidden()
        chat(page).get_by_role("button", name="Close chat").click()
        expect(chat_frame_element(page)).to_be_hidden()
        expect(launcher(page)).to_be_visible()
    finally:
        context.close()


@pytest.mark.browser
def test_a_host_not_in_the_list_cannot_frame_the_chat(page: Page, foreign_host: str, local_stack: LocalStack) -> None:
    # GIVEN a site that is not among the embedding sites, with the same tag and an initial question
    # WHEN its page loads, and the loader frames the chat there at once (to ask the question)
    with page.expect_console_message(lambda message: "frame-ancestors" in message.text, timeout=15_000) as refusal:
        page.goto(foreign_host + "/")
    # THEN Chromium refuses to frame it, naming the page's frame-ancestors
    assert f"frame-ancestors {local_stack.info.embed_demo_origin}" in refusal.value.text, refusal.value.text
    assert "blocked" in refusal.value.text, refusal.value.text
    # ... so when the user opens it there is no chat, and no answer ever badged the launcher
    launcher(page).click()
    expect(chat(page).get_by_role("textbox", name="Your message")).to_have_count(0)
    expect(launcher(page)).to_have_accessible_name("Close support chat")


@pytest.mark.browser
def test_the_page_does_not_talk_to_a_host_it_was_not_told_is_allowed(page: Page, local_stack: LocalStack) -> None:
    # GIVEN the demo host, allowed to frame the page, framing it under another site's name (host=...)
    page.goto(demo_url(local_stack))
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    claimed = "https://not-allowed.example"
    page.evaluate(
        """([origin, claimed]) => {
            const frame = document.createElement('iframe')
            frame.title = 'Claimed'
            frame.src = `${origin}/?embed=1&host=${encodeURIComponent(claimed)}`
            document.body.append(frame)
        }""",
        [local_stack.origin, claimed],
    )
    framed = page.frame_locator('iframe[title="Claimed"]')
    # THEN the page works but keeps to itself: no close button, and it says why
    expect(framed.get_by_role("textbox", name="Your message")).to_be_editable()
    expect(framed.get_by_role("button", name="Close chat")).to_have_count(0)
    assert any("not an allowed embedding site" in w for w in warnings), warnings


@pytest.mark.browser
def test_the_loader_ignores_messages_that_are_not_from_the_chat(page: Page, local_stack: LocalStack) -> None:
    # GIVEN the chat open on the demo host
    page.goto(demo_url(local_stack))
    launcher(page).click()
    expect(chat(page).get_by_role("textbox", name="Your message")).to_be_editable()
    # WHEN the host page itself (not the chat's origin) posts a close request
    page.evaluate("() => { window.postMessage({ chatbot: 1, type: 'close' }, '*') }")
    page.wait_for_timeout(300)  # what the loader would have done by now, it did not do
    # THEN the chat stays open
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    # WHEN the user closes it and the host page posts a forged reply
    launcher(page).click()
    page.evaluate("() => { window.postMessage({ chatbot: 1, type: 'reply' }, '*') }")
    page.wait_for_timeout(300)
    # THEN no badge counts it
    expect(launcher(page)).to_have_accessible_name("Open support chat")


@pytest.mark.browser
def test_the_launcher_and_the_open_chat_pass_axe(page: Page, local_stack: LocalStack) -> None:
    # GIVEN the demo host with an unread reply badged on the launcher
    page.goto(demo_url(local_stack, question=QUESTION))
    expect(launcher(page)).to_have_accessible_name("Open support chat, 1 new reply", timeout=20_000)
    # WHEN axe-core checks the host page with the launcher closed, then open
    closed = axe_violations(page)
    launcher(page).click()
    expect(chat(page).get_by_role("textbox", name="Your message")).to_be_editable()
    opened = axe_violations(page)
    # THEN neither adds a violation (names, contrast, the frame's title)
    assert closed == [], f"closed: {closed}"
    assert opened == [], f"open: {opened}"
