"""Helpers for the local-stack tests (a module of its own: test modules never import conftest)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

Say = Callable[[str], dict[str, Any]]
"""Send one user turn in the test's conversation; Lex's parsed answer."""


def message_texts(answer: dict[str, Any]) -> list[str]:
    """The contents of a Lex answer's messages."""
    return [message["content"] for message in answer.get("messages", [])]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
