"""Fuzz the local stack's API with schemathesis: valid and invalid requests from docs/openapi.json, never a 5xx.

`python -m bench.api_fuzz [--examples 1000]` starts `python -m local` as its own process, then for each
operation of the OpenAPI document (POST /escalate, POST /store-query, served under /api) runs schemathesis'
generator in positive mode (requests the document allows) and negative mode (requests it does not), at least
`--examples` each, against the real server, the real handlers in their own processes, and moto. Every answer
is recorded; the run fails (exit 1) on any 5xx or any request the server did not answer. Answers that break
the document are out of scope here (tests/functions/test_api_properties.py checks those against the handlers).
Bounded: only 127.0.0.1, `--examples` per operation and mode, and `--budget` seconds in all.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.load_local import StackProcess, print_table
from contracts.stack import API_BASE_PATH
from scripts.generate_openapi import OPENAPI_PATH

DEFAULT_EXAMPLES = 1000
MAX_BUDGET_SECONDS = 900.0


@dataclass
class FuzzRun:
    """One operation in one mode: how many requests were sent, what came back."""

    operation: str
    mode: str
    statuses: Counter[int] = field(default_factory=Counter)
    unanswered: list[str] = field(default_factory=list)
    not_sent: int = 0  # examples the HTTP client itself refused to send (e.g. a header value it cannot encode)
    server_errors: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + len(self.unanswered)


def fuzz(base_url: str, examples: int, deadline: float) -> list[FuzzRun]:
    """Every operation of the document, positive then negative, `examples` generated requests each."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.core.result import Ok
    from schemathesis.generation.modes import GenerationMode

    schema = schemathesis.openapi.from_path(str(OPENAPI_PATH))
    runs: list[FuzzRun] = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise RuntimeError(f"{OPENAPI_PATH} has an operation schemathesis cannot read: {result.err()}")
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run = FuzzRun(operation.label, mode.value)
            runs.append(run)
            strategy = operation.as_strategy(generation_mode=mode)
            given(case=strategy)(
                settings(
                    max_examples=examples,
                    deadline=None,
                    derandomize=True,  # the same requests on every run: a failure is reproducible
                    database=None,
                    phases=[Phase.generate],  # record every answer; no shrinking, no replay
                    suppress_health_check=list(HealthCheck),
                )(_sender(run, base_url, deadline))
            )()
    return runs


def _sender(run: FuzzRun, base_url: str, deadline: float) -> Any:
    """The function hypothesis calls with each generated case: send it, record the answer."""
    import requests

    def send(case: Any) -> None:
        if time.monotonic() > deadline:
            return
        try:
            response = case.call(base_url=base_url, timeout=30)
        except (requests.exceptions.InvalidHeader, UnicodeEncodeError, ValueError):
            run.not_sent += 1
            return
        except requests.exceptions.RequestException as exc:
            run.unanswered.append(f"{type(exc).__name__}: {exc}")
            return
        run.statuses[response.status_code] += 1
        if response.status_code >= 500:
            run.server_errors.append(f"{response.status_code} {response.text[:200]}")

    return send


def report(runs: list[FuzzRun], seconds: float) -> list[tuple[str, str]]:
    rows = []
    for run in runs:
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(run.statuses.items()))
        rows.append(
            (
                f"{run.operation} ({run.mode})",
                f"{run.sent} sent, {len(run.server_errors)} 5xx, {len(run.unanswered)} unanswered  [{statuses}]",
            )
        )
    rows.append(("total", f"{sum(r.sent for r in runs)} requests in {seconds:.0f} s"))
    return rows


def run(examples: int = DEFAULT_EXAMPLES, budget_seconds: float = MAX_BUDGET_SECONDS) -> tuple[list[FuzzRun], float]:
    deadline = time.monotonic() + min(budget_seconds, MAX_BUDGET_SECONDS)
    started = time.perf_counter()
    with StackProcess() as stack:
        runs = fuzz(stack.origin + API_BASE_PATH, examples, deadline)
    return runs, time.perf_counter() - started


def ok(runs: list[FuzzRun], examples: int) -> bool:
    return all(not r.server_errors and not r.unanswered and r.sent + r.not_sent >= examples for r in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES, help="per operation and mode (1000)")
    parser.add_argument("--budget", type=float, default=MAX_BUDGET_SECONDS, help="seconds in all at most (900)")
    args = parser.parse_args(argv)
    runs, seconds = run(args.examples, args.budget)
    print_table(report(runs, seconds), "API fuzzing (schemathesis, positive and negative, python -m local)")
    for error in [e for r in runs for e in (*r.server_errors, *r.unanswered)][:10]:
        print(f"  error: {error}", file=sys.stderr)
    return 0 if ok(runs, args.examples) else 1


if __name__ == "__main__":
    sys.exit(main())
