"""The AWS stand-ins of the local stack: moto's server in a process of its own, `python -m local.moto_server`.

Its own process, so its work (parsing every DynamoDB, SQS and SES call of every function) never competes with
the HTTP server and the Lex runtime for one interpreter, and its start-up (importing moto, creating the
stand-ins with `local.stand_ins.provision`) overlaps the stack's own. Once the stand-ins exist it prints one
JSON line, `{"url": ..., "names": {...}}` (the `StandInNames` with queue URLs and pool id filled in), and it
stops when its stdin closes, so it never outlives the stack that started it.

Besides moto's own routes it answers one read-only path for the staff outbox: `GET /_local/ses-sent`, the
messages SES accepted (v1 and v2), oldest first, as JSON (moto has no API that lists them).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from local.lambda_events import REGION

if TYPE_CHECKING:
    from local.stand_ins import StandInNames

SENT_PATH = "/_local/ses-sent"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def sent_messages(region: str = REGION) -> list[dict[str, Any]]:
    """What SES accepted in this process's moto, oldest first: id, source, destinations, subject, body, raw."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    messages = []
    for message in list(ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages):
        ids = getattr(message, "ids", None)
        messages.append(
            {
                "id": getattr(message, "id", None) or (ids[0] if ids else ""),
                "source": str(getattr(message, "source", "") or ""),
                "destinations": getattr(message, "destinations", {}) or {},
                "subject": str(getattr(message, "subject", "") or ""),
                "body": str(getattr(message, "body", "") or ""),
                "raw": getattr(message, "raw_data", None),
            }
        )
    return messages


def with_outbox(app: WsgiApp) -> WsgiApp:
    """moto's WSGI app, plus GET /_local/ses-sent."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == SENT_PATH and environ.get("REQUEST_METHOD") == "GET":
            body = json.dumps({"messages": sent_messages()}, default=str).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return serve


def main() -> int:
    """Serve moto on a free loopback port, create the stand-ins in it, say where; serve until stdin closes."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal stops the stack, and the stack stops us
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, with_outbox(app), threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    names = _provision(url)
    print(json.dumps({"url": url, "names": dataclasses.asdict(names)}), flush=True)
    sys.stdin.read()  # returns when the stack closes our stdin, or dies
    server.shutdown()
    return 0


def _provision(url: str) -> StandInNames:
    """The stand-ins, created through this server's own HTTP endpoint, as any client would."""
    from local.stand_ins import provision

    os.environ.update(
        {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
        }
    )
    return provision()


if __name__ == "__main__":
    sys.exit(main())
