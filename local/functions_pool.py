"""The local stack's Lambda service: each function runs in execution environments of its own, processes, in parallel.

Lambda runs one invocation at a time per execution environment and starts more environments when calls
overlap, so one slow call never queues every other one. `FunctionPool` does the same on one machine: each
environment is a process (forked by `Template` from a process that has the common libraries loaded, see
`local.lambda_worker`) that imports the function's handler once and then serves invocations one at a time.
A pool starts `warm` environments up front and more on demand, up to `concurrency` (the local stand-in for a
function's reserved concurrency); a call waits only while all of them are busy. Like Lambda:

- payloads are JSON both ways; a handler's exception comes back as `FunctionError` with Lambda's `errorType`
  and `errorMessage`, and the environment stays warm;
- an invocation that outlives its timeout is `FunctionTimeoutError`: its environment is stopped (Lambda stops
  a timed-out environment too) and a fresh one starts on demand; an environment that dies is replaced the same way;
- what a function prints or logs reaches the stack's log labelled with its name (`[store_query] {...}`), and
  its Powertools service name is the function's name, as `components/python_function.py` sets it in the cloud.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TIMEOUT_SECONDS = 30.0  # what the local LambdaContext reports; generous next to the cloud's 10 s
INIT_TIMEOUT_SECONDS = 60.0  # an environment's start (fork, handler import) takes a fraction of a second
STOP_GRACE_SECONDS = 3.0

LogSink = Callable[[str, str], None]
"""Receives each line a function's environment writes: (function name, line without its newline)."""
ReplyToSink = Callable[[Mapping[str, list[str]]], None]
"""Receives the Reply-To addresses of the SES sends an invocation made, by SES message id."""

log = logging.getLogger("local.functions")


class FunctionError(Exception):
    """An invocation failed: the function raised, timed out, or its environment died or could not start."""

    def __init__(self, function: str, error_type: str, message: str) -> None:
        super().__init__(f"{function}: {error_type}: {message}")
        self.function = function
        self.error_type = error_type
        self.message = message


class FunctionTimeoutError(FunctionError):
    """The invocation outlived the function's timeout; its environment was stopped."""


def print_log_line(function: str, line: str) -> None:
    """The default log sink: the line on this process's stdout, labelled with the function's name."""
    print(f"[{function}] {line}", flush=True)


class Template:
    """The process execution environments are forked from (`python -m local.lambda_worker`), shared by pools."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the template process; it loads the common libraries while the caller goes on."""
        with self._lock:
            if self._process is not None:
                return
            ours, theirs = socket.socketpair()
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "local.lambda_worker", str(theirs.fileno())],
                    cwd=REPO,
                    env={**_process_environment(), "PYTHONUNBUFFERED": "1"},  # log lines reach the stack at once
                    pass_fds=(theirs.fileno(),),
                    stdin=subprocess.DEVNULL,
                )
            finally:
                theirs.close()
            self._control = ours

    def fork(self, function: str) -> tuple[int, Connection, IO[bytes]]:
        """A new environment for `function`: its pid, the connection to it, and the pipe its output comes on."""
        ours, theirs = socket.socketpair()
        log_read, log_write = os.pipe()
        try:
            with self._lock:
                if self._control is None:  # stopped (or never started): no environment may outlive the stack
                    raise OSError("the template is not running")
                socket.send_fds(self._control, [function.encode()], [theirs.fileno(), log_write])
                answer = _read_line(self._control)
        except OSError as exc:
            ours.close()
            os.close(log_read)
            raise FunctionError(function, "Runtime.ExitError", "the environments' template process is gone") from exc
        finally:
            theirs.close()
            os.close(log_write)
        if not answer.isdigit():
            ours.close()
            os.close(log_read)
            raise FunctionError(function, "Runtime.ExitError", "the environments' template process is gone")
        return int(answer), Connection(ours.detach()), os.fdopen(log_read, "rb")

    def stop(self) -> None:
        """Stop the template (environments forked from it stop with their pools)."""
        with self._lock:
            if self._control is not None:
                self._control.close()
                self._control = None
            if self._process is not None:
                try:
                    self._process.wait(STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
                self._process = None


@dataclass
class _Environment:
    """One execution environment: its process id, the connection to it and the thread reading its output."""

    pid: int
    connection: Connection
    reader: threading.Thread


class FunctionPool:
    """Execution environments of one function; call it as the function's `lambda_handler(event, context)`."""

    def __init__(
        self,
        function: str,
        module: str,
        environment: Mapping[str, str] | None = None,
        *,
        template: Template | None = None,
        concurrency: int = 2,
        warm: int = 1,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        log_sink: LogSink = print_log_line,
        reply_to_sink: ReplyToSink | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.function = function
        self.module = module
        self.environment = dict(environment or {})
        self.concurrency = concurrency
        self.warm = min(warm, concurrency)
        self.timeout_seconds = timeout_seconds
        self.log_sink = log_sink
        self.reply_to_sink = reply_to_sink
        self._own_template = template is None
        self._template = template or Template()
        self._idle: list[_Environment] = []
        self._all: list[_Environment] = []
        self._busy = 0
        self._starting = 0
        self._waiting = 0  # calls waiting for an environment (each gets one started for it, up to concurrency)
        self._init_error: FunctionError | None = None
        self._stopped = False
        self._changed = threading.Condition()

    # --- lifecycle ----------------------------------------------------------------------------------------

    def start(self, environment: Mapping[str, str] | None = None) -> None:
        """Start the warm environments in the background, one after another (with `environment`, the function's
        variables, if not given before); calls made meanwhile wait for the first one ready."""
        if self._own_template:
            self._template.start()
        with self._changed:
            if environment is not None:
                self.environment = dict(environment)
            count = self.warm - self._size()
            if count <= 0:
                return
            self._starting += count  # counted now, so calls in the meantime wait for these instead of adding more
        threading.Thread(target=self._start_warm, args=(count,), name=f"warm-{self.function}", daemon=True).start()

    def _start_warm(self, count: int) -> None:
        # One at a time: the stack's pools all start their first environment before any starts a second.
        for _ in range(count):
            self._start_environment()

    def stop(self) -> None:
        """Stop every environment (each finishes the invocation in hand first, up to a short grace period)."""
        with self._changed:
            self._stopped = True
            environments = list(self._all)
            self._changed.notify_all()
        for environment in environments:
            environment.connection.close()  # the worker reads end-of-file and exits
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for environment in environments:
            environment.reader.join(max(0.0, deadline - time.monotonic()))  # its output ends when it exits
            if environment.reader.is_alive():
                _kill(environment.pid)
                environment.reader.join(STOP_GRACE_SECONDS)
        if self._own_template:
            self._template.stop()

    @property
    def pids(self) -> list[int]:
        """The process ids of the environments ready now (busy or idle)."""
        with self._changed:
            return [environment.pid for environment in self._all]

    # --- invocation ---------------------------------------------------------------------------------------

    def __call__(self, event: Any, context: Any = None) -> Any:
        """Invoke the function with `event`; its answer, or FunctionError. `context` (a LambdaContext) lends
        its request id and timeout."""
        timeout = float(getattr(context, "timeout_seconds", self.timeout_seconds) or self.timeout_seconds)
        request_id = str(getattr(context, "aws_request_id", "") or uuid.uuid4())
        payload = json.dumps(
            {"invoke": {"event": event, "context": {"aws_request_id": request_id, "timeout_seconds": timeout}}},
            allow_nan=False,
            default=_as_on_the_wire,
        ).encode()
        environment = self._acquire(deadline=time.monotonic() + timeout)
        try:
            environment.connection.send_bytes(payload)
            if not environment.connection.poll(timeout):
                self._discard(environment)
                raise FunctionTimeoutError(self.function, "Sandbox.Timedout", f"Task timed out after {timeout:.2f} s")
            answer = json.loads(environment.connection.recv_bytes())
        except (EOFError, OSError) as exc:
            self._discard(environment)
            raise FunctionError(self.function, "Runtime.ExitError", "the environment exited") from exc
        self._release(environment)
        if self.reply_to_sink is not None and answer.get("replyTo"):
            self.reply_to_sink(answer["replyTo"])
        if "error" in answer:
            error = answer["error"]
            raise FunctionError(self.function, str(error.get("errorType")), str(error.get("errorMessage")))
        return answer["result"]

    def _acquire(self, deadline: float) -> _Environment:
        with self._changed:
            while True:
                if self._stopped:
                    raise FunctionError(self.function, "Runtime.Stopped", "the local stack is stopping")
                if self._idle:
                    environment = self._idle.pop()
                    self._busy += 1
                    return environment
                if self._init_error is not None and not self._starting and not self._busy:
                    raise self._init_error
                if self._starting <= self._waiting and self._size() < self.concurrency:
                    self._start_one()  # scale out; this call takes whichever environment is free first
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FunctionError(
                        self.function,
                        "TooManyRequestsException",
                        f"all {self.concurrency} environments stayed busy (raise --lambda-concurrency)",
                    )
                self._waiting += 1
                try:
                    self._changed.wait(remaining)
                finally:
                    self._waiting -= 1

    def _release(self, environment: _Environment) -> None:
        with self._changed:
            self._busy -= 1
            if self._stopped:
                return
            self._idle.append(environment)
            self._changed.notify()

    def _discard(self, environment: _Environment) -> None:
        """Stop a timed-out or dead environment; a later call starts a fresh one."""
        _end(environment)
        with self._changed:
            self._busy -= 1
            if environment in self._all:
                self._all.remove(environment)
            self._changed.notify_all()

    def _size(self) -> int:
        return len(self._all) + self._starting

    # --- environments -------------------------------------------------------------------------------------

    def _start_one(self) -> None:
        """Start one environment in a background thread; called with the lock held."""
        self._starting += 1
        threading.Thread(target=self._start_environment, name=f"start-{self.function}", daemon=True).start()

    def _start_environment(self) -> None:
        """Start one environment already counted in `_starting`; on success it is idle, ready for a call."""
        if self._stopped:
            with self._changed:
                self._starting -= 1
            return
        try:
            environment = self._new_environment()
        except FunctionError as exc:
            log.error("%s could not start: %s", self.function, exc.message)
            with self._changed:
                self._starting -= 1
                self._init_error = exc
                self._changed.notify_all()
            return
        with self._changed:
            self._starting -= 1
            self._init_error = None
            if self._stopped:
                environment.connection.close()  # its worker reads end-of-file and exits
                return
            self._all.append(environment)
            self._idle.append(environment)
            self._changed.notify()

    def _new_environment(self) -> _Environment:
        """Fork an environment and hand it the function's module and environment; ready when this returns."""
        pid, connection, output = self._template.fork(self.function)
        reader = threading.Thread(target=self._forward_output, args=(output,), name=f"log-{self.function}", daemon=True)
        reader.start()
        environment = _Environment(pid, connection, reader)
        variables = {
            **self.environment,
            "AWS_LAMBDA_FUNCTION_NAME": self.function,
            "POWERTOOLS_SERVICE_NAME": self.function,  # log lines name the function, as in the cloud
        }
        try:
            connection.send_bytes(json.dumps({"init": {"module": self.module, "environment": variables}}).encode())
            if not connection.poll(INIT_TIMEOUT_SECONDS):
                raise FunctionError(self.function, "Runtime.InitTimeout", f"no answer in {INIT_TIMEOUT_SECONDS:.0f} s")
            answer = json.loads(connection.recv_bytes())
        except (EOFError, OSError) as exc:
            _end(environment)
            raise FunctionError(self.function, "Runtime.ExitError", "the environment exited while starting") from exc
        except FunctionError:
            _end(environment)
            raise
        if "error" in answer:
            _end(environment)
            error = answer["error"]
            raise FunctionError(
                self.function, "Runtime.ImportModuleError", f"{error['errorType']}: {error['errorMessage']}"
            )
        return environment

    def _forward_output(self, output: IO[bytes]) -> None:
        with output:
            for raw in output:
                self.log_sink(self.function, raw.decode("utf-8", "replace").rstrip("\r\n"))


def _as_on_the_wire(value: Any) -> Any:
    """What AWS's JSON carries for values boto3 parsed: timestamps as epoch seconds, blobs as base64 (an event
    built from boto3's answers, such as a stream record's ApproximateCreationDateTime, reaches the function as
    Lambda would hand it over)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"an event holds {type(value).__name__}, which JSON cannot carry")


def _read_line(sock: socket.socket) -> str:
    """One short line from a socket, read byte by byte (the template's answers are a pid and a newline)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode("ascii", "replace").strip()


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _end(environment: _Environment) -> None:
    _kill(environment.pid)
    environment.connection.close()


def _process_environment() -> dict[str, str]:
    """The template's own environment: this process's, without the AWS and Powertools settings (each function's
    environment, sent with `init`, sets exactly those)."""
    return {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))}
