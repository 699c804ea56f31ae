"""Fixtures shared by every test folder: the browser, offline AWS credentials, paths, the bot and the page build."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from bot.schema import BotDefinition, load_definition

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page

# expect() retries until this bound, which only limits how long a failure takes: generous on shared CI machines.
expect.set_options(timeout=15_000)

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "artifacts"  # screenshots for review; git-ignored
SITE_DIST = REPO / "site" / "dist"  # what `make site` builds: the page ChatSite deploys and the local stack serves
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's Chromium (`apt-get install chromium`); Playwright's own download is never used."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(autouse=True)
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a fixed region, so no test can reach real AWS by accident."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium. Under CI the browser tests must run, so a missing browser fails instead of skipping."""
    path = chromium_path()
    if path is None:
        reason = "Chromium not found: install it with `apt-get install -y chromium`"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return {**browser_type_launch_args, "executable_path": path, "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def definition() -> BotDefinition:
    """The shipped bot definition (bot/definition.yaml), validated."""
    return load_definition()


@pytest.fixture(scope="session")
def built_site() -> Path:
    """site/dist, which `make site` builds; without it the tests fail (never skip) and say how to build it."""
    if not (SITE_DIST / "index.html").is_file() or not (SITE_DIST / "size.json").is_file():
        pytest.fail(f"{SITE_DIST} has no build: run `make site`")
    return SITE_DIST


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests save screenshots for review (not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def console(page: Page) -> list[ConsoleMessage]:
    """Everything the page logs to the browser console, in order."""
    messages: list[ConsoleMessage] = []

    def record(message: ConsoleMessage) -> None:  # Playwright takes a Python function, not a builtin method
        messages.append(message)

    page.on("console", record)
    return messages
