"""`python -m local [--host H] [--port P] [--embed-demo-port D] [--lambda-concurrency N] [--staff-email EMAIL]
[--knowledge-dir DIR] [--stack NAME]`: the whole chatbot on this machine until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from local.config_js import BrandingFileError, branding_from_stack_file
from local.stack import DEFAULT_KNOWLEDGE_DIR, DEFAULT_LAMBDA_CONCURRENCY, REPO, SITE_DIR, LocalStack, LocalStackError
from local.staff_sign_in import DEFAULT_STAFF_EMAIL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description="Run the support chatbot on one machine.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    parser.add_argument(
        "--embed-demo-port",
        type=int,
        default=None,
        metavar="D",
        help="port of the embed demo, a second origin on 127.0.0.1 whose page embeds the chat (default: PORT+1)",
    )
    parser.add_argument("--site-dir", type=Path, default=SITE_DIR, help="the built chat page (default: site/dist)")
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request")
    parser.add_argument(
        "--lambda-concurrency",
        type=int,
        default=DEFAULT_LAMBDA_CONCURRENCY,
        metavar="N",
        help=f"execution environments (processes) per function at most (default: {DEFAULT_LAMBDA_CONCURRENCY})",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another name this server may be reached by (its Host header), e.g. a LAN address; repeatable",
    )
    parser.add_argument(
        "--staff-email",
        default=DEFAULT_STAFF_EMAIL,
        metavar="EMAIL",
        help=f"the staff member who may sign in to /admin/ (default: {DEFAULT_STAFF_EMAIL}; the password is printed)",
    )
    parser.add_argument(
        "--knowledge-dir",
        type=Path,
        default=DEFAULT_KNOWLEDGE_DIR,
        metavar="DIR",
        help="the documents the bot answers from (Markdown, text, HTML, PDF; default: knowledge/)",
    )
    parser.add_argument(
        "--stack",
        metavar="NAME",
        help="brand the page as stack NAME is: its name, words, accent colour, logo and privacy notice from the "
        "support-chatbot:* keys of Pulumi.NAME.yaml (default: the page's own look)",
    )
    args = parser.parse_args(argv)

    try:
        branding = branding_from_stack_file(REPO / f"Pulumi.{args.stack}.yaml") if args.stack else None
    except BrandingFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        stack = LocalStack(
            args.host,
            args.port,
            site_dir=args.site_dir,
            verbose=args.verbose,
            lambda_concurrency=args.lambda_concurrency,
            allow_hosts=args.allow_host,
            staff_email=args.staff_email,
            knowledge_dir=args.knowledge_dir,
            embed_demo_port=args.embed_demo_port,
            branding=branding,
        )
    except LocalStackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.verbose:  # uvicorn's access log: one line per request
        access = logging.getLogger("uvicorn.access")
        access.addHandler(logging.StreamHandler(sys.stdout))
        access.setLevel(logging.INFO)
    print("Starting the local stack...", flush=True)
    try:
        info = stack.start()
    except LocalStackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while starting: start() has already stopped what it began
        print("\nStopped.", flush=True)
        return 130
    if args.host not in {"127.0.0.1", "localhost", "::1"}:
        print(f"warning: listening on {args.host}: anyone who can reach it can use the stack (no authentication)")
    print(info.describe(), flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("\nStopping...", flush=True)
    stack.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
