"""Load the local stack as `make local` runs it: start-up, a burst of simultaneous connections, many sessions.

`python -m bench.load_local [--sessions 100] [--turns 10] [--think 1-3] [--burst 200]` starts `python -m local`
as its own process on a free loopback port (the load comes from this process, as browsers are not the
server), then measures:

1. start-up: from starting the process to the first answered request (the page), and to the first answered
   Lex turn that runs the fulfillment function;
2. a burst: `--burst` connections opened at the same moment, each sending one request (the page, then a
   RecognizeText); every one must be answered, none reset;
3. sessions: `--sessions` conversations at once, `--turns` turns each. A turn is what the page does: Lex
   RecognizeText, then POST /api/store-query with the answer. **Think time**: a real user reads the answer
   and types the next message, so each session waits a random `--think` seconds (default 1 to 3, seeded)
   before each turn; that is brisk typing, so the load is on the heavy side of real use. `--think 0` sends
   the next turn as soon as the last is answered (a stress figure, not a user). Every answer is checked (the
   reply the bot definition gives, 201 from the API), and the query log must then hold exactly one row per
   logged turn.

Pass/fail (exit 1 otherwise): 0 errors, 0 resets, turn p99 under `--p99-ms` (300), rows = turns, burst all
answered. Bounded: only 127.0.0.1, a fixed number of requests, each with a timeout, and `--budget` seconds
(120) of load at most.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.stack import API_BASE_PATH, STORE_QUERY_ROUTE

REPO = Path(__file__).resolve().parent.parent
BOT_PATH = "/bots/LOCALBOTID/botAliases/LOCALALIAS/botLocales/en_US/sessions"
# One conversation: a slot elicited over two turns, two code-hook answers, a static answer.
SCRIPT = (
    ("Where is my order", "Could you please provide your customer ID?"),
    ("12345", "Hi John Smith! Your last order ORD-789 is currently Shipped."),
    ("Check my account balance for customer 67890", "Hi Jane Doe! Your current account balance is $89.23."),
    ("Tell me about your laptops", "Our laptops feature high-performance processors and long battery life"),
    ("thank you", "You're welcome!"),
)
REQUEST_TIMEOUT_SECONDS = 30.0
START_TIMEOUT_SECONDS = 120.0
MAX_BUDGET_SECONDS = 300.0
RESET_ERRORS = (ConnectionResetError, ConnectionRefusedError, BrokenPipeError, asyncio.IncompleteReadError)


class ResetError(Exception):
    """The connection was refused, reset or closed before the answer was complete."""


# --- a minimal HTTP/1.1 client (asyncio: hundreds of connections from one thread cost the server nothing) -----


@dataclass
class Answer:
    status: int
    body: bytes


class Connection:
    """One keep-alive HTTP/1.1 connection, as a browser tab holds one."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None) -> Answer:
        """Send one request and read the whole answer; ResetError when the connection fails."""
        data = b"" if body is None else json.dumps(body).encode()
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Accept: */*",
            f"Content-Length: {len(data)}",
        ]
        if body is not None:
            head.append("Content-Type: application/json")
        try:
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            assert self._reader is not None
            self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
            await self._writer.drain()
            return await asyncio.wait_for(self._read_answer(self._reader), REQUEST_TIMEOUT_SECONDS)
        except (*RESET_ERRORS, OSError) as exc:
            await self.close()
            raise ResetError(f"{type(exc).__name__}: {exc}") from exc

    async def _read_answer(self, reader: asyncio.StreamReader) -> Answer:
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            elif name.strip().lower() == "connection" and value.strip().lower() == "close":
                close = True
        body = await reader.readexactly(length)
        if close:
            await self.close()
        return Answer(status, body)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


# --- the stack under test ----------------------------------------------------------------------------------------


@dataclass
class StackProcess:
    """`python -m local` on a free loopback port, as `make local` runs it, with its start-up times."""

    lambda_concurrency: int | None = None
    port: int = 0
    moto_url: str = ""
    to_first_page_s: float = 0.0
    to_first_fulfilled_turn_s: float = 0.0
    output: list[str] = field(default_factory=list)
    _process: subprocess.Popen[str] | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StackProcess:
        self.port = free_port()
        command = [sys.executable, "-m", "local", "--port", str(self.port)]
        if self.lambda_concurrency is not None:
            command += ["--lambda-concurrency", str(self.lambda_concurrency)]
        started = time.perf_counter()
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter, our own module, fixed arguments
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        threading.Thread(target=self._collect_output, daemon=True).start()
        self.to_first_page_s = self._until_answered(started, "GET", "/", None)
        turn = {"text": "What is my order status for customer 12345?"}  # answered by the fulfillment function
        self.to_first_fulfilled_turn_s = self._until_answered(started, "POST", f"{BOT_PATH}/startup-probe/text", turn)
        deadline = time.monotonic() + 10
        while not self.moto_url and time.monotonic() < deadline:
            self.moto_url = next((m.group(1) for line in self.output if (m := _MOTO_LINE.search(line))), "")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def _collect_output(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        for line in self._process.stdout:
            if len(self.output) < 5000:  # enough to diagnose; a long run's function logs are not kept
                self.output.append(line.rstrip("\n"))

    def _until_answered(self, started: float, method: str, path: str, body: Any) -> float:
        """Seconds from `started` until `method path` is answered 200 (polled every 20 ms)."""
        data = None if body is None else json.dumps(body).encode()
        while time.perf_counter() - started < START_TIMEOUT_SECONDS:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError("the local stack exited:\n" + "\n".join(self.output[-20:]))
            request = urllib.request.Request(self.origin + path, data=data, method=method)  # noqa: S310 - loopback
            try:
                with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as answer:  # noqa: S310
                    if answer.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{method} {path} not answered within {START_TIMEOUT_SECONDS:.0f} s")


_MOTO_LINE = re.compile(r"AWS stand-ins\s+(http://127\.0\.0\.1:\d+)")


# --- measurements ---------------------------------------------------------------------------------------------------


@dataclass
class BurstResult:
    """One burst: how many connections, how many answered 2xx, how many reset or failed, the slowest answer."""

    what: str
    connections: int
    answered: int = 0
    resets: int = 0
    errors: list[str] = field(default_factory=list)
    slowest_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.answered == self.connections and not self.resets and not self.errors


@dataclass
class SessionsResult:
    """The sessions run: latencies, failures, and the query log checked against the turns logged."""

    sessions: int
    turns_per_session: int
    think: tuple[float, float]
    seconds: float = 0.0
    turn_ms: list[float] = field(default_factory=list)
    lex_ms: list[float] = field(default_factory=list)
    store_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    resets: int = 0
    logged: dict[str, int] = field(default_factory=dict)  # session id -> turns stored with a 201
    rows: int = -1  # rows found in the query log for those sessions (-1: not counted)

    @property
    def turns(self) -> int:
        return len(self.turn_ms)

    def ok(self, p99_limit_ms: float) -> bool:
        return (
            not self.errors
            and not self.resets
            and self.turns == self.sessions * self.turns_per_session
            and self.rows == sum(self.logged.values())
            and percentile(self.turn_ms, 99) < p99_limit_ms
        )


async def burst(host: str, port: int, connections: int, method: str, path: str, body: Any, what: str) -> BurstResult:
    """`connections` connections opened at once, one request each; all must be answered."""
    result = BurstResult(what, connections)
    gate = asyncio.Event()

    async def one(index: int) -> None:
        connection = Connection(host, port)
        await gate.wait()
        began = time.perf_counter()
        target = path.replace("{i}", str(index))
        try:
            answer = await connection.request(method, target, body)
        except ResetError as exc:
            result.resets += 1
            result.errors.append(str(exc))
            return
        finally:
            await connection.close()
        result.slowest_ms = max(result.slowest_ms, (time.perf_counter() - began) * 1000)
        if 200 <= answer.status < 300:
            result.answered += 1
        else:
            result.errors.append(f"{target}: {answer.status} {answer.body[:200]!r}")

    tasks = [asyncio.create_task(one(i)) for i in range(connections)]
    await asyncio.sleep(0.05)  # every task is waiting at the gate
    gate.set()
    await asyncio.gather(*tasks)
    return result


async def sessions(
    host: str, port: int, count: int, turns: int, think: tuple[float, float], budget_seconds: float, seed: int
) -> SessionsResult:
    """`count` conversations at once, `turns` turns each, with think time before each turn."""
    result = SessionsResult(count, turns, think)
    rng = random.Random(seed)  # noqa: S311 - think times, not secrets: the same plan on every run
    deadline = time.monotonic() + budget_seconds
    plans = [[rng.uniform(*think) for _ in range(turns)] for _ in range(count)]
    started = time.perf_counter()
    await asyncio.gather(
        *(_session(host, port, f"load-{i}-{uuid.uuid4().hex[:8]}", plans[i], deadline, result) for i in range(count))
    )
    result.seconds = time.perf_counter() - started
    return result


async def _session(
    host: str, port: int, session_id: str, thinks: Sequence[float], deadline: float, result: SessionsResult
) -> None:
    connection = Connection(host, port)
    last_timestamp = 0
    try:
        for turn, think in enumerate(thinks):
            await asyncio.sleep(think)
            if time.monotonic() > deadline:
                result.errors.append(f"{session_id}: budget spent before turn {turn + 1}")
                return
            text, expected = SCRIPT[turn % len(SCRIPT)]
            timestamp = max(last_timestamp + 1, int(time.time() * 1000))  # (sessionId, timestamp) is the row key
            last_timestamp = timestamp
            try:
                began = time.perf_counter()
                answer = await connection.request("POST", f"{BOT_PATH}/{session_id}/text", {"text": text})
                lex_done = time.perf_counter()
                reply = _reply(answer, expected)
                stored = await connection.request(
                    "POST", API_BASE_PATH + STORE_QUERY_ROUTE.path, _row(session_id, timestamp, text, reply)
                )
                done = time.perf_counter()
                if stored.status != 201:
                    raise AssertionError(f"store-query answered {stored.status}: {stored.body[:200]!r}")
            except ResetError as exc:
                result.resets += 1
                result.errors.append(f"{session_id} turn {turn + 1}: {exc}")
                continue
            except (AssertionError, ValueError, KeyError) as exc:
                result.errors.append(f"{session_id} turn {turn + 1}: {exc}")
                continue
            result.turn_ms.append((done - began) * 1000)
            result.lex_ms.append((lex_done - began) * 1000)
            result.store_ms.append((done - lex_done) * 1000)
            result.logged[session_id] = result.logged.get(session_id, 0) + 1
    finally:
        await connection.close()


def _reply(answer: Answer, expected: str) -> dict[str, Any]:
    if answer.status != 200:
        raise AssertionError(f"RecognizeText answered {answer.status}: {answer.body[:200]!r}")
    parsed: dict[str, Any] = json.loads(answer.body)
    text = " ".join(message.get("content", "") for message in parsed.get("messages", []))
    if expected not in text:
        raise AssertionError(f"expected {expected!r}, got {text!r}")
    return parsed


def _row(session_id: str, timestamp: int, text: str, answer: dict[str, Any]) -> dict[str, Any]:
    interpretation = (answer.get("interpretations") or [{}])[0]
    return {
        "sessionId": session_id,
        "timestamp": timestamp,
        "userQuery": text,
        "botResponse": " ".join(message.get("content", "") for message in answer.get("messages", [])),
        "confidenceScore": interpretation.get("nluConfidence", {}).get("score"),
        "intentName": answer["sessionState"].get("intent", {}).get("name"),
    }


def count_rows(moto_url: str, table: str, session_ids: set[str]) -> int:
    """Rows of the query log that belong to `session_ids` (a full scan of the stand-in table)."""
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any
    )
    count = 0
    for page in client.get_paginator("scan").paginate(TableName=table, ProjectionExpression="sessionId"):
        count += sum(1 for item in page["Items"] if item["sessionId"]["S"] in session_ids)
    return count


# --- the report -------------------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    """Everything one run measured, and whether it met the goals."""

    stack: StackProcess
    bursts: list[BurstResult]
    sessions: SessionsResult
    p99_limit_ms: float

    @property
    def ok(self) -> bool:
        return all(b.ok for b in self.bursts) and self.sessions.ok(self.p99_limit_ms)

    @property
    def errors(self) -> list[str]:
        return [*(e for b in self.bursts for e in b.errors), *self.sessions.errors]

    def lines(self) -> list[tuple[str, str]]:
        s = self.sessions
        think = "none (stress)" if s.think == (0.0, 0.0) else f"{s.think[0]:g}-{s.think[1]:g} s before each turn"
        rows = [
            ("start-up: first page", f"{self.stack.to_first_page_s:.2f} s"),
            ("start-up: first fulfilled Lex turn", f"{self.stack.to_first_fulfilled_turn_s:.2f} s"),
        ]
        for b in self.bursts:
            rows.append(
                (
                    f"burst: {b.connections} connections, {b.what}",
                    f"{b.answered} answered, {b.resets} reset, {len(b.errors)} errors, slowest {b.slowest_ms:.0f} ms",
                )
            )
        rows += [
            ("sessions x turns", f"{s.sessions} x {s.turns_per_session} (RecognizeText + store-query each turn)"),
            ("think time (a user reads and types)", think),
            ("turns completed", f"{s.turns} in {s.seconds:.1f} s ({s.turns / s.seconds if s.seconds else 0:.1f}/s)"),
            ("turn latency p50 / p99", f"{percentile(s.turn_ms, 50):.0f} / {percentile(s.turn_ms, 99):.0f} ms"),
            ("  RecognizeText p50 / p99", f"{percentile(s.lex_ms, 50):.0f} / {percentile(s.lex_ms, 99):.0f} ms"),
            ("  store-query p50 / p99", f"{percentile(s.store_ms, 50):.0f} / {percentile(s.store_ms, 99):.0f} ms"),
            ("errors / resets", f"{len(s.errors)} / {s.resets}"),
            ("query-log rows = stored turns", f"{s.rows} = {sum(s.logged.values())}"),
            (
                "goal (0 errors, 0 resets, p99 <",
                f"{self.p99_limit_ms:.0f} ms, rows = turns): {'met' if self.ok else 'NOT met'}",
            ),
        ]
        return rows


def percentile(values: Sequence[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def run(
    sessions_count: int = 100,
    turns: int = 10,
    think: tuple[float, float] = (1.0, 3.0),
    burst_size: int = 200,
    budget_seconds: float = 120.0,
    p99_limit_ms: float = 300.0,
    lambda_concurrency: int | None = None,
    seed: int = 13,
) -> LoadReport:
    """Start `python -m local`, measure start-up, bursts and sessions, count the query log, stop it."""
    budget_seconds = min(budget_seconds, MAX_BUDGET_SECONDS)
    with StackProcess(lambda_concurrency) as stack:
        host, port = "127.0.0.1", stack.port
        bursts = [
            asyncio.run(burst(host, port, burst_size, "GET", "/", None, "GET / (the page)")),
            asyncio.run(
                burst(
                    host,
                    port,
                    burst_size,
                    "POST",
                    f"{BOT_PATH}/burst-{{i}}/text",
                    {"text": SCRIPT[2][0]},
                    "RecognizeText",
                )
            ),
        ]
        result = asyncio.run(sessions(host, port, sessions_count, turns, think, budget_seconds, seed))
        from local.stand_ins import StandInNames

        result.rows = count_rows(stack.moto_url, StandInNames().query_log_table, set(result.logged))
    return LoadReport(stack, bursts, result, p99_limit_ms)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def print_table(rows: list[tuple[str, str]], title: str) -> None:
    width = max(len(name) for name, _ in rows)
    print(title)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def _think(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_local", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100, help="concurrent conversations (default 100)")
    parser.add_argument("--turns", type=int, default=10, help="turns per conversation (default 10)")
    parser.add_argument("--think", type=_think, default=(1.0, 3.0), help="seconds before each turn, LOW-HIGH (1-3)")
    parser.add_argument("--burst", type=int, default=200, help="simultaneous connections in each burst (200)")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds of session load at most (120)")
    parser.add_argument("--p99-ms", type=float, default=300.0, help="the turn latency p99 goal (300 ms)")
    parser.add_argument("--lambda-concurrency", type=int, default=None, help="passed to python -m local")
    args = parser.parse_args(argv)
    report = run(args.sessions, args.turns, args.think, args.burst, args.budget, args.p99_ms, args.lambda_concurrency)
    print_table(report.lines(), "Local stack under load (python -m local, loopback)")
    for error in report.errors[:10]:
        print(f"  error: {error}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
