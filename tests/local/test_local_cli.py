"""`python -m local` as a newcomer runs it: it starts, says where, serves the page, and stops on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.local.stack_helpers import clean_env, free_port

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.local_stack


def test_python_m_local_prints_the_url_serves_the_page_and_stops_on_ctrl_c() -> None:
    port = free_port()
    process = start_local("--port", str(port))
    try:
        # WHEN it has started
        url = f"http://127.0.0.1:{port}/"
        lines = read_until(process, "Stop with Ctrl-C", timeout=60)
        # THEN it said where, what runs where, and how to stop
        printed = "\n".join(lines)
        assert f"open {url}" in printed
        assert "What runs where" in printed
        assert "Ctrl-C" in printed
        # AND the page is served
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200
            assert b"config.js" in page.read()
        # WHEN the user presses Ctrl-C
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        # THEN everything stops cleanly: exit code 0, no traceback
        assert process.returncode == 0, output
        assert "Stopped." in output
        assert "Traceback" not in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_python_m_local_without_a_site_build_says_run_make_site(tmp_path: Path) -> None:
    # WHEN the page was never built
    result = run_local("--port", str(free_port()), "--site-dir", str(tmp_path))
    # THEN it exits non-zero with one line naming the fix, and no traceback
    assert result.returncode != 0
    assert "run `make site`" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_functions_log_lines_in_the_console_name_the_function() -> None:
    # GIVEN the local stack as a newcomer runs it
    port = free_port()
    process = start_local("--port", str(port))
    try:
        read_until(process, "Stop with Ctrl-C", timeout=60)
        # WHEN the same turn is logged twice (store_query logs the repeat at INFO)
        row = {"sessionId": "cli-log", "timestamp": int(time.time() * 1000), "userQuery": "hi", "botResponse": "Hi"}
        for _ in range(2):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/store-query",
                data=json.dumps(row).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 201
        # THEN the console line is labelled with the function, and Powertools names it as its service
        line = read_until(process, "Turn already stored", timeout=30)[-1]
        label, _, logged = line.partition(" ")
        assert label == "[store_query]", line
        assert json.loads(logged)["service"] == "store_query"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_lambda_concurrency_below_one_is_a_one_line_error() -> None:
    result = run_local("--port", str(free_port()), "--lambda-concurrency", "0")
    assert result.returncode != 0
    assert "--lambda-concurrency must be at least 1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def start_local(*args: str) -> subprocess.Popen[str]:
    """`python -m local ARGS` started as a newcomer runs it, its output (stdout and stderr) readable."""
    return subprocess.Popen(
        [sys.executable, "-m", "local", *args],
        cwd=REPO,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_local(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m local ARGS` run to its end (for the ways it refuses to start)."""
    return subprocess.run(
        [sys.executable, "-m", "local", *args],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} not printed; output so far:\n" + "\n".join(lines))
