"""Load the local stack: N concurrent conversations through the Lex runtime and /api/store-query.

`python -m bench.load_local [--conversations 20] [--turns 5] [--budget 60]` starts the local stack in this
process on a free loopback port, runs the conversations (each turn: RecognizeText with an unmodified boto3
client, then POST /api/store-query as the page does), and reports turns/s and p50/p99 turn latency. It then
checks there were no errors and that the query log holds exactly one row per logged turn; it exits 1 if not.
Bounded: at most `--budget` seconds of load (60 by default), then it stops by itself.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from contracts.stack import API_BASE_PATH, STORE_QUERY_ROUTE
from local.lambda_events import REGION
from local.stack import LocalStack
from local.staff_pages import query_log

if TYPE_CHECKING:
    from mypy_boto3_lexv2_runtime.client import LexRuntimeV2Client

# One conversation: a slot elicited over two turns, two code-hook answers, a static answer.
SCRIPT = (
    ("Where is my order", "Could you please provide your customer ID?"),
    ("12345", "Hi John Smith! Your last order ORD-789 is currently Shipped."),
    ("Check my account balance for customer 67890", "Hi Jane Doe! Your current account balance is $89.23."),
    ("Tell me about your laptops", "Our laptops feature high-performance processors and long battery life"),
    ("thank you", "You're welcome!"),
)
MAX_BUDGET_SECONDS = 60.0


@dataclass
class LoadReport:
    """What one run measured."""

    conversations: int
    turns_per_conversation: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    logged: dict[str, int] = field(default_factory=dict)  # session id -> turns posted to /api/store-query
    rows: dict[str, int] = field(default_factory=dict)  # session id -> rows found in the query log
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def turns(self) -> int:
        return len(self.latencies_ms)

    @property
    def turns_per_second(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0

    def percentile(self, q: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else 0.0
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]

    @property
    def rows_match(self) -> bool:
        return self.logged == self.rows

    @property
    def ok(self) -> bool:
        return not self.errors and self.rows_match and self.turns > 0

    def lines(self) -> list[tuple[str, str]]:
        return [
            ("conversations x turns", f"{self.conversations} x {self.turns_per_conversation}"),
            ("turns completed", str(self.turns)),
            ("turns/s", f"{self.turns_per_second:.1f}"),
            ("turn latency p50", f"{self.percentile(50):.1f} ms"),
            ("turn latency p99", f"{self.percentile(99):.1f} ms"),
            ("errors", str(len(self.errors))),
            ("query-log rows = logged turns", f"{sum(self.rows.values())} = {sum(self.logged.values())}"),
        ]


def run(conversations: int = 20, turns: int = 5, budget_seconds: float = MAX_BUDGET_SECONDS) -> LoadReport:
    """Start the stack, run the load, check the query log, stop the stack."""
    budget_seconds = min(budget_seconds, MAX_BUDGET_SECONDS)
    report = LoadReport(conversations, turns)
    with LocalStack("127.0.0.1", _free_port(), log_level="ERROR") as stack:
        clients = [_lex_client(stack.origin) for _ in range(conversations)]
        _warm_up(stack, clients)
        deadline = time.monotonic() + budget_seconds
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=conversations, thread_name_prefix="conversation") as pool:
            for index, client in enumerate(clients):
                pool.submit(
                    _conversation, stack, client, f"load-{index}-{uuid.uuid4().hex[:8]}", turns, deadline, report
                )
        report.seconds = time.perf_counter() - started
        rows = query_log(stack.info.query_log_table, limit=1_000_000)
        for row in rows:
            if row["sessionId"] in report.logged:
                report.rows[row["sessionId"]] = report.rows.get(row["sessionId"], 0) + 1
        for session_id in report.logged:
            report.rows.setdefault(session_id, 0)
    return report


def _conversation(
    stack: LocalStack, lex: LexRuntimeV2Client, session_id: str, turns: int, deadline: float, report: LoadReport
) -> None:
    bot = stack.info.bot
    last_timestamp = 0
    for turn in range(turns):
        if time.monotonic() > deadline:
            return
        text, expected = SCRIPT[turn % len(SCRIPT)]
        began = time.perf_counter()
        timestamp = max(last_timestamp + 1, int(time.time() * 1000))  # (sessionId, timestamp) is the row key
        last_timestamp = timestamp
        try:
            answer = lex.recognize_text(
                botId=bot.bot_id, botAliasId=bot.alias_id, localeId=bot_locale(stack), sessionId=session_id, text=text
            )
            parsed: dict[str, Any] = dict(answer)
            reply = " ".join(message.get("content", "") for message in parsed.get("messages", []))
            if expected not in reply:
                raise AssertionError(f"{text!r} got {reply!r}")
            _store_query(stack.origin, session_id, timestamp, text, reply, parsed)
        except Exception as exc:  # every failure is counted and reported, the load goes on
            with report.lock:
                report.errors.append(f"{session_id} turn {turn + 1}: {type(exc).__name__}: {exc}")
            continue
        elapsed_ms = (time.perf_counter() - began) * 1000
        with report.lock:
            report.latencies_ms.append(elapsed_ms)
            report.logged[session_id] = report.logged.get(session_id, 0) + 1


def _warm_up(stack: LocalStack, clients: list[LexRuntimeV2Client]) -> None:
    """Not measured: the first calls pay imports, moto's first answers and each client's first connection."""
    _conversation(
        stack,
        clients[0],
        f"warm-up-{uuid.uuid4().hex[:8]}",
        len(SCRIPT),
        time.monotonic() + 30,
        LoadReport(1, len(SCRIPT)),
    )
    bot = stack.info.bot
    for client in clients:
        client.delete_session(
            botId=bot.bot_id, botAliasId=bot.alias_id, localeId=bot_locale(stack), sessionId="warm-up"
        )


def bot_locale(stack: LocalStack) -> str:
    return stack.info.locale_id


def _store_query(
    origin: str,
    session_id: str,
    timestamp: int,
    text: str,
    reply: str,
    answer: dict[str, Any],
) -> None:
    interpretation = (answer.get("interpretations") or [{}])[0]
    row = {
        "sessionId": session_id,
        "timestamp": timestamp,
        "userQuery": text,
        "botResponse": reply,
        "confidenceScore": interpretation.get("nluConfidence", {}).get("score"),
        "intentName": answer["sessionState"].get("intent", {}).get("name"),
    }
    request = urllib.request.Request(  # noqa: S310 - the local stack's loopback origin, http only
        origin + API_BASE_PATH + STORE_QUERY_ROUTE.path,
        data=json.dumps(row).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - as above
        if response.status != 201:
            raise AssertionError(f"store-query answered {response.status}")


def _lex_client(origin: str) -> LexRuntimeV2Client:
    """An unmodified boto3 client; it signs with the fake credentials the running stack put in the environment."""
    return boto3.client("lexv2-runtime", endpoint_url=origin, region_name=REGION)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def print_table(rows: list[tuple[str, str]], title: str) -> None:
    width = max(len(name) for name, _ in rows)
    print(title)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_local", description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20, help="concurrent conversations (default 20)")
    parser.add_argument("--turns", type=int, default=5, help="turns per conversation (default 5)")
    parser.add_argument("--budget", type=float, default=MAX_BUDGET_SECONDS, help="seconds of load at most (<= 60)")
    args = parser.parse_args(argv)
    report = run(args.conversations, args.turns, args.budget)
    print_table(report.lines(), "Local stack under load (loopback, in-process)")
    for error in report.errors[:10]:
        print(f"  error: {error}", file=sys.stderr)
    if not report.rows_match:
        print("  error: the query log does not hold exactly one row per logged turn", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
