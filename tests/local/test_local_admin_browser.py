"""The admin page in Chromium on the local stack: staff sign in through the hosted UI's stand-in, filter the query log,
open a conversation and export it; signed out, the page shows nothing but the sign-in. axe-core finds no WCAG AA issue.
"""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

from local.stack import LocalStack
from tests.local.stack_helpers import fetch

pytestmark = [pytest.mark.browser, pytest.mark.local_stack]

QUESTION = "=SUM(1,2) do you repair toasters?"  # a formula, were it not defused in the export
AXE = Path(__file__).resolve().parents[2] / "site" / "node_modules" / "axe-core" / "axe.min.js"


def log_turn(local_stack: LocalStack, session_id: str, text: str, answer: str, intent: str) -> None:
    row = {
        "sessionId": session_id,
        "timestamp": int(time.time() * 1000),
        "userQuery": text,
        "botResponse": answer,
        "intentName": intent,
    }
    status, _, body = fetch(local_stack.origin + "/api/store-query", "POST", row, {"Content-Type": "application/json"})
    assert status == 201, body
    time.sleep(0.002)  # distinct timestamps, so the conversation's order is the order logged


def sign_in(page: Page, local_stack: LocalStack) -> None:
    page.goto("/admin/")
    page.get_by_role("button", name="Sign in").click()
    # the hosted UI's stand-in: its own page, on its own path
    expect(page.get_by_role("heading", name="Support staff sign-in")).to_be_visible()
    page.get_by_label("Email").fill(local_stack.info.staff_email)
    page.get_by_label("Password").fill(local_stack.info.staff_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {local_stack.info.staff_email}")).to_be_visible()
    expect(page).to_have_url(f"{local_stack.origin}/admin/")  # the code is gone from the address bar


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A and AA violations on the page as it is, one line each."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make site` (axe-core is a dev dependency of site/)")
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # evaluated by the test harness, so the page's CSP does not apply
    result = page.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})")
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in result["violations"]]


def test_signed_out_the_page_shows_only_the_sign_in_and_asks_the_api_nothing(page: Page) -> None:
    # GIVEN a browser with no staff sign-in, recording every request
    requests: list[str] = []

    def record(request: Request) -> None:
        requests.append(request.url)

    page.on("request", record)
    # WHEN it opens the admin page
    page.goto("/admin/")
    # THEN only the sign-in shows: no filters, no turns, no groupings, and no call to the admin API
    expect(page.get_by_role("heading", name="Sign in to read the query log")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    for hidden in ("Turns", "Top unanswered questions", "Worst-rated answers"):
        expect(page.get_by_role("heading", name=hidden)).not_to_be_visible()
    expect(page.get_by_role("form", name="Filters")).not_to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).not_to_be_visible()
    assert not [url for url in requests if "/api/admin/" in url], requests
    assert axe_violations(page) == []


def test_staff_sign_in_filter_open_a_conversation_and_export_it(page: Page, local_stack: LocalStack) -> None:
    # GIVEN a conversation the bot could not answer, among others
    session_id = f"browser-admin-{uuid.uuid4().hex[:12]}"
    log_turn(local_stack, session_id, QUESTION, "Sorry, I did not get that.", "FallbackIntent")
    log_turn(local_stack, session_id, "I want a person", "I can put you in touch.", "TalkToHuman")
    log_turn(local_stack, f"other-{uuid.uuid4().hex[:8]}", "unrelated", "Hello!", "Greeting")
    # WHEN staff sign in and filter to that session's fallback answers
    sign_in(page, local_stack)
    filters = page.get_by_role("form", name="Filters")
    filters.get_by_label("Session").fill(session_id)
    filters.get_by_label("Answer").select_option("fallback")
    filters.get_by_role("button", name="Apply filters").click()
    # THEN the list holds exactly that turn, with a readable local time
    rows = page.get_by_role("table").locator("tbody").get_by_role("row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(QUESTION)
    expect(rows.first).to_contain_text("FallbackIntent")
    expect(rows.first.locator("time")).to_have_text(re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b"))  # not epoch milliseconds
    # AND WHEN they open the conversation, it shows every turn of the session, oldest first
    rows.first.get_by_role("button", name=f"Open conversation {session_id}").click()
    dialog = page.get_by_role("dialog", name=f"Conversation {session_id}")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("listitem")).to_have_count(4)
    expect(dialog.get_by_role("listitem").nth(0)).to_contain_text(QUESTION)
    expect(dialog.get_by_role("listitem").nth(2)).to_contain_text("I want a person")
    assert axe_violations(page) == [], "with the conversation open"
    dialog.get_by_role("button", name="Close").click()
    # AND WHEN they export, the download is the filtered list as CSV, its formula defused
    with page.expect_download() as download_info:
        filters.get_by_role("button", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [(row["sessionId"], row["userQuery"]) for row in exported] == [(session_id, "'" + QUESTION)], (
        "the cell that would start a formula gets a leading apostrophe"
    )
    assert axe_violations(page) == []


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_signed_in_page_follows_the_theme_and_has_no_wcag_aa_violations(
    page: Page, local_stack: LocalStack, theme: str
) -> None:
    # GIVEN a logged turn the groupings show
    log_turn(local_stack, f"theme-{uuid.uuid4().hex[:8]}", "where do I park", "Sorry?", "FallbackIntent")
    page.emulate_media(color_scheme=theme)  # type: ignore[arg-type]
    # WHEN staff sign in
    sign_in(page, local_stack)
    expect(page.get_by_role("heading", name="Top unanswered questions")).to_be_visible()
    expect(page.get_by_role("list").filter(has_text="where do I park").first).to_be_visible()
    # THEN the page is in the system's theme, and axe-core finds nothing
    has_dark = page.evaluate("document.documentElement.classList.contains('dark')")
    assert has_dark == (theme == "dark")
    assert axe_violations(page) == [], f"{theme} theme"
