"""Lambda execution environments of the local stack, as processes forked from one template process.

`python -m local.lambda_worker FD` is the template (a "zygote"): it imports what every handler needs (boto3,
pydantic, Powertools) once, then waits on the control socket FD. For each request it forks: the child is a
new execution environment that already has those libraries loaded, so starting one costs a fork and the
handler's own import (about a tenth of a second) instead of a fresh interpreter (about half a second of CPU),
which keeps the stack's start-up and Lambda-style scale-out quick. Each request carries the function's name
and two file descriptors: the child's end of its connection to the pool, and the write end of the pipe its
stdout and stderr go to (the pool labels each line with the function's name). The template answers with the
child's pid, and exits when the control socket closes.

A child (one execution environment) then speaks JSON with the pool, one message at a time:

    pool   -> {"init": {"module": "functions.store_query.handler", "environment": {...}}}    (once)
    worker -> {"ready": <pid>}  or  {"error": {...}}
    pool   -> {"invoke": {"event": {...}, "context": {"aws_request_id": ..., "timeout_seconds": ...}}}
    worker -> {"result": <the handler's answer>, "replyTo": {...}}
              or {"error": {"errorType": ..., "errorMessage": ..., "stackTrace": [...]}, "replyTo": {...}}

One invocation at a time, as in Lambda: module singletons (Powertools' Logger, resolver, Metrics, boto3
clients) belong to this environment only. Payloads are JSON both ways, as Lambda's are, so a handler answering
something JSON cannot carry fails here as it would in the cloud. `replyTo` carries the Reply-To addresses of
the SES sends the invocation made (moto keeps none for simple sends; the staff outbox shows them).
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import sys
import traceback
from multiprocessing.connection import Connection
from typing import Any

# The libraries the handlers load, imported once in the template and shared by every environment forked from
# it. Libraries only: a handler's own modules may read their environment at import, so each environment imports
# them itself, after `init` has set that environment (as Lambda's init does).
import boto3  # noqa: F401
import botocore.exceptions  # noqa: F401
import pydantic
import pydantic.alias_generators  # noqa: F401
from aws_lambda_powertools import Logger, Metrics  # noqa: F401
from aws_lambda_powertools.event_handler import APIGatewayRestResolver  # noqa: F401
from aws_lambda_powertools.logging import correlation_paths  # noqa: F401
from aws_lambda_powertools.utilities import batch, idempotency  # noqa: F401

from local.lambda_events import LambdaContext
from local.staff_pages import ReplyToRecorder

MAX_NAME_BYTES = 256


def template(control_fd: int) -> int:
    """Fork an execution environment for each request on the control socket, until it closes."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel: no zombies
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal stops the stack, and the stack stops us
    control = socket.socket(fileno=control_fd)
    while True:
        try:
            name, fds, _, _ = socket.recv_fds(control, MAX_NAME_BYTES, 2)
        except OSError:
            return 0
        if not name or len(fds) != 2:
            return 0
        connection_fd, log_fd = fds
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the new execution environment
            code = 1
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # a handler may run subprocesses and wait for them
                os.dup2(log_fd, 1)
                os.dup2(log_fd, 2)
                os.close(log_fd)
                code = serve(name.decode(), connection_fd)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)  # never return into the template's loop
        os.close(connection_fd)
        os.close(log_fd)
        control.sendall(f"{pid}\n".encode())


def serve(function_name: str, fd: int) -> int:
    """Be one execution environment of `function_name`: init, then invocations until the pool hangs up."""
    connection = Connection(fd)
    try:
        init = _receive(connection)["init"]
    except EOFError:
        return 0
    os.environ.update(init["environment"])
    recorder = ReplyToRecorder()
    recorder.install()
    try:
        handler = importlib.import_module(init["module"]).lambda_handler
    except Exception as exc:  # Lambda reports an init error and the environment never serves
        _send(connection, {"error": _error(exc)})
        return 1
    _send(connection, {"ready": os.getpid()})
    while True:
        try:
            invoke = _receive(connection)["invoke"]
        except EOFError:
            return 0
        context = LambdaContext(function_name=function_name, **invoke["context"])
        try:
            answer: dict[str, Any] = {"result": handler(invoke["event"], context)}
        except Exception as exc:  # the function's error is the invocation's answer, as Lambda returns it
            answer = {"error": _error(exc)}
        answer["replyTo"] = recorder.drain()
        try:
            _send(connection, answer)
        except (TypeError, ValueError) as exc:  # the handler answered something JSON cannot carry
            _send(connection, {"error": _error(exc), "replyTo": answer["replyTo"]})


def _receive(connection: Connection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(connection.recv_bytes())
    return message


def _send(connection: Connection, message: dict[str, Any]) -> None:
    connection.send_bytes(json.dumps(message, allow_nan=False).encode())


def _error(exc: BaseException) -> dict[str, Any]:
    """Lambda's shape of a function error."""
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


if __name__ == "__main__":
    sys.exit(template(int(sys.argv[1])))
