"""Fixtures for the local stack: the whole stack on a loopback port, Lex clients.

The stack runs in this process only while this folder's tests run: it is stopped (moto too, and the
environment put back) as soon as the next test belongs elsewhere, so tests in other folders never see its
AWS_ENDPOINT_URL or its handler modules, and it is started again (same origin) if this folder's tests
resume later (pytest-playwright groups browser tests across folders).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from local.stack import LocalStack
from tests.local.stack_helpers import Say, free_port

if TYPE_CHECKING:
    from mypy_boto3_lexv2_runtime.client import LexRuntimeV2Client

HERE = Path(__file__).resolve().parent
_stack = LocalStack("127.0.0.1", free_port(), log_level="WARNING")  # one origin for the whole session


@pytest.fixture
def local_stack(built_site: Path) -> LocalStack:
    """The whole chatbot on http://127.0.0.1:<port>, running (started on first use), serving the page build."""
    if _stack.running:
        return _stack
    _stack.site_dir = built_site
    _stack.start()
    return _stack


@pytest.fixture(autouse=True)
def _stack_for_marked_tests(request: pytest.FixtureRequest) -> None:
    """Tests marked `local_stack` get the stack running even when they only use the page or URLs."""
    if request.node.get_closest_marker("local_stack"):
        request.getfixturevalue("local_stack")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Stop the stack when the next test is not one of this folder's (after this test's fixtures are torn down)."""
    result = yield
    if _stack.running and (nextitem is None or HERE not in nextitem.path.parents):
        _stack.stop()
    return result


def pytest_sessionfinish() -> None:
    _stack.stop()


@pytest.fixture
def browser_context_args(local_stack: LocalStack) -> dict[str, Any]:
    """The browser context for this folder: relative URLs go to the local stack (127.0.0.1 is a secure context).

    Deliberately not built on pytest-playwright's session-wide `browser_context_args`/`base_url`: resolving
    those here would pin this folder's origin for every later browser test in the session (tests/site).
    """
    return {"base_url": local_stack.origin}


@pytest.fixture
def lex(local_stack: LocalStack) -> LexRuntimeV2Client:
    """An unmodified boto3 Lex V2 runtime client pointed at the local stack."""
    return boto3.client(
        "lexv2-runtime",
        endpoint_url=local_stack.origin,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@pytest.fixture
def say(lex: LexRuntimeV2Client, local_stack: LocalStack) -> Say:
    """Send one user turn in a fresh conversation (one session per test); Lex's parsed answer."""
    bot = local_stack.info.bot
    session_id = f"test-{uuid.uuid4()}"

    def send(text: str) -> dict[str, Any]:
        answer = lex.recognize_text(
            botId=bot.bot_id, botAliasId=bot.alias_id, localeId="en_US", sessionId=session_id, text=text
        )
        return dict(answer)

    return send
