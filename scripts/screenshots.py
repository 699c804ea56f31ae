"""`python scripts/screenshots.py`: the README's screenshots of the chat page, default and rebranded, light and dark.

Serves the built page (site/dist, `make site`) with the browser tests' chat double (scripted Cognito, Lex and API on
one loopback origin, tests/site/chat_double.py), drives Debian's Chromium through Playwright, and writes
docs/screenshots/*.png. Nothing reaches the network; the same build and the same script give the same pictures.
"""

from __future__ import annotations

import argparse
import base64
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, expect, sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from anywhere: the page contract and the chat double are in the repo

from contracts.branding import Branding  # noqa: E402
from tests.conftest import CHROMIUM_FLAGS, chromium_path  # noqa: E402
from tests.site.chat_double import DIST, SUGGESTIONS, ChatDouble, card, handler_for  # noqa: E402

OUT = REPO / "docs" / "screenshots"
DESKTOP: ViewportSize = {"width": 960, "height": 720}
PHONE: ViewportSize = {"width": 375, "height": 720}
CLOCK = datetime(2026, 3, 2, 9, 41, tzinfo=UTC)  # every message's time, so a picture changes only when the page does
QUESTION = "I forgot my password"
ANSWER = (
    'Here is how to reset it:\n1. Open the sign-in page and choose "Forgot password".\n'
    "2. Enter your work email address.\n3. Follow the link in the email we send you."
)
LOGO_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><rect width="40" height="40" fill="#0f766e"/>'
    b'<path d="M20 8 31 32h-5l-2.3-5.5h-7.4L14 32H9zm0 8.5-2.2 6h4.4z" fill="#fff"/></svg>'
)
ACME = Branding(
    bot_name="Acme Help",
    bot_subtitle="Orders, returns and your account",
    welcome_text="Hi! I am Acme's assistant. Ask me about an order, a return or your account.",
    suggested_questions=("Where is my parcel?", "How do I return an item?", "I forgot my password"),
    accent_color="#0f766e",
    logo_url="data:image/svg+xml;base64," + base64.b64encode(LOGO_SVG).decode(),
    privacy_notice_url="https://www.example.com/privacy",
)


@dataclass(frozen=True)
class Shot:
    """One screenshot: its file name, theme, size, branding and whether the user has asked a question yet."""

    name: str
    theme: str
    viewport: ViewportSize
    branding: Branding | None = None
    chatted: bool = True


SHOTS = (
    Shot("default-light", "light", DESKTOP),
    Shot("default-dark", "dark", DESKTOP),
    Shot("default-phone", "light", PHONE),
    Shot("rebranded-light", "light", DESKTOP, ACME),
    Shot("rebranded-dark", "dark", DESKTOP, ACME),
    Shot("rebranded-welcome-phone", "dark", PHONE, ACME, chatted=False),  # the privacy notice before a first message
)


@contextmanager
def chat_double() -> Iterator[ChatDouble]:
    """The built page and the scripted chat double on a loopback origin, for as long as the block runs."""
    double = ChatDouble()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(double))
    server.daemon_threads = True
    double.origin = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="screenshots-server", daemon=True)
    thread.start()
    try:
        yield double
    finally:
        server.shutdown()
        server.server_close()


def take(page: Page, double: ChatDouble, shot: Shot, out: Path) -> Path:
    """Open the page as `shot` says, chat if it says so, and save the screenshot."""
    double.reset()
    suggestions = SUGGESTIONS
    if shot.branding is not None:
        double.branding = shot.branding.config_values(default_suggestions=SUGGESTIONS)
        suggestions = list(shot.branding.suggested_questions or SUGGESTIONS)
    double.reply_to(QUESTION, ANSWER, card("Did that help?", ("Yes, thanks", "yes"), ("No", "no")))
    page.set_viewport_size(shot.viewport)
    page.emulate_media(color_scheme=shot.theme)  # type: ignore[arg-type]
    page.goto(double.origin + "/")
    page.evaluate("sessionStorage.clear()")  # each picture starts a fresh conversation
    page.reload()
    log = page.get_by_role("log", name="Conversation")
    expect(log.get_by_role("button", name=suggestions[0])).to_be_visible()
    if shot.chatted:
        box = page.get_by_role("textbox", name="Your message")
        box.fill(QUESTION)
        box.press("Enter")
        expect(log.get_by_role("button", name="Yes, thanks")).to_be_visible()
    page.evaluate("document.activeElement.blur()")  # no focus ring or caret in the picture
    path = out / f"{shot.name}.png"
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    return path


def main(argv: list[str] | None = None, *, report: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/screenshots.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the PNGs go (default: {OUT.relative_to(REPO)})")
    args = parser.parse_args(argv)
    if not (DIST / "index.html").is_file():
        print(f"error: {DIST} has no build: run `make site`", file=sys.stderr)
        return 2
    browser_path = chromium_path()
    if browser_path is None:
        print("error: Chromium not found: install it with `apt-get install -y chromium`", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with chat_double() as double, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(device_scale_factor=1, locale="en-US", timezone_id="UTC")
            page.clock.set_fixed_time(CLOCK)
            for shot in SHOTS:
                path = take(page, double, shot, args.out)
                report(f"  {path.relative_to(REPO) if path.is_relative_to(REPO) else path}  {path.stat().st_size} B")
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
