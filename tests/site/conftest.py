"""Fixtures for the chat page tests: the loopback server with the double, the base URL, the console."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.site.chat_double import DIST, ChatDouble, handler_for


@pytest.fixture(scope="session")
def built_site() -> Path:
    """site/dist, which `make site` builds; without it the tests fail (never skip) and say how to build it."""
    if not (DIST / "index.html").is_file() or not (DIST / "size.json").is_file():
        pytest.fail(f"{DIST} has no build: run `make site`")
    return DIST


@pytest.fixture(scope="session")
def site_server(built_site: Path) -> Iterator[tuple[ThreadingHTTPServer, ChatDouble]]:
    """The built page and the double on one loopback origin, for the whole session."""
    double = ChatDouble()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(double))
    server.daemon_threads = True
    double.origin = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    yield server, double
    server.shutdown()
    server.server_close()


@pytest.fixture
def chat(site_server: tuple[ThreadingHTTPServer, ChatDouble]) -> ChatDouble:
    """The double, reset: no scripted replies, no recorded requests, default answers."""
    _, double = site_server
    double.reset()
    return double


@pytest.fixture(scope="session")
def base_url(site_server: tuple[ThreadingHTTPServer, ChatDouble]) -> str:
    """pytest-playwright's base URL: the loopback origin (a secure context, so crypto.subtle works)."""
    return site_server[1].origin
