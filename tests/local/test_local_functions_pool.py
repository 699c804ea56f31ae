"""Functions run as Lambda runs them: execution environments of their own, in parallel, one call each at a time.

The handlers here are small Lambda functions of the tests (tests/local/lambda_doubles); the pool, the template
process and the environments are the real ones the local stack uses.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from local.functions_pool import FunctionError, FunctionPool, FunctionTimeoutError, Template
from local.lambda_events import LambdaContext

DOUBLES = "tests.local.lambda_doubles"


class LogLines:
    """A log sink that keeps every (function, line) it receives."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, function: str, line: str) -> None:
        with self._lock:
            self.lines.append((function, line))

    def of(self, marker: str) -> list[tuple[str, str]]:
        with self._lock:
            return [(function, line) for function, line in self.lines if marker in line]


@pytest.fixture(scope="module")
def template() -> Iterator[Template]:
    """One template process for the module's pools, as the local stack shares one between its functions."""
    shared = Template()
    shared.start()
    yield shared
    shared.stop()


@pytest.fixture
def pools(template: Template) -> Iterator[list[FunctionPool]]:
    """The pools a test made; stopped after it."""
    made: list[FunctionPool] = []
    yield made
    for pool in made:
        pool.stop()


def new_pool(pools: list[FunctionPool], template: Template, module: str, function: str, **options: Any) -> FunctionPool:
    pool = FunctionPool(function, f"{DOUBLES}.{module}", {"POWERTOOLS_LOG_LEVEL": "INFO"}, template=template, **options)
    pool.start()
    pools.append(pool)
    return pool


def wait_for_lines(sink: LogLines, marker: str, count: int, timeout: float = 10.0) -> list[tuple[str, str]]:
    """The sink's lines holding `marker`, once there are `count` of them (output arrives on its own thread)."""
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not done.is_set():
            found = sink.of(marker)
            if len(found) >= count:
                return found
            done.wait(0.05)
    finally:
        deadline.cancel()
    raise AssertionError(f"expected {count} log lines with {marker!r}, got {sink.of(marker)}")


def test_two_slow_calls_to_one_function_run_at_the_same_time_in_two_environments(pools, template) -> None:
    # GIVEN a function allowed two execution environments
    pool = new_pool(pools, template, "slow", "slow_function", concurrency=2, warm=2)
    # WHEN two calls that each take a while arrive together
    with ThreadPoolExecutor(max_workers=2) as callers:
        first, second = callers.map(lambda _: pool({"seconds": 1.0}, LambdaContext("slow_function")), range(2))
    # THEN two different processes ran them, and each started before the other ended
    assert first["pid"] != second["pid"], "both calls ran in the same environment: one queued behind the other"
    assert first["started"] < second["ended"]
    assert second["started"] < first["ended"], f"the calls did not overlap: {first}, {second}"


def test_a_function_allowed_one_environment_runs_calls_one_after_the_other(pools, template) -> None:
    # GIVEN a function with a concurrency of one
    pool = new_pool(pools, template, "slow", "one_at_a_time", concurrency=1)
    # WHEN two calls arrive together
    with ThreadPoolExecutor(max_workers=2) as callers:
        first, second = callers.map(lambda _: pool({"seconds": 0.3}), range(2))
    # THEN one environment ran both, the second after the first had ended
    assert first["pid"] == second["pid"]
    later, earlier = sorted((first, second), key=lambda call: call["started"], reverse=True)
    assert later["started"] >= earlier["ended"]


def test_log_lines_are_labelled_with_the_function_and_carry_its_service_name(pools, template) -> None:
    # GIVEN two functions that log, their environments forked from one template
    sink = LogLines()
    alpha = new_pool(pools, template, "noisy", "alpha", log_sink=sink)
    beta = new_pool(pools, template, "noisy", "beta", log_sink=sink)
    # WHEN each is called
    alpha({"marker": "from-alpha"})
    beta({"marker": "from-beta"})
    # THEN each function's lines (Powertools' and printed ones) are labelled with its own name
    for function, marker in (("alpha", "from-alpha"), ("beta", "from-beta")):
        lines = wait_for_lines(sink, marker, 2)
        assert {labelled for labelled, _ in lines} == {function}, lines
        structured = [json.loads(line) for _, line in lines if line.startswith("{")]
        assert [entry["service"] for entry in structured] == [function], "Powertools' service is the function"
        assert any(line == f"printed {marker}" for _, line in lines)


def test_a_raising_handler_is_a_function_error_and_its_environment_keeps_serving(pools, template) -> None:
    # GIVEN a function whose handler raises on request
    pool = new_pool(pools, template, "broken", "broken")
    # WHEN a call makes it raise
    with pytest.raises(FunctionError) as error:
        pool({"raise": "the table is gone"})
    # THEN the caller gets Lambda's error type and message
    assert error.value.error_type == "BrokenError"
    assert error.value.message == "the table is gone"
    # AND the same environment serves the next call (Lambda keeps it warm)
    first_pid = pool.pids
    assert pool({})["pid"] in first_pid


def test_an_answer_json_cannot_carry_is_a_function_error(pools, template) -> None:
    pool = new_pool(pools, template, "broken", "broken_answer")
    with pytest.raises(FunctionError) as error:
        pool({"not_json": True})
    assert error.value.error_type == "TypeError"


def test_a_call_past_its_timeout_fails_and_a_fresh_environment_takes_the_next(pools, template) -> None:
    # GIVEN a function with a short timeout
    pool = new_pool(pools, template, "slow", "timing_out", timeout_seconds=0.5)
    # WHEN a call runs longer than that
    with pytest.raises(FunctionTimeoutError):
        pool({"seconds": 5})
    stopped = set(pool.pids)
    # THEN the next call is answered, by another environment (the timed-out one was stopped)
    answer = pool({"seconds": 0})
    assert answer["pid"] not in stopped


def test_a_handler_that_cannot_be_imported_is_an_init_error(pools, template) -> None:
    pool = new_pool(pools, template, "unimportable", "unimportable")
    with pytest.raises(FunctionError) as error:
        pool({}, LambdaContext("unimportable", timeout_seconds=10))
    assert error.value.error_type == "Runtime.ImportModuleError"
    assert "missing_dependency" in error.value.message


def test_each_environment_gets_the_function_s_name_and_environment(pools, template) -> None:
    pool = new_pool(pools, template, "slow", "named")
    assert pool({}, LambdaContext("named"))["function"] == "named"
