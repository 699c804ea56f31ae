"""The whole chatbot in one process: moto, the stand-ins, the real handlers, the Lex runtime, the queue loop, HTTP.

`LocalStack(host, port).start()` brings everything up in order and `stop()` takes it down again, restoring
the environment variables it set and forgetting the handler modules it imported (they hold boto3 clients
bound to this moto server), so an in-process stack is safe inside a larger test session.

What runs where:
- moto server: http://127.0.0.1:<free port> (thread), DynamoDB, SQS, SES, Cognito Identity;
- one HTTP server on HOST:PORT (threads): the page, config.js, Lex runtime, /api/*, /cognito-identity, /_local/*;
- one thread polling the escalation queue into the sender handler (the SQS event source mapping).
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import shutil
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from bot.schema import load_definition
from contracts.stack import API_BASE_PATH, FUNCTION_ENVIRONMENT, ORIGIN_SECRET_HEADER, PUBLIC_ROUTES
from local.config_js import COGNITO_PATH, config_values, render_config_js
from local.lambda_events import REGION, LambdaContext
from local.lex_runtime import BotIdentity, LexRuntime
from local.queue_worker import QueueWorker
from local.server import LocalApp, LocalHttpServer
from local.staff_pages import ReplyToRecorder

if TYPE_CHECKING:
    from bot.schema import BotDefinition
    from local.stand_ins import StandInNames

REPO = Path(__file__).resolve().parent.parent
SITE_DIR = REPO / "site" / "dist"
HANDLERS = {function: f"functions.{function}.handler" for function in FUNCTION_ENVIRONMENT}
"""Every function of the stack (its folder under `functions/`) and the module of its `lambda_handler`."""
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# Modules holding boto3 clients or settings read at import: imported fresh for each stack.
_FRESH_PREFIXES = ("functions.", "chatbot_shared.escalation", "chatbot_shared.rest")
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
                "  escalation queue  polled in-process into functions/send_escalation (retries, then DLQ)",
                "",
                "Stop with Ctrl-C.",
            ]
        )


class LocalStack:
    """Starts and stops the local stack in this process."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        site_dir: Path = SITE_DIR,
        log_level: str = "INFO",
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.site_dir = site_dir
        self.log_level = log_level
        self.verbose = verbose
        self._info: StackInfo | None = None
        self.runtime: LexRuntime | None = None
        self.worker: QueueWorker | None = None
        self._http: LocalHttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self._moto: Any = None
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
        try:
            self._http = LocalHttpServer((self.host, self.port), app=None, verbose=self.verbose)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LocalStackError(
                    f"port {self.port} on {self.host} is already in use: stop what runs there, "
                    f"or pick another port (`make local PORT=8001` or `python -m local --port 8001`)"
                ) from None
            raise LocalStackError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        try:
            self._start_backends()
        except BaseException:
            self.stop()
            raise
        return self.info

    def _start_backends(self) -> None:
        """Everything behind the (already listening) HTTP server, in order; then serve."""
        assert self._http is not None
        definition = load_definition()
        moto_url = self._start_moto()
        self._set_env(self._function_settings(moto_url, definition))
        names = self._provision_stand_ins(moto_url)
        handlers = self._import_handlers()

        bot = BotIdentity()
        locale_id = next(iter(definition.locales))
        self.runtime = LexRuntime(definition, _code_hook(_one_at_a_time(handlers["fulfillment"])), identity=bot)
        http_host, http_port = self._http.server_address[:2]
        origin = f"http://{_url_host(str(http_host))}:{http_port}"
        config = config_values(
            origin=origin,
            identity_pool_id=names.identity_pool_id,
            bot_id=bot.bot_id,
            bot_alias_id=bot.alias_id,
            locale_id=locale_id,
            suggestions=definition.locales[locale_id].suggestions(),
        )
        self._http.app = LocalApp(
            runtime=self.runtime,
            api_handlers={
                route: _through_the_edge(_one_at_a_time(handlers[route.function]), names.origin_secret)
                for route in PUBLIC_ROUTES
            },
            moto_url=moto_url,
            site_dir=self.site_dir,
            config_js=render_config_js(config),
            query_log_table=names.query_log_table,
            host=str(http_host),
            recorder=self._recorder,
        )
        self.worker = QueueWorker(names.escalation_queue_url, _one_at_a_time(handlers["send_escalation"]))
        self.worker.start()
        self._http_thread = threading.Thread(target=self._http.serve_forever, name="local-http", daemon=True)
        self._http_thread.start()
        self._info = StackInfo(
            origin=origin,
            moto_url=moto_url,
            bot=bot,
            locale_id=locale_id,
            identity_pool_id=names.identity_pool_id,
            query_log_table=names.query_log_table,
            escalation_queue_url=names.escalation_queue_url,
            escalation_dlq_url=names.escalation_dlq_url,
        )

    def _start_moto(self) -> str:
        """A moto server on a free loopback port; its URL."""
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
        self._moto = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
        self._moto.start()
        moto_host, moto_port = self._moto.get_host_and_port()
        return f"http://{moto_host}:{moto_port}"

    def _function_settings(self, moto_url: str, definition: BotDefinition) -> dict[str, str]:
        """What every function's environment holds besides the stand-ins' names: AWS at moto, the bot's
        content for the code hook, Powertools settings."""
        self._workdir = Path(tempfile.mkdtemp(prefix="chatbot-local-"))
        content = self._workdir / "bot_content.json"
        content.write_text(definition.code_hook_content(), encoding="utf-8")
        return {
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": moto_url,
            "BOT_CONTENT_PATH": str(content),
            "POWERTOOLS_SERVICE_NAME": "support-chatbot-local",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL") or self.log_level,
            "POWERTOOLS_DEV": "false",
        }

    def _provision_stand_ins(self, moto_url: str) -> StandInNames:
        """Empty moto, note SES calls for the outbox, create the stand-ins and point the environment at them."""
        from local.stand_ins import provision

        urllib.request.urlopen(urllib.request.Request(moto_url + "/moto-api/reset", method="POST"), timeout=10).close()
        self._recorder.install()
        names = provision()
        self._set_env(names.environment())
        return names

    def stop(self) -> None:
        """Stop serving, stop the queue loop, stop moto, and put the environment back. Safe to call twice."""
        if self._http is not None:
            if self._http_thread is not None:
                self._http.shutdown()
                self._http_thread.join(10)
            self._http.server_close()
            self._http = self._http_thread = None
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self._recorder.uninstall()
        if self._saved_env:  # this stack imported handlers bound to its moto: let the next importer start fresh
            _forget_fresh_modules()
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

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    @staticmethod
    def _import_handlers() -> dict[str, ModuleType]:
        _forget_fresh_modules()
        modules: dict[str, ModuleType] = {}
        for name, module in HANDLERS.items():
            try:
                modules[name] = importlib.import_module(module)
            except ModuleNotFoundError as exc:
                path = module.replace(".", "/") + ".py"
                raise LocalStackError(f"the {name} function is missing ({path}): {exc}") from exc
        return modules


def _forget_fresh_modules() -> None:
    for name in [name for name in sys.modules if name.startswith(_FRESH_PREFIXES)]:
        del sys.modules[name]


def _one_at_a_time(module: ModuleType) -> Callable[[dict[str, Any], Any], Any]:
    """The module's `lambda_handler`, called by one thread at a time.

    A Lambda execution environment runs one invocation at a time, and handlers rely on it: Powertools'
    resolver, Logger and Metrics keep per-invocation state in module singletons. The local stack has one
    environment per function, so concurrent requests queue for it instead of corrupting each other.
    """
    handler = module.lambda_handler
    lock = threading.Lock()

    def invoke(event: dict[str, Any], context: Any) -> Any:
        with lock:
            return handler(event, context)

    return invoke


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


def _code_hook(handler: Callable[[dict[str, Any], Any], Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A Lambda handler as the Lex runtime's code hook: one event in, one response out, a fresh context each call."""

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = handler(event, LambdaContext(function_name="fulfillment"))
        return result

    return invoke


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
