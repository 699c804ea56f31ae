"""Helpers for the local-stack tests (a module of its own: test modules never import conftest)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from local.staff_sign_in import CLIENT_ID

if TYPE_CHECKING:
    from local.stack import LocalStack

Say = Callable[[str], dict[str, Any]]
"""Send one user turn in the test's conversation; Lex's parsed answer."""


def message_texts(answer: dict[str, Any]) -> list[str]:
    """The texts of a Lex answer's messages (quick-reply cards have none: see `message_cards`)."""
    return [message["content"] for message in answer.get("messages", []) if "content" in message]


def message_cards(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The quick-reply cards (`imageResponseCard`) of a Lex answer's messages."""
    return [message["imageResponseCard"] for message in answer.get("messages", []) if "imageResponseCard" in message]


def clean_env() -> dict[str, str]:
    """The environment of a fresh shell: no AWS settings leaking in from the test session."""
    return {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Headers(dict[str, str]):
    """Response headers. Their names are case-insensitive (RFC 9110, 5.1), so lookups ignore case."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        super().__init__((name.lower(), value) for name, value in items)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return super().__contains__(str(name).lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


def fetch(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Headers, bytes]:
    """One HTTP request over loopback: status, headers and body (4xx/5xx included, never raised)."""
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, Headers(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, Headers(error.headers.items()), error.read()


def raw_request(origin: str, data: bytes, timeout: float = 10.0) -> tuple[int, Headers, bytes]:
    """Send `data` as it is (however malformed) on a new connection to `origin`; the answer, parsed."""
    host, port = origin.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, Headers(response.getheaders()), response.read()


def host_header(origin: str) -> str:
    """The Host header a client sends to `origin`."""
    return origin.removeprefix("http://")


def wait_for_email(local_stack: LocalStack, ticket: str, timeout: float = 15.0) -> dict[str, Any]:
    """The outbox email about `ticket`, once the queue loop has had the sender send it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, _, body = fetch(local_stack.origin + "/_local/outbox?format=json")
        for email in json.loads(body)["emails"]:
            # Reply-To is noted when the sender's SendEmail call returns, a moment after SES has the email.
            if ticket in email["subject"] and email["reply_to"]:
                return dict(email)
        time.sleep(0.2)
    raise AssertionError(f"no email (with a Reply-To) for ticket {ticket} within {timeout} s")


def staff_tokens(local_stack: LocalStack) -> dict[str, Any]:
    """Sign in as the local stack's staff member through the hosted UI's stand-in, as the admin page does
    (authorization code with PKCE): the token endpoint's answer."""
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = local_stack.origin + "/admin/"
    form = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "username": local_stack.info.staff_email,
        "password": local_stack.info.staff_password,
    }
    status, headers, body = _post_form(local_stack.origin + "/oauth2/authorize", form)
    assert status == 302, (status, body[:300])
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(headers["Location"]).query)["code"][0]
    token_form = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "code": code,
        "redirect_uri": redirect,
        "code_verifier": verifier,
    }
    status, _, body = _post_form(local_stack.origin + "/oauth2/token", token_form)
    assert status == 200, body
    return dict(json.loads(body))


def admin_get(local_stack: LocalStack, path: str, token: str | None = None, **params: Any) -> tuple[int, Any]:
    """GET an admin API route (`/admin/...`) signed in (a fresh sign-in unless `token` is given): status and JSON."""
    token = token or staff_tokens(local_stack)["id_token"]
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    status, _, body = fetch(f"{local_stack.origin}/api{path}{query}", headers={"Authorization": f"Bearer {token}"})
    return status, json.loads(body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


def _post_form(url: str, form: dict[str, str]) -> tuple[int, Headers, bytes]:
    data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, Headers(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, Headers(error.headers.items()), error.read()
