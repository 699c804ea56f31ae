"""Fixtures for the local stack: the bot definition, the whole stack on a free loopback port, Lex clients.

The stack runs in this process for the tests of this folder only: it is stopped (moto too, and the
environment put back) right after the last of them, so tests in other folders never see its
AWS_ENDPOINT_URL or its handler modules.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from bot.schema import BotDefinition, load_definition
from local.stack import SITE_DIR, LocalStack
from tests.local.stack_helpers import Say, free_port

if TYPE_CHECKING:
    from mypy_boto3_lexv2_runtime.client import LexRuntimeV2Client

HERE = Path(__file__).resolve().parent
_running: list[LocalStack] = []


@pytest.fixture(scope="session")
def definition() -> BotDefinition:
    return load_definition()


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """The whole chatbot on http://127.0.0.1:<free port>, started once for this folder's tests."""
    if not (SITE_DIR / "index.html").is_file():
        pytest.fail(f"{SITE_DIR} has no build: run `make site`")
    stack = LocalStack("127.0.0.1", free_port(), log_level="WARNING")
    stack.start()
    _running.append(stack)
    yield stack
    stack.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Stop the stack once the last test of this folder is done (after its own fixtures are torn down)."""
    result = yield
    if _running and (nextitem is None or HERE not in nextitem.path.parents):
        _running.pop().stop()
    return result


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def base_url(local_stack: LocalStack) -> str:
    """pytest-playwright's base URL: the local stack's origin (127.0.0.1 is a secure context)."""
    return local_stack.origin
