"""The whole chatbot in one process: moto, the stand-ins, the real handlers, the Lex runtime, the queue loop, HTTP.

`LocalStack(host, port).start()` brings everything up in order and `stop()` takes it down again, restoring
the environment variables it set, so an in-process stack is safe inside a larger test session.

What runs where:
- moto server: http://127.0.0.1:<free port> (thread), DynamoDB, SQS, SES, Cognito Identity;
- the functions: each in execution environments of its own (processes, `local.functions_pool`), up to
  `lambda_concurrency` at once per function, reaching moto through AWS_ENDPOINT_URL;
- one HTTP server on HOST:PORT (uvicorn, `local.server`): the page, config.js, Lex runtime, /api/*,
  /cognito-identity, /_local/*;
- one thread reading the tickets table's stream into the forwarder function (the DynamoDB Streams event source
  mapping), one polling the escalation queue into the sender function (the SQS event source mapping).
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import select
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.schema import load_definition
from contracts.branding import Branding
from contracts.stack import API_BASE_PATH, FUNCTION_ENVIRONMENT, ORIGIN_SECRET_HEADER, PUBLIC_ROUTES
from local.config_js import COGNITO_PATH, config_values, render_config_js
from local.functions_pool import FunctionPool, LogSink, Template, print_log_line
from local.lambda_events import REGION, LambdaContext
from local.lex_runtime import BotIdentity, LexRuntime
from local.queue_worker import QueueWorker
from local.server import LocalApp, LocalHttpServer, allowed_hosts, build_app, listen
from local.staff_pages import ReplyToRecorder
from local.ticket_stream import StreamWorker

if TYPE_CHECKING:
    from bot.schema import BotDefinition
    from local.stand_ins import StandInNames

REPO = Path(__file__).resolve().parent.parent
SITE_DIR = REPO / "site" / "dist"
HANDLERS = {function: f"functions.{function}.handler" for function in FUNCTION_ENVIRONMENT}
"""Every function of the stack (its folder under `functions/`) and the module of its `lambda_handler`."""
DEFAULT_LAMBDA_CONCURRENCY = 2
"""Execution environments per function at most: two lets a slow call and a quick one run side by side, and
eight worker processes (four functions) fit a 2-core laptop's memory (about 60 MB each)."""
STREAM_POLL_SECONDS = 0.5
"""How often an idle ticket stream is read again: each read is three moto calls, so every 0.1 s would keep about a
sixth of a core busy doing nothing; a new ticket waits at most half a second more for its email."""
MOTO_START_TIMEOUT_SECONDS = 60.0  # about a second on a 2-core machine; a minute means it is stuck
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
log = logging.getLogger("local.stack")


class LocalStackError(Exception):
    """The stack cannot start; the message says why and how to fix it, in one line."""


@dataclass(frozen=True)
class StackInfo:
    """Where everything runs."""

    origin: str
    moto_url: str
    bot: BotIdentity
    locale_id: str
    identity_pool_id: str
    query_log_table: str
    escalation_queue_url: str
    escalation_dlq_url: str
    lambda_concurrency: int = DEFAULT_LAMBDA_CONCURRENCY

    def describe(self) -> str:
        """What runs where, for the console."""
        lex_path = (
            f"/bots/{self.bot.bot_id}/botAliases/{self.bot.alias_id}/botLocales/{self.locale_id}/sessions/<id>/text"
        )
        api = ", ".join(f"{route.method} {self.origin}{API_BASE_PATH}{route.path}" for route in PUBLIC_ROUTES)
        return "\n".join(
            [
                f"Support chatbot (local) is running: open {self.origin}/",
                "",
                "What runs where:",
                f"  chat page         {self.origin}/  (site/dist, with a generated {self.origin}/config.js)",
                f"  Lex V2 runtime    {self.origin}{lex_path}  (bot/definition.yaml, functions/fulfillment)",
                f"  support API       {api}",
                f"  Cognito identity  {self.origin}{COGNITO_PATH}  (forwarded to moto)",
                f"  staff pages       {self.origin}/_local/outbox, {self.origin}/_local/query-log",
                f"  AWS stand-ins     {self.moto_url}  (moto: DynamoDB, SQS, SES, Cognito Identity)",
                f"  functions         {', '.join(HANDLERS)}: up to {self.lambda_concurrency} processes each",
                "  ticket stream     read into functions/forward_tickets (new tickets onto the queue)",
                "  escalation queue  polled into functions/send_escalation (retries, then DLQ)",
                "",
                "Stop with Ctrl-C.",
            ]
        )


class LocalStack:
    """Starts and stops the local stack in this process (and its functions' worker processes)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        site_dir: Path = SITE_DIR,
        log_level: str = "INFO",
        verbose: bool = False,
        lambda_concurrency: int = DEFAULT_LAMBDA_CONCURRENCY,
        allow_hosts: Iterable[str] = (),
        log_sink: LogSink = print_log_line,
        branding: Branding | None = None,
    ) -> None:
        if lambda_concurrency < 1:
            raise LocalStackError(f"--lambda-concurrency must be at least 1 (got {lambda_concurrency})")
        self.host = host
        self.port = port
        self.site_dir = site_dir
        self.log_level = log_level
        self.verbose = verbose
        self.lambda_concurrency = lambda_concurrency
        self.allow_hosts = tuple(allow_hosts)
        self.log_sink = log_sink
        self.branding = branding or Branding()  # the page's name, words and colours; default: its own look
        self._info: StackInfo | None = None
        self.runtime: LexRuntime | None = None
        self.worker: QueueWorker | None = None
        self.stream: StreamWorker | None = None
        self.functions: dict[str, FunctionPool] = {}
        self._template = Template()
        self._http: LocalHttpServer | None = None
        self._moto: subprocess.Popen[str] | None = None
        self._saved_env: dict[str, str | None] = {}
        self._workdir: Path | None = None
        self._recorder = ReplyToRecorder()

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._info is not None

    @property
    def info(self) -> StackInfo:
        """Where everything runs; RuntimeError when the stack is not running."""
        if self._info is None:
            raise RuntimeError("the stack is not running")
        return self._info

    @property
    def origin(self) -> str:
        return self.info.origin

    def start(self) -> StackInfo:
        """Bring everything up; LocalStackError (one line, with the fix) when a prerequisite is missing."""
        if not (self.site_dir / "index.html").is_file():
            raise LocalStackError(
                f"the chat page is not built ({self.site_dir}/index.html is missing): run `make site`"
            )
        for name, module in HANDLERS.items():
            path = REPO / (module.replace(".", "/") + ".py")
            if not path.is_file():
                raise LocalStackError(f"the {name} function is missing ({path.relative_to(REPO)})")
        try:
            sock = listen(self.host, self.port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LocalStackError(
                    f"port {self.port} on {self.host} is already in use: stop what runs there, "
                    f"or pick another port (`make local PORT=8001` or `python -m local --port 8001`)"
                ) from None
            raise LocalStackError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        try:
            self._start_backends(sock)
        except BaseException:
            sock.close()
            self.stop()
            raise
        return self.info

    def _start_backends(self, sock: Any) -> None:
        """Everything behind the (already bound) socket, in order; then serve. The moto server and the template
        of the functions' environments start first, as processes: they load their libraries while this one loads
        its own."""
        self._launch_moto()
        self._template.start()
        definition = load_definition()
        moto_url, names = self._stand_ins()
        settings = self._function_settings(moto_url, definition)
        self._set_env({**settings, **names.environment()})
        self._start_functions({**settings, **names.environment()})

        bot = BotIdentity()
        locale_id = next(iter(definition.locales))
        self.runtime = LexRuntime(definition, _code_hook(self.functions["fulfillment"]), identity=bot)
        http_host, http_port = sock.getsockname()[:2]
        origin = f"http://{_url_host(str(http_host))}:{http_port}"

        @functools.cache
        def config_js(page_origin: str) -> str:
            return render_config_js(
                config_values(
                    origin=page_origin,
                    identity_pool_id=names.identity_pool_id,
                    bot_id=bot.bot_id,
                    bot_alias_id=bot.alias_id,
                    locale_id=locale_id,
                    suggestions=definition.locales[locale_id].suggestions(),
                    branding=self.branding,
                )
            )

        app = LocalApp(
            runtime=self.runtime,
            api_handlers={
                route: _through_the_edge(self.functions[route.function], names.origin_secret) for route in PUBLIC_ROUTES
            },
            moto_url=moto_url,
            site_dir=self.site_dir,
            config_js=config_js,
            query_log_table=names.query_log_table,
            recorder=self._recorder,
        )
        hosts = allowed_hosts(str(http_host), int(http_port), self.allow_hosts)
        self._http = LocalHttpServer(sock, build_app(app, hosts), verbose=self.verbose)
        self._http.start()
        self.worker = QueueWorker(names.escalation_queue_url, self.functions["send_escalation"])
        self.worker.start()
        self.stream = StreamWorker(
            names.tickets_table, self.functions["forward_tickets"], poll_seconds=STREAM_POLL_SECONDS
        )
        self.stream.start()
        self._info = StackInfo(
            origin=origin,
            moto_url=moto_url,
            bot=bot,
            locale_id=locale_id,
            identity_pool_id=names.identity_pool_id,
            query_log_table=names.query_log_table,
            escalation_queue_url=names.escalation_queue_url,
            escalation_dlq_url=names.escalation_dlq_url,
            lambda_concurrency=self.lambda_concurrency,
        )

    def _launch_moto(self) -> None:
        """Start the moto server's process (`local.moto_server`); `_moto_url()` waits for it to listen."""
        self._moto = subprocess.Popen(
            [sys.executable, "-m", "local.moto_server"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _stand_ins(self) -> tuple[str, StandInNames]:
        """The moto server's URL and the stand-ins it created, once it has (its first line of output)."""
        from local.stand_ins import StandInNames

        assert self._moto is not None
        assert self._moto.stdout is not None
        readable, _, _ = select.select([self._moto.stdout], [], [], MOTO_START_TIMEOUT_SECONDS)
        line = self._moto.stdout.readline() if readable else ""
        try:
            said = json.loads(line)
            fields: dict[str, Any] = {
                key: tuple(value) if isinstance(value, list) else value for key, value in said["names"].items()
            }
            return str(said["url"]), StandInNames(**fields)
        except (ValueError, KeyError, TypeError):
            raise LocalStackError(
                f"the moto server did not start within {MOTO_START_TIMEOUT_SECONDS:.0f} s "
                f"(exit code {self._moto.poll()}); see its error above"
            ) from None

    def _start_functions(self, environment: dict[str, str]) -> None:
        """One pool of execution environments per function, started in the background: every function's first
        environment, then the others up to `lambda_concurrency`."""
        for name, module in HANDLERS.items():
            self.functions[name] = FunctionPool(
                name,
                module,
                environment,
                template=self._template,
                concurrency=self.lambda_concurrency,
                warm=self.lambda_concurrency,  # all kept warm: no cold start waits under load
                log_sink=self.log_sink,
                reply_to_sink=self._recorder.merge,
            )
            self.functions[name].start()

    def _function_settings(self, moto_url: str, definition: BotDefinition) -> dict[str, str]:
        """What every function's environment holds besides the stand-ins' names: AWS at moto, the bot's
        content for the code hook, Powertools settings (each environment's service name is its function's)."""
        self._workdir = Path(tempfile.mkdtemp(prefix="chatbot-local-"))
        content = self._workdir / "bot_content.json"
        content.write_text(definition.code_hook_content(), encoding="utf-8")
        return {
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": moto_url,
            "BOT_CONTENT_PATH": str(content),
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL") or self.log_level,
            "POWERTOOLS_DEV": "false",
        }

    def stop(self) -> None:
        """Stop serving, stop the queue loop, the functions and moto, and put the environment back. Safe to call
        twice."""
        if self._http is not None:
            self._http.stop()
            self._http = None
        if self.stream is not None:
            self.stream.stop()
            self.stream = None
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        for pool in self.functions.values():
            pool.stop()
        self.functions = {}
        self._template.stop()
        if self._moto is not None:
            self._stop_moto(self._moto)
            self._moto = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self._info = None

    @staticmethod
    def _stop_moto(process: subprocess.Popen[str]) -> None:
        if process.stdin is not None:
            process.stdin.close()  # it stops when its stdin closes
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value


def _through_the_edge(
    handler: Callable[[dict[str, Any], Any], Any], secret: str
) -> Callable[[dict[str, Any], Any], Any]:
    """An API handler reached as CloudFront reaches it: with the origin secret header, which replaces any header of
    that name the client sent (the API answers nothing else)."""

    def invoke(event: dict[str, Any], context: Any) -> Any:
        def edge(headers: dict[str, Any], value: Any) -> dict[str, Any]:
            kept = {key: item for key, item in headers.items() if key.lower() != ORIGIN_SECRET_HEADER.lower()}
            return {**kept, ORIGIN_SECRET_HEADER: value}

        headers = edge(event.get("headers") or {}, secret)
        multi = edge(event.get("multiValueHeaders") or {}, [secret])
        return handler({**event, "headers": headers, "multiValueHeaders": multi}, context)

    return invoke


def _code_hook(function: Callable[[dict[str, Any], Any], Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function as the Lex runtime's code hook: one event in, one response out, a fresh context each call."""

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = function(event, LambdaContext(function_name="fulfillment"))
        return result

    return invoke


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
