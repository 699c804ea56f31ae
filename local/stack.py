"""The whole chatbot in one process: moto, the stand-ins, the real handlers, the Lex runtime, the queue loop, HTTP.

`LocalStack(host, port).start()` brings everything up in order and `stop()` takes it down again, restoring
the environment variables it set, so an in-process stack is safe inside a larger test session.

What runs where:
- moto server: http://127.0.0.1:<free port> (thread), DynamoDB, SQS, SES, Cognito Identity;
- the functions: each in execution environments of its own (processes, `local.functions_pool`), up to
  `lambda_concurrency` at once per function, reaching moto through AWS_ENDPOINT_URL;
- one HTTP server on HOST:PORT (uvicorn, `local.server`): the page, the admin page (/admin/), config.js, embed.js, Lex
  runtime, /api/* (the admin routes behind the staff sign-in stand-in, `local.staff_sign_in`), /oauth2/*,
  /cognito-identity, /_local/outbox, /knowledge/* (the documents);
- the knowledge base (`local.knowledge`): the documents folder, indexed in a thread at start and again when a
  document changes; the Lex runtime answers from it as QnAIntent;
- the demo host on 127.0.0.1:EMBED_DEMO_PORT (default PORT+1; `local.embed_demo`): a page of another origin that
  embeds the chat with embed.js, the one site allowed to frame the page and call the API (CORS);
- one thread reading the tickets table's stream into the forwarder function (the DynamoDB Streams event source
  mapping), one polling the escalation queue into the sender function (the SQS event source mapping).
"""

from __future__ import annotations

import dataclasses
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
from contracts.embedding import check_embed_origins
from contracts.stack import (
    ADMIN_ROUTES,
    API_BASE_PATH,
    CLOUD_ONLY_FUNCTIONS,
    FUNCTION_ENVIRONMENT,
    ORIGIN_SECRET_HEADER,
    PUBLIC_ROUTES,
)
from local.config_js import COGNITO_PATH, config_values, render_config_js
from local.embed_demo import build_demo_app
from local.functions_pool import FunctionPool, LogSink, Template, print_log_line
from local.knowledge import DEFAULT_FOLDER as DEFAULT_KNOWLEDGE_DIR
from local.knowledge import KnowledgeBase
from local.lambda_events import REGION, LambdaContext
from local.lex_runtime import BotIdentity, LexRuntime
from local.queue_worker import QueueWorker
from local.server import LocalApp, LocalHttpServer, allowed_hosts, build_app, listen
from local.staff_pages import ReplyToRecorder
from local.staff_sign_in import DEFAULT_STAFF_EMAIL, StaffSignIn
from local.ticket_stream import StreamWorker

if TYPE_CHECKING:
    from bot.schema import BotDefinition
    from local.stand_ins import StandInNames

REPO = Path(__file__).resolve().parent.parent
SITE_DIR = REPO / "site" / "dist"
HANDLERS = {
    function: f"functions.{function}.handler"
    for function in FUNCTION_ENVIRONMENT
    if function not in CLOUD_ONLY_FUNCTIONS  # the local knowledge base indexes knowledge/ itself
}
"""Every function the local stack runs (its folder under `functions/`) and the module of its `lambda_handler`."""
DEFAULT_LAMBDA_CONCURRENCY = 2
"""Execution environments per function at most: two lets a slow call and a quick one run side by side, and
eight worker processes (four functions) fit a 2-core laptop's memory (about 60 MB each)."""
STREAM_POLL_SECONDS = 0.5
"""How often an idle ticket stream is read again: each read is three moto calls, so every 0.1 s would keep about a
sixth of a core busy doing nothing; a new ticket waits at most half a second more for its email."""
DEMO_HOST = "127.0.0.1"  # the embed demo is for this machine's browser only, whatever --host says
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
    staff_email: str = DEFAULT_STAFF_EMAIL
    staff_password: str = ""
    knowledge_dir: Path | None = None
    embed_demo_origin: str = ""
    """The demo host that embeds the chat (a second origin), the one site allowed to frame the page."""

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
                f"  admin page        {self.origin}/admin/  (the query log; sign in as {self.staff_email}"
                f" with password {self.staff_password})",
                f"  staff sign-in     {self.origin}/oauth2/authorize, /oauth2/token  (the hosted UI's stand-in)",
                f"  outbox            {self.origin}/_local/outbox",
                (
                    f"  knowledge base    {self.knowledge_dir}  (QnAIntent; documents at {self.origin}/knowledge/)"
                    if self.knowledge_dir is not None
                    else "  knowledge base    off (--knowledge-dir)"
                ),
                f"  embed demo        {self.embed_demo_origin}/  (another site embedding the chat with "
                f"{self.origin}/embed.js)",
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
        staff_email: str = DEFAULT_STAFF_EMAIL,
        staff_password: str | None = None,
        knowledge_dir: Path | None = DEFAULT_KNOWLEDGE_DIR,
        embed_demo_port: int | None = None,
        branding: Branding | None = None,
    ) -> None:
        """`embed_demo_port`: where the demo host listens (on 127.0.0.1); None: PORT+1, or any free port when that
        one is taken."""
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
        self.staff_email = staff_email
        self.staff_password = staff_password  # None: a new one each start, printed with the stack's description
        self.knowledge_dir = knowledge_dir  # None: no knowledge base (unmatched questions fall back)
        self.knowledge: KnowledgeBase | None = None
        self.embed_demo_port = embed_demo_port
        self.branding = branding or Branding()  # the page's name, words and colours; default: its own look
        self._info: StackInfo | None = None
        self.runtime: LexRuntime | None = None
        self.worker: QueueWorker | None = None
        self.stream: StreamWorker | None = None
        self.functions: dict[str, FunctionPool] = {}
        self._template = Template()
        self._http: LocalHttpServer | None = None
        self._demo: LocalHttpServer | None = None
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
        if self.knowledge_dir is not None and not self.knowledge_dir.is_dir():
            raise LocalStackError(
                f"the knowledge folder {self.knowledge_dir} does not exist: create it, or point "
                "`--knowledge-dir` (`make local KNOWLEDGE_DIR=...`) at the folder of your documents"
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
            demo_sock = self._listen_demo()
        except BaseException:
            sock.close()
            raise
        try:
            self._start_backends(sock, demo_sock)
        except BaseException:
            sock.close()
            demo_sock.close()
            self.stop()
            raise
        return self.info

    def _listen_demo(self) -> Any:
        """The demo host's socket on 127.0.0.1: the port asked for (LocalStackError when taken), else PORT+1, else
        any free port (the console and `info` say which)."""
        if self.embed_demo_port is not None:
            try:
                return listen(DEMO_HOST, self.embed_demo_port)
            except OSError as exc:
                raise LocalStackError(
                    f"cannot listen on {DEMO_HOST}:{self.embed_demo_port} for the embed demo: {exc.strerror}; "
                    f"pick another port (`python -m local --embed-demo-port {self.embed_demo_port + 1}`)"
                ) from None
        if 0 < self.port < 65535:
            try:
                return listen(DEMO_HOST, self.port + 1)
            except OSError:
                log.info("port %d is taken: the embed demo listens on a free port instead", self.port + 1)
        return listen(DEMO_HOST, 0)

    def _start_backends(self, sock: Any, demo_sock: Any) -> None:
        """Everything behind the (already bound) socket, in order; then serve. The moto server and the template
        of the functions' environments start first, as processes: they load their libraries while this one loads
        its own."""
        self._launch_moto()
        self._template.start()
        definition = load_definition()
        moto_url, names = self._stand_ins()
        settings = self._function_settings(moto_url, definition)
        demo_origin = f"http://{DEMO_HOST}:{demo_sock.getsockname()[1]}"
        embed_origins = check_embed_origins([demo_origin], allow_loopback_http=True)  # the deployed stack's rule
        names = dataclasses.replace(names, allowed_origins=embed_origins)  # the API's CORS, as __main__ merges it
        self._set_env({**settings, **names.environment()})
        self._start_functions({**settings, **names.environment()})

        bot = BotIdentity()
        locale_id = next(iter(definition.locales))
        if self.knowledge_dir is not None:
            self.knowledge = KnowledgeBase(self.knowledge_dir)
            self.knowledge.start()  # indexes while the rest starts; the first question waits for it if need be
        self.runtime = LexRuntime(
            definition, _code_hook(self.functions["fulfillment"]), identity=bot, knowledge=self.knowledge
        )
        http_host, http_port = sock.getsockname()[:2]
        origin = f"http://{_url_host(str(http_host))}:{http_port}"
        sign_in = StaffSignIn(origin, email=self.staff_email)
        if self.staff_password:
            sign_in.password = self.staff_password

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
                    embed_origins=embed_origins,
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
            recorder=self._recorder,
            admin_handlers={
                route: _through_the_edge(self.functions[route.function], names.origin_secret) for route in ADMIN_ROUTES
            },
            sign_in=sign_in,
            documents_dir=self.knowledge_dir,
            embed_origins=embed_origins,
        )
        hosts = allowed_hosts(str(http_host), int(http_port), self.allow_hosts)
        self._http = LocalHttpServer(sock, build_app(app, hosts), verbose=self.verbose)
        self._http.start()
        demo_hosts = allowed_hosts(DEMO_HOST, int(demo_sock.getsockname()[1]))
        self._demo = LocalHttpServer(demo_sock, build_demo_app(origin, demo_hosts), verbose=self.verbose)
        self._demo.start()
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
            staff_email=sign_in.email,
            staff_password=sign_in.password,
            knowledge_dir=self.knowledge_dir,
            embed_demo_origin=demo_origin,
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
        if self.knowledge is not None:
            self.knowledge.stop()
            self.knowledge = None
        if self._demo is not None:
            self._demo.stop()
            self._demo = None
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
