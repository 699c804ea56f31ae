"""The page's branding from config.js, in real Chromium: name, words, questions, logo, privacy notice, accent colour."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from contracts.branding import DEFAULT_ACCENT, Branding, theme_colours
from tests.site.chat_double import SUGGESTIONS, ChatDouble, card
from tests.site.test_chat_page import AXE, axe_violations

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]

TEAL = "#0f766e"  # dark accent: white text on it
ORANGE = "#f97316"  # light accent: dark text on it
LOGO_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'
LOGO = "data:image/svg+xml;base64," + base64.b64encode(LOGO_SVG).decode()
PRIVACY = "/privacy.html"
COLOUR = re.compile(r"^(?:rgb\((\d+), (\d+), (\d+)\)|color\(srgb ([\d.]+) ([\d.]+) ([\d.]+)\))$")


def brand(chat: ChatDouble, **fields: object) -> None:
    """Serve config.js with these branding fields, as ChatSite writes them."""
    chat.branding = Branding(**fields).config_values(default_suggestions=SUGGESTIONS)  # type: ignore[arg-type]


def conversation(page: Page) -> Locator:
    return page.get_by_role("log", name="Conversation")


def message_box(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Your message")


def send_button(page: Page) -> Locator:
    return page.get_by_role("button", name="Send")


def rgb(locator: Locator, prop: str) -> tuple[int, int, int]:
    """A computed colour as 0-255 channels (Chromium writes color-mix() results as `color(srgb r g b)`)."""
    value = locator.evaluate(f"(el) => getComputedStyle(el).{prop}")
    match = COLOUR.match(value)
    assert match, f"{prop} is {value!r}, not an opaque colour"
    if match[1]:
        return int(match[1]), int(match[2]), int(match[3])
    return round(float(match[4]) * 255), round(float(match[5]) * 255), round(float(match[6]) * 255)


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def near(actual: tuple[int, int, int], expected: str) -> bool:
    return all(abs(a - e) <= 1 for a, e in zip(actual, hex_rgb(expected), strict=True))


def test_a_custom_name_colour_and_welcome_text_appear(page: Page, chat: ChatDouble) -> None:
    # GIVEN a stack branded "Acme Help" in teal, with its own subtitle and welcome
    brand(chat, bot_name="Acme Help", bot_subtitle="Orders and returns", welcome_text="Welcome!", accent_color=TEAL)
    # WHEN the page opens
    page.goto("/")
    # THEN the title, the header and the first message say so
    expect(page).to_have_title("Acme Help")
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Help")
    expect(page.get_by_role("banner").get_by_text("Orders and returns")).to_be_visible()
    expect(conversation(page).get_by_text("Welcome!")).to_be_visible()
    # AND the send button is teal with white text
    assert rgb(send_button(page), "backgroundColor") == hex_rgb(TEAL)
    assert rgb(send_button(page), "color") == (255, 255, 255)


def test_without_branding_the_page_keeps_its_own_look(page: Page, chat: ChatDouble) -> None:
    # GIVEN a config.js without any branding key
    # WHEN the page opens
    page.goto("/")
    # THEN it has its own title, name, welcome and questions, the indigo accent and no privacy notice
    expect(page).to_have_title("Support chat")
    expect(page.get_by_role("heading", level=1)).to_have_text("Support assistant")
    expect(conversation(page).get_by_text("Hi! I am the support assistant.")).to_be_visible()
    expect(conversation(page).get_by_role("button", name=SUGGESTIONS[0])).to_be_visible()
    assert rgb(send_button(page), "backgroundColor") == hex_rgb(DEFAULT_ACCENT)
    expect(page.get_by_text("privacy notice")).to_be_hidden()


def test_the_stacks_own_questions_replace_the_definitions(page: Page, chat: ChatDouble) -> None:
    # GIVEN a stack with its own suggested questions
    brand(chat, suggested_questions=("Where is my parcel?", "How do I return a shoe?"))
    # WHEN the page opens
    page.goto("/")
    # THEN exactly those are offered
    chips = conversation(page).get_by_role("list", name="Suggested questions").get_by_role("button")
    expect(chips).to_have_text(["Where is my parcel?", "How do I return a shoe?"])


def test_a_light_accent_gets_dark_text_on_its_buttons(page: Page, chat: ChatDouble) -> None:
    # GIVEN an orange accent, too light for white text
    brand(chat, accent_color=ORANGE)
    # WHEN the page opens
    page.goto("/")
    # THEN the send button is orange with dark text, as contracts/branding.py chose
    assert rgb(send_button(page), "backgroundColor") == hex_rgb(ORANGE)
    assert near(rgb(send_button(page), "color"), theme_colours(ORANGE, "light")["on-accent"])


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_page_mixes_the_accent_colours_the_contract_checks(page: Page, chat: ChatDouble, theme: str) -> None:
    # GIVEN a teal accent, in each theme
    page.emulate_media(color_scheme=theme)  # type: ignore[arg-type]
    brand(chat, accent_color=TEAL)
    # WHEN the page opens
    page.goto("/")
    chip = conversation(page).get_by_role("button", name=SUGGESTIONS[0])
    expect(chip).to_be_visible()
    # THEN a suggestion's text is the accent text colour contracts/branding.py checked for this theme
    expected = theme_colours(TEAL, theme)["accent-strong"]
    assert near(rgb(chip, "color"), expected), f"{theme}: chip text {rgb(chip, 'color')}, contract {expected}"


def test_the_logo_takes_the_place_of_the_icon(page: Page, chat: ChatDouble) -> None:
    # GIVEN a stack with a logo
    brand(chat, logo_url=LOGO)
    # WHEN the page opens
    page.goto("/")
    # THEN the header shows it, loaded (the page's CSP allows it)
    logo = page.get_by_role("banner").locator("img")
    expect(logo).to_have_attribute("src", LOGO)
    loaded = "() => [...document.querySelectorAll('header img')].some((img) => img.complete && img.naturalWidth > 0)"
    page.wait_for_function(loaded)


def test_the_privacy_notice_shows_before_the_first_message_and_goes_once_the_user_sends(
    page: Page, chat: ChatDouble
) -> None:
    # GIVEN a stack with a privacy notice
    brand(chat, privacy_notice_url=PRIVACY)
    # WHEN the page opens
    page.goto("/")
    # THEN the notice links to it before anything is sent
    link = page.get_by_role("link", name="privacy notice")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", PRIVACY)
    # AND WHEN the user sends a first message, it goes
    message_box(page).fill("Hello")
    message_box(page).press("Enter")
    expect(conversation(page).get_by_text("Sorry, I did not understand")).to_be_visible()
    expect(link).to_be_hidden()
    # AND it stays gone after a reload, and comes back for a new conversation
    page.reload()
    expect(conversation(page).get_by_text("Hello", exact=True)).to_be_visible()
    expect(link).to_be_hidden()
    page.get_by_role("button", name="New conversation").click()
    expect(link).to_be_visible()


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("accent", [None, TEAL, ORANGE], ids=["default", "teal", "orange"])
def test_a_branded_page_has_no_wcag_aa_violations(page: Page, chat: ChatDouble, theme: str, accent: str | None) -> None:
    # GIVEN a branded page (or the default) with suggestions, the privacy notice, the user's message, quick replies
    # and the contact form, in each theme
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make site` (axe-core is a dev dependency of site/)")
    page.emulate_media(color_scheme=theme)  # type: ignore[arg-type]
    brand(chat, accent_color=accent, privacy_notice_url=PRIVACY, bot_name="Acme Help")
    chat.reply_to("Products", card("Which product?", ("Laptops", "laptop")))
    page.goto("/")
    expect(page.get_by_role("link", name="privacy notice")).to_be_visible()
    # WHEN axe-core checks it before and after the first message
    before = axe_violations(page)
    message_box(page).fill("Products")
    message_box(page).press("Enter")
    expect(conversation(page).get_by_role("button", name="Laptops")).to_be_visible()
    page.get_by_role("button", name="Talk to a person").click()
    expect(page.get_by_role("form", name="Contact the support team")).to_be_visible()
    after = axe_violations(page)
    # THEN there is no violation (contrast included)
    assert before == [], f"{accent or 'default'} accent, {theme} theme, before the first message"
    assert after == [], f"{accent or 'default'} accent, {theme} theme, in a conversation"


def test_the_screenshot_script_writes_every_picture_the_readme_shows(tmp_path: Path) -> None:
    # GIVEN the README's Branding section, which shows docs/screenshots/*.png
    readme = (REPO / "README.md").read_text()
    shown = set(re.findall(r"docs/screenshots/([\w-]+\.png)", readme))
    assert shown, "the README shows no screenshot"
    # WHEN the script it names runs (into a scratch folder)
    result = subprocess.run(
        [sys.executable, "scripts/screenshots.py", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # THEN it writes every picture the README shows, and each is committed
    assert result.returncode == 0, result.stderr
    written = {path.name for path in tmp_path.glob("*.png")}
    assert shown <= written, f"the README shows {sorted(shown - written)}, which the script does not make"
    missing = [name for name in shown if not (REPO / "docs" / "screenshots" / name).is_file()]
    assert not missing, f"run `python scripts/screenshots.py` and commit {missing}"
