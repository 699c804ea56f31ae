"""The local stack's server is a real one: bursts, malformed HTTP, chunked bodies, foreign hosts, cross-site
requests and methods no route takes all get a clear answer (JSON, 4xx), never a reset or a 500."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from contracts.page import security_headers
from local.server import MAX_BODY_BYTES, LocalHttpServer, allowed_hosts, listen
from local.stack import LocalStack
from local.staff_pages import STAFF_CSP
from local.stand_ins import StandInNames
from tests.local.stack_helpers import fetch, host_header, raw_request

pytestmark = pytest.mark.local_stack
BURST = 200


def lex_text_path(local_stack: LocalStack, session_id: str) -> str:
    bot = local_stack.info.bot
    return f"/bots/{bot.bot_id}/botAliases/{bot.alias_id}/botLocales/en_US/sessions/{session_id}/text"


def query_row(session_id: str) -> dict[str, Any]:
    return {"sessionId": session_id, "timestamp": int(time.time() * 1000), "userQuery": "hi", "botResponse": "Hello!"}


def stored_rows(session_id: str) -> list[dict[str, Any]]:
    """The query-log rows of one session, read from the stand-in table itself."""
    table = StandInNames().query_log_table
    answer = boto3.client("dynamodb").query(
        TableName=table, KeyConditionExpression="sessionId = :s", ExpressionAttributeValues={":s": {"S": session_id}}
    )
    return list(answer["Items"])


def tickets_of(session_id: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=StandInNames().tickets_table)["Items"]
    return [item for item in items if session_id in json.dumps(item)]


def json_body(body: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(body)
    return parsed


# --- bursts and framing --------------------------------------------------------------------------------------------


def test_a_burst_of_200_simultaneous_connections_is_answered_in_full(local_stack: LocalStack) -> None:
    # GIVEN 200 clients that connect at the same moment
    host, port = host_header(local_stack.origin).rsplit(":", 1)
    start = threading.Barrier(BURST)
    statuses: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        try:
            start.wait(30)
            with socket.create_connection((host, int(port)), timeout=30) as sock:
                sock.sendall(f"GET /config.js HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
                response = http.client.HTTPResponse(sock)
                response.begin()
                response.read()
                with lock:
                    statuses.append(response.status)
        except (OSError, threading.BrokenBarrierError, http.client.HTTPException) as exc:
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client) for _ in range(BURST)]
    # WHEN they all send a request at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # THEN every one is answered 200: none reset, none refused
    assert failures == [], f"{len(failures)} of {BURST} connections failed, e.g. {failures[:3]}"
    assert statuses == [200] * BURST


def test_a_percent_encoded_null_byte_in_the_path_is_a_json_404(local_stack: LocalStack) -> None:
    status, headers, body = fetch(local_stack.origin + "/index%00.html")
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert "message" in json_body(body)


def test_a_raw_null_byte_in_the_request_line_is_a_json_400(local_stack: LocalStack) -> None:
    host = host_header(local_stack.origin)
    status, headers, body = raw_request(local_stack.origin, f"GET /a\x00b HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert "Invalid HTTP request" in json_body(body)["message"]


@pytest.mark.parametrize("path", ["/" + "a" * 300, "/assets/" + "b" * 256 + ".js", "/x/" * 100])
def test_a_path_too_long_for_the_file_system_is_a_json_404(local_stack: LocalStack, path: str) -> None:
    status, headers, body = fetch(local_stack.origin + path)
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert "message" in json_body(body)


def test_a_chunked_body_is_read_as_the_body_and_the_connection_goes_on(local_stack: LocalStack) -> None:
    # GIVEN one keep-alive connection
    session_id = f"chunked-{uuid.uuid4()}"
    row = json.dumps(query_row(session_id)).encode()
    connection = http.client.HTTPConnection(host_header(local_stack.origin), timeout=10)
    try:
        # WHEN a turn is posted with Transfer-Encoding: chunked, in three chunks
        chunks = iter([row[:10], row[10:30], row[30:]])
        connection.request(
            "POST", "/api/store-query", body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True
        )
        first = connection.getresponse()
        first_body = first.read()
        # AND a second request follows on the same connection
        connection.request("GET", "/config.js")
        second = connection.getresponse()
        second.read()
    finally:
        connection.close()
    # THEN the body was read whole (the row is stored) and the next request was read as a request
    assert (first.status, json.loads(first_body)) == (201, {"stored": True})
    assert second.status == 200
    assert len(stored_rows(session_id)) == 1


def test_a_chunked_body_over_the_limit_is_a_json_413(local_stack: LocalStack) -> None:
    connection = http.client.HTTPConnection(host_header(local_stack.origin), timeout=30)
    try:
        chunks = iter([b"x" * 65536] * (MAX_BODY_BYTES // 65536 + 2))
        connection.request("POST", "/api/store-query", body=chunks, encode_chunked=True)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 413
    assert json_body(body)["header"] == "Content-Length"


@pytest.mark.parametrize("length", ["abc", "-1", "12, 13"])
def test_a_content_length_that_is_not_a_length_is_a_json_400(local_stack: LocalStack, length: str) -> None:
    host = host_header(local_stack.origin)
    request = f"POST /api/store-query HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n\r\n{{}}"
    status, headers, body = raw_request(local_stack.origin, request.encode())
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert "message" in json_body(body)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/", "GET, HEAD"),
        ("OPTIONS", "/", "GET, HEAD"),
        ("PROPFIND", "/index.html", "GET, HEAD"),
        ("PATCH", "/config.js", "GET, HEAD"),
        ("OPTIONS", "/_local/outbox", "GET, HEAD"),
        ("PATCH", "/api/store-query", "POST"),
        ("TRACE", "/api/escalate", "POST"),
        ("OPTIONS", "/cognito-identity", "POST"),
    ],
)
def test_a_method_a_route_does_not_take_is_a_json_405_naming_the_allowed_ones(
    local_stack: LocalStack, method: str, path: str, allowed: str
) -> None:
    status, headers, body = fetch(local_stack.origin + path, method)
    assert status == 405
    assert headers["Content-Type"] == "application/json"
    assert headers["Allow"] == allowed
    assert "message" in json_body(body)


def test_a_method_lex_does_not_take_is_lex_s_405(local_stack: LocalStack) -> None:
    status, headers, body = fetch(local_stack.origin + lex_text_path(local_stack, "s-405"), "PUT", {"text": "hi"})
    assert status == 405
    assert headers["x-amzn-ErrorType"] == "MethodNotAllowedException"
    assert headers["Allow"] == "POST"
    assert "message" in json_body(body)


# --- hosts and origins ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/_local/outbox?format=json", "/api/admin/turns", "/config.js", "/"])
def test_a_foreign_host_is_refused_before_anything_is_served(local_stack: LocalStack, path: str) -> None:
    # GIVEN a page on another site whose name now resolves to 127.0.0.1 (DNS rebinding)
    port = local_stack.origin.rsplit(":", 1)[1]
    # WHEN it asks for a staff page, the config or the page
    status, _, body = fetch(local_stack.origin + path, headers={"Host": f"attacker.example:{port}"})
    # THEN the server says it is not that host, and serves nothing of its own
    assert status == 421
    assert json_body(body)["header"] == "Host"
    assert b"rows" not in body
    assert b"CHATBOT_CONFIG" not in body


def test_the_loopback_names_are_this_server_and_the_config_follows_the_name_used(local_stack: LocalStack) -> None:
    port = local_stack.origin.rsplit(":", 1)[1]
    status, _, body = fetch(local_stack.origin + "/config.js", headers={"Host": f"localhost:{port}"})
    assert status == 200
    config = json.loads(body.decode().removeprefix("window.CHATBOT_CONFIG = ").rstrip().removesuffix(";"))
    assert config["lexEndpoint"] == f"http://localhost:{port}"


def test_allowed_hosts_are_the_loopback_names_and_the_listening_host() -> None:
    assert allowed_hosts("127.0.0.1", 8000) == ["127.0.0.1:8000", "localhost:8000", "[::1]:8000"]
    assert "192.168.1.5:8000" in allowed_hosts("0.0.0.0", 8000, ["192.168.1.5"])  # noqa: S104 - only a name here
    assert "[::1]" in allowed_hosts("::1", 80)


@pytest.mark.parametrize("route", ["/api/store-query", "/api/escalate"])
def test_a_cross_site_post_is_refused_and_writes_nothing(local_stack: LocalStack, route: str) -> None:
    # GIVEN another site's page posting a "simple" cross-site request (no preflight: text/plain)
    session_id = f"csrf-{uuid.uuid4()}"
    payload = {**query_row(session_id), "userEmail": "victim@example.com", "userName": "Victim"}
    if route.endswith("escalate"):
        payload = {k: payload[k] for k in ("sessionId", "userQuery", "userEmail", "userName")}
    # WHEN it reaches the API
    status, _, body = fetch(
        local_stack.origin + route,
        "POST",
        json.dumps(payload).encode(),
        {"Content-Type": "text/plain", "Origin": "https://attacker.example"},
    )
    # THEN it is refused, naming the header, and nothing is stored: no row, no ticket
    assert status == 403
    assert json_body(body)["header"] == "Origin"
    assert stored_rows(session_id) == []
    assert tickets_of(session_id) == []


def test_a_cross_site_lex_turn_is_refused_as_lex_refuses_access(local_stack: LocalStack) -> None:
    status, headers, body = fetch(
        local_stack.origin + lex_text_path(local_stack, "csrf-lex"),
        "POST",
        {"text": "talk to a human"},
        {"Content-Type": "application/json", "Origin": "https://attacker.example"},
    )
    assert status == 403
    assert headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert "Origin" in json_body(body)["message"]


def test_a_cross_site_request_without_origin_is_refused_by_its_fetch_metadata(local_stack: LocalStack) -> None:
    session_id = f"sfs-{uuid.uuid4()}"
    status, _, body = fetch(
        local_stack.origin + "/api/store-query",
        "POST",
        query_row(session_id),
        {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
    )
    assert status == 403
    assert json_body(body)["header"] == "Sec-Fetch-Site"
    assert stored_rows(session_id) == []


def test_the_page_s_own_origin_may_post(local_stack: LocalStack) -> None:
    session_id = f"same-origin-{uuid.uuid4()}"
    status, _, _ = fetch(
        local_stack.origin + "/api/store-query",
        "POST",
        query_row(session_id),
        {"Content-Type": "application/json", "Origin": local_stack.origin, "Sec-Fetch-Site": "same-origin"},
    )
    assert status == 201
    assert len(stored_rows(session_id)) == 1


def test_staff_json_carries_nosniff_and_the_staff_pages_csp(local_stack: LocalStack) -> None:
    status, headers, _ = fetch(local_stack.origin + "/_local/outbox?format=json")
    assert status == 200
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == security_headers(STAFF_CSP)["Content-Security-Policy"]


# --- Lex's validation, over HTTP -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (b'{"text": "hi", "sessionState": "yes"}', "sessionState"),
        (b'{"text": "hi", "sessionState": {"sessionAttributes": {"n": 1}}}', "sessionState.sessionAttributes.n"),
        (b'{"text": "hi", "sessionState": {"intent": {"state": "InProgress"}}}', "sessionState.intent.name"),
        (b'{"text": "hi", "sessionState": {"dialogAction": {"type": "Jump"}}}', "sessionState.dialogAction.type"),
        (b'{"text": "hi", "x": NaN}', "NaN"),
        (b'{"text": "\\ud800"}', "text"),
        (json.dumps({"text": "hi", "sessionState": {"sessionAttributes": {"a": "x" * 13000}}}).encode(), "12288"),
    ],
)
def test_a_malformed_lex_request_is_lex_s_validation_exception(local_stack: LocalStack, raw: bytes, named: str) -> None:
    url = local_stack.origin + lex_text_path(local_stack, "s-validation")
    status, headers, body = fetch(url, "POST", raw, {"Content-Type": "application/json"})
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "ValidationException"
    assert named in json_body(body)["message"]


# --- timeouts ------------------------------------------------------------------------------------------------------


@pytest.fixture
def quick_server() -> Iterator[str]:
    """The local stack's HTTP server, with a one-second request timeout, serving a one-route app."""

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("hello")

    server = LocalHttpServer(listen("127.0.0.1", 0), Starlette(routes=[Route("/", hello)]), request_timeout=1.0)
    server.start()
    host, port = server.address
    yield f"{host}:{port}"
    server.stop()


def test_a_request_that_never_arrives_whole_is_closed_not_held(quick_server: str) -> None:
    # GIVEN a client that sends half a request and then nothing
    host, port = quick_server.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: " + quick_server.encode() + b"\r\nX-Slow: ")
        # WHEN the server's request timeout passes
        # THEN the server closes the connection (the read ends), instead of holding it forever
        assert sock.recv(1024) == b""


def test_a_whole_request_on_the_same_server_is_answered(quick_server: str) -> None:
    status, _, body = raw_request(
        f"http://{quick_server}", f"GET / HTTP/1.1\r\nHost: {quick_server}\r\nConnection: close\r\n\r\n".encode()
    )
    assert (status, body) == (200, b"hello")
