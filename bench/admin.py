"""Admin list latency: the admin API's `GET /admin/turns` on a query log of 100,000 turns, in moto.

How the table is loaded: in-process moto (`mock_aws`), the stand-ins' query-log table with its by-day index
(`local.stand_ins.provision`), 100,000 turns written with BatchWriteItem (25 a call) as the writers store them
(`day` included): 30 days of traffic, ~3,300 turns a day, sessions of 1 to 6 turns, 12% fallbacks, 8% knowledge-base
answers, 6% rated (a third of them down). Seeded: the same table every run.

What is timed: the real handler (`functions/admin_api/handler.py`, `lambda_handler`) called in process with API
Gateway events carrying staff claims, for each query shape below; each request's wall time, and how much of it was
spent inside DynamoDB (moto) calls, and the rest (the handler's own work: parsing, the cursor, the JSON answer).
moto 5.2 answers every Query by sorting all the table's items with Python comparisons (`moto/dynamodb/models/
table.py` `query`), so at 100,000 items the DynamoDB share is moto's, and grows with the table; on DynamoDB a Query
costs by what it reads (the day's partition), not by the table's size. The handler's own share is the figure our
code controls.

Measured (Dec 2026, 2 shared cores at load 4-12, 5 requests per shape, `python -m bench.admin 100000 5`): load 155 s;
50 newest of the last day p50 11.4 s / p99 14.2 s, of the last week 10.8 / 13.0 s (2 reads each), thumbs down of
the week 38.2 / 58.7 s (7 reads: the filter keeps few), fallbacks 12.7 / 17.5 s, next pages 9.1 / 13.0 s; the
handler's own work p50 1.3-1.9 ms, p99 under 2.5 ms in every shape. Every second of the rest is moto's sort.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

TURNS = 100_000
DAYS = 30
REQUESTS = 8  # per query shape: moto sorts the whole table on every Query (see above), seconds each at 100,000
SEED = 12
DAY_MS = 86_400_000
INTENTS = ("OrderStatus", "BillingInquiry", "ProductInfo", "ResetPassword", "WifiHelp", "TalkToHuman", "Greeting")
QUESTIONS = ("where is my order", "reset my password", "wifi is down", "cancel my plan", "gift cards?", "vpn help")


@dataclass(frozen=True)
class Shape:
    """One kind of request staff make."""

    name: str
    path: str
    params: dict[str, str]


@contextmanager
def loaded_table(turns: int = TURNS) -> Iterator[tuple[Any, int, float]]:
    """moto running with the stand-ins and `turns` turns: (dynamodb client, the newest timestamp, load seconds)."""
    from moto import mock_aws

    fake = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {name: os.environ.get(name) for name in fake}
    os.environ.update(fake)
    try:
        with mock_aws():
            import boto3

            from local.stand_ins import provision

            names = provision()
            os.environ.update(names.environment())
            os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
            os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
            client = boto3.client("dynamodb", region_name="us-east-1")
            started = time.perf_counter()
            newest = _load(client, names.query_log_table, turns)
            yield client, newest, time.perf_counter() - started
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _load(client: Any, table: str, turns: int) -> int:
    from functions.store_query.handler import utc_day

    rng = random.Random(SEED)  # noqa: S311 - synthetic traffic, not secrets
    end = 1_764_547_200_000 + DAYS * DAY_MS  # 2025-12-31T00:00Z
    batch: list[dict[str, Any]] = []
    written = 0
    while written < turns:
        session = f"us-east-1:{rng.getrandbits(64):016x}"
        moment = end - rng.randrange(DAYS * DAY_MS)
        for _ in range(min(rng.randint(1, 6), turns - written)):
            moment += rng.randint(2_000, 60_000)
            roll = rng.random()
            intent = "FallbackIntent" if roll < 0.12 else "QnAIntent" if roll < 0.20 else rng.choice(INTENTS)
            item: dict[str, Any] = {
                "sessionId": {"S": session},
                "timestamp": {"N": str(moment)},
                "day": {"S": utc_day(moment)},
                "userQuery": {"S": f"{rng.choice(QUESTIONS)} #{rng.randrange(500)}"},
                "botResponse": {"S": f"Answer {rng.randrange(40)} for {intent}"},
                "intentName": {"S": intent},
                "confidenceScore": {"N": f"{rng.random():.2f}"},
                "sentiment": {"S": rng.choice(("NEUTRAL", "NEUTRAL", "POSITIVE", "NEGATIVE", "MIXED"))},
            }
            if rng.random() < 0.06:
                item["rating"] = {"S": "down" if rng.random() < 1 / 3 else "up"}
            batch.append({"PutRequest": {"Item": item}})
            written += 1
            if len(batch) == 25:
                client.batch_write_item(RequestItems={table: batch})
                batch = []
    if batch:
        client.batch_write_item(RequestItems={table: batch})
    return end + 6 * 60_000


def shapes(newest: int) -> list[Shape]:
    week = {"from": str(newest - 7 * DAY_MS), "to": str(newest)}
    day = {"from": str(newest - DAY_MS), "to": str(newest)}
    return [
        Shape("last day, 50 newest", "/admin/turns", {**day, "limit": "50"}),
        Shape("last week, 50 newest", "/admin/turns", {**week, "limit": "50"}),
        Shape("last week, thumbs down", "/admin/turns", {**week, "rating": "down"}),
        Shape("last week, fallbacks", "/admin/turns", {**week, "answer": "fallback"}),
    ]


def measure(turns: int = TURNS, requests: int = REQUESTS) -> list[tuple[str, str]]:
    """The table's rows: how the table was loaded, then p50/p99 per query shape, with the handler's own share."""
    with loaded_table(turns) as (_, newest, load_seconds):
        from functions.admin_api import handler

        handler.settings.cache_clear()
        handler.reader.__dict__.pop("client", None)  # made afresh inside this moto
        rows = [("table", f"{turns:,} turns over {DAYS} days, loaded in {load_seconds:.0f} s (BatchWriteItem, moto)")]
        for shape in shapes(newest):
            wall, own, reads, count = _time(handler, shape, requests)
            rows.append(
                (
                    shape.name,
                    f"p50 {_ms(wall, 50):.0f} ms, p99 {_ms(wall, 99):.0f} ms; handler's own p50 {_ms(own, 50):.1f} ms,"
                    f" p99 {_ms(own, 99):.1f} ms; {reads:.1f} reads, {count} turns ({requests} requests)",
                )
            )
        page = _cursor_walk(handler, shapes(newest)[1], pages=3, requests=requests)
        rows.append(("next pages (cursor), week", f"p50 {_ms(page, 50):.0f} ms, p99 {_ms(page, 99):.0f} ms"))
        return rows


def _time(handler: Any, shape: Shape, requests: int) -> tuple[list[float], list[float], float, int]:
    wall: list[float] = []
    own: list[float] = []
    reads: list[int] = []
    count = 0
    for _ in range(requests):
        with _timed_queries(handler) as spent:
            started = time.perf_counter()
            answer = handler.lambda_handler(_event(shape.path, shape.params), _Context())
            elapsed = time.perf_counter() - started
        assert answer["statusCode"] == 200, answer["body"][:300]
        wall.append(elapsed)
        own.append(elapsed - sum(spent))
        reads.append(len(spent))
        count = len(__import__("json").loads(answer["body"])["turns"])
    return wall, own, statistics.mean(reads), count


def _cursor_walk(handler: Any, shape: Shape, pages: int, requests: int) -> list[float]:
    import json

    timings: list[float] = []
    for _ in range(max(1, requests // pages)):
        cursor = None
        for _ in range(pages):
            params = {**shape.params, **({"cursor": cursor} if cursor else {})}
            started = time.perf_counter()
            answer = handler.lambda_handler(_event(shape.path, params), _Context())
            timings.append(time.perf_counter() - started)
            cursor = json.loads(answer["body"])["nextCursor"]
            if cursor is None:
                break
    return timings


@contextmanager
def _timed_queries(handler: Any) -> Iterator[list[float]]:
    spent: list[float] = []
    client = handler.reader.client
    original: Callable[..., Any] = client.query

    def query(**kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(**kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    client.query = query
    try:
        yield spent
    finally:
        client.query = original


def _event(path: str, params: dict[str, str]) -> dict[str, Any]:
    from contracts.stack import ORIGIN_SECRET_HEADER
    from local.stand_ins import StandInNames

    headers = {"Accept": "application/json", ORIGIN_SECRET_HEADER: StandInNames().origin_secret}
    return {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": params,
        "multiValueQueryStringParameters": {key: [value] for key, value in params.items()},
        "pathParameters": None,
        "requestContext": {
            "httpMethod": "GET",
            "path": f"/live{path}",
            "requestId": "bench",
            "stage": "live",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {"claims": {"sub": "bench-staff", "email": "staff@example.com", "token_use": "id"}},
        },
        "body": None,
        "isBase64Encoded": False,
    }


@dataclass
class _Context:
    function_name: str = "admin_api"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:admin_api"
    aws_request_id: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _ms(samples: list[float], percentile: int) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(percentile / 100 * len(ordered)) - 1))
    return ordered[index] * 1000


def report() -> list[tuple[str, str]]:
    """Run and return the table's rows (for `python -m bench`)."""
    return measure()


if __name__ == "__main__":
    import sys

    arguments = [int(value) for value in sys.argv[1:3]]  # `python -m bench.admin [TURNS [REQUESTS]]`
    for name, value in measure(*arguments):
        print(f"{name:<28} {value}", flush=True)
