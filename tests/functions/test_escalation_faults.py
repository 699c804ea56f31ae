"""Fault injection along an escalation's whole path, over moto: for a failure at each step, the page (retrying as
its contract says) and the pipeline (retrying as Lambda's event source mappings do) end with exactly one ticket, at
most one email for it (exactly one where SES accepted one), no ticket lost without a human being told (the DLQ and
its alarm), and no 5xx that lies.

Failures are injected at the AWS edge only (`tests/functions/aws_faults.py`: botocore's event hooks answer an
error, lose an answer, or stop the invocation as Lambda's timeout does). The figures (steps x outcomes) are written
to artifacts/escalation-faults.md and printed at the end of the module (`pytest -s`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from chatbot_shared.escalation.desk import DeskNames, TicketDesk
from local.stand_ins import StandInNames
from tests.functions.aws_faults import AwsFaults, LambdaTimeout
from tests.functions.escalation_pipeline import TicketPipeline

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
REQUEST: dict[str, Any] = {
    "sessionId": "us-east-1:fault-session",
    "userQuery": "The VPN drops every five minutes",
    "userEmail": "ada@example.com",
    "userName": "Ada Lovelace",
    "conversationHistory": [{"role": "user", "text": "vpn keeps dropping", "timestamp": 1_763_700_000_000}],
    "idempotencyKey": "3b0c5d3e-7f5a-4c59-9d0a-4f3f1c2a7e11",
}
PAGE_ATTEMPTS = 4  # the page's contract: the first submission and up to three retries of the same body
RETRIED_BY_THE_PAGE = {409, 500, 502, 503, 504}
VISIBILITY_TIMEOUT_SECONDS = 180  # what passes between two deliveries of a failed message (components/escalations)
PIPELINE_ROUNDS = 12
NOTHING_KEPT = "nothing was kept"


@dataclass
class EscalationPath:
    """The modules and desks of one run, where failures are injected."""

    escalate: ModuleType
    forwarder: ModuleType
    sender: ModuleType
    sender_clock: list[float]
    faults: AwsFaults = field(default_factory=AwsFaults)


Injection = Callable[[EscalationPath], None]


def together(*injections: Injection) -> Injection:
    """Several failures in one run."""

    def inject(path: EscalationPath) -> None:
        for injection in injections:
            injection(path)

    return inject


def client_error_details(*codes: str) -> dict[str, Any]:
    return {"CancellationReasons": [{"Code": code} for code in codes]}


# step, what happens, how it is injected, tickets the run must end with
SCENARIOS: list[tuple[str, str, Injection, int]] = [
    (
        "ticket write",
        "refused once (throttled)",
        lambda p: p.faults.refuse(
            p.escalate.desk.dynamodb, "TransactWriteItems", "ProvisionedThroughputExceededException", status=400
        ),
        1,
    ),
    (
        "ticket write",
        "refused once (internal error: may or may not have happened)",
        lambda p: p.faults.refuse(p.escalate.desk.dynamodb, "TransactWriteItems", "InternalServerError"),
        1,
    ),
    (
        "ticket write",
        "done, answer lost",
        lambda p: p.faults.lose_answer(p.escalate.desk.dynamodb, "TransactWriteItems"),
        1,
    ),
    (
        "ticket write",
        "done, answer lost, read-back refused",
        together(
            lambda p: p.faults.lose_answer(p.escalate.desk.dynamodb, "TransactWriteItems"),
            lambda p: p.faults.refuse(p.escalate.desk.dynamodb, "GetItem", "InternalServerError"),
        ),
        1,
    ),
    (
        "ticket write",
        "cancelled by a concurrent twin",
        lambda p: p.faults.refuse(
            p.escalate.desk.dynamodb,
            "TransactWriteItems",
            "TransactionCanceledException",
            status=400,
            details=client_error_details("TransactionConflict", "None", "None"),
        ),
        1,
    ),
    (
        "ticket write",
        "Lambda timeout after it",
        lambda p: p.faults.time_out_after(p.escalate.desk.dynamodb, "TransactWriteItems"),
        1,
    ),
    (
        "ticket write",
        "refused on every attempt (outage)",
        lambda p: p.faults.refuse(
            p.escalate.desk.dynamodb, "TransactWriteItems", "ThrottlingException", status=400, times=99
        ),
        0,
    ),
    (
        "limit counters (idempotency record)",
        "refused inside the ticket's transaction",
        lambda p: p.faults.refuse(
            p.escalate.desk.dynamodb,
            "TransactWriteItems",
            "TransactionCanceledException",
            status=400,
            details=client_error_details("None", "ThrottlingError", "None"),
        ),
        1,
    ),
    (
        "stream forward (enqueue)",
        "SQS refuses twice",
        lambda p: p.faults.refuse(p.forwarder.desk.sqs, "SendMessage", "InternalError", times=2),
        1,
    ),
    (
        "stream forward (enqueue)",
        "sent, answer lost",
        lambda p: p.faults.lose_answer(p.forwarder.desk.sqs, "SendMessage"),
        1,
    ),
    (
        "stream forward (enqueue)",
        "Lambda timeout after it",
        lambda p: p.faults.time_out_after(p.forwarder.desk.sqs, "SendMessage"),
        1,
    ),
    (
        "sender: load ticket",
        "refused once",
        lambda p: p.faults.refuse(p.sender.desk.dynamodb, "GetItem", "InternalServerError"),
        1,
    ),
    (
        "sender: claim",
        "refused once",
        lambda p: p.faults.refuse(p.sender.desk.dynamodb, "UpdateItem", "InternalServerError"),
        1,
    ),
    (
        "sender: claim",
        "done, answer lost",
        lambda p: p.faults.lose_answer(p.sender.desk.dynamodb, "UpdateItem"),
        1,
    ),
    (
        "sender: claim",
        "Lambda timeout after it (before SES)",
        lambda p: p.faults.time_out_after(p.sender.desk.dynamodb, "UpdateItem"),
        1,
    ),
    (
        "SES send",
        "refused once",
        lambda p: p.faults.refuse(p.sender.mailer.client, "SendEmail", "InternalFailure"),
        1,
    ),
    (
        "SES send",
        "throttled twice",
        lambda p: p.faults.refuse(p.sender.mailer.client, "SendEmail", "TooManyRequestsException", status=429, times=2),
        1,
    ),
    (
        "SES send",
        "refused on every attempt (outage)",
        lambda p: p.faults.refuse(p.sender.mailer.client, "SendEmail", "InternalFailure", times=99),
        1,
    ),
    (
        "SES send",
        "accepted, answer lost",
        lambda p: p.faults.lose_answer(p.sender.mailer.client, "SendEmail"),
        1,
    ),
    (
        "SES send",
        "Lambda timeout after SES accepted",
        lambda p: p.faults.time_out_after(p.sender.mailer.client, "SendEmail"),
        1,
    ),
    (
        "mark sent",
        "refused once",
        lambda p: p.faults.refuse(p.sender.desk.dynamodb, "UpdateItem", "InternalServerError", nth=2),
        1,
    ),
    (
        "mark sent",
        "refused, and the follow-up message refused",
        together(
            lambda p: p.faults.refuse(p.sender.desk.dynamodb, "UpdateItem", "InternalServerError", nth=2),
            lambda p: p.faults.refuse(p.sender.desk.sqs, "SendMessage", "InternalError"),
        ),
        1,
    ),
    (
        "mark sent",
        "Lambda timeout after it",
        lambda p: p.faults.time_out_after(p.sender.desk.dynamodb, "UpdateItem", nth=2),
        1,
    ),
]

FIGURES: list[dict[str, Any]] = []


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    """Write and print the steps x outcomes table once every scenario ran."""
    yield
    if not FIGURES:
        return
    header = "| step | failure | page saw | tickets | emails | ticket ends | DLQ | injected |\n" + "|---" * 8 + "|"
    rows = [
        f"| {f['step']} | {f['failure']} | {f['answers']} | {f['tickets']} | {f['emails']} | {f['status']} | "
        f"{f['dlq']} | {f['verdict']} |"
        for f in FIGURES
    ]
    table = "\n".join([header, *rows]) + "\n"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "escalation-faults.md").write_text(table, encoding="utf-8")
    print("\n" + table)


@pytest.fixture
def run(stand_ins: StandInNames, monkeypatch) -> Iterator[EscalationPath]:
    """The three functions with fresh desks (the sender's on a clock a test moves on), over these stand-ins."""
    from functions.escalate import handler as escalate
    from functions.forward_tickets import handler as forwarder
    from functions.send_escalation import handler as sender

    clock = [time.time()]
    monkeypatch.setattr(escalate, "desk", TicketDesk(lambda: escalate.settings().desk))
    monkeypatch.setattr(forwarder, "desk", TicketDesk(lambda: forwarder.settings().desk))
    monkeypatch.setattr(
        sender,
        "desk",
        TicketDesk(DeskNames(stand_ins.tickets_table, stand_ins.escalation_queue_url), clock=lambda: clock[0]),
    )
    monkeypatch.setattr(sender, "mailer", sender.Mailer(sleep=lambda seconds: None))
    path = EscalationPath(escalate, forwarder, sender, clock)
    yield path
    path.faults.clear()


def submit_as_the_page(
    run: EscalationPath, api_event, lambda_context, tickets: Callable[[], list[dict[str, Any]]]
) -> list[str]:
    """Submit REQUEST and retry it as the page's contract says; each answer as `status` (and what it claimed).
    Checks each answer against the table at that moment: a 202 names a ticket that exists; a 503 saying nothing
    was kept comes when no ticket exists."""
    answers: list[str] = []
    for _ in range(PAGE_ATTEMPTS):
        try:
            response = run.escalate.lambda_handler(api_event("POST", "/escalate", REQUEST), lambda_context)
        except LambdaTimeout:
            answers.append("504 (timeout)")  # API Gateway's answer to a function stopped at its timeout
            continue
        status, body = response["statusCode"], json.loads(response["body"])
        if status == 202:
            assert body["ticketId"] in [t["ticketId"] for t in tickets()], (
                f"202 names a ticket that is not there: {body}"
            )
            answers.append("202")
            return answers
        message = body.get("message", "")
        if status == 503 and NOTHING_KEPT in message:
            assert tickets() == [], f"503 said nothing was kept, but a ticket exists: {tickets()}"
            answers.append("503 (nothing kept)")
        else:
            answers.append(f"{status} ({'may not be recorded' if status == 503 else message[:30]})")
        if status not in RETRIED_BY_THE_PAGE:
            return answers
    return answers


def run_the_pipeline(run: EscalationPath, pipeline: TicketPipeline) -> None:
    """Let the mappings work until nothing moves: each round, the stream is read and the queue delivered once, and
    the sender's clock moves on by a visibility timeout (the wait before a failed message comes back)."""
    for _ in range(PIPELINE_ROUNDS):
        moved = pipeline.forward() + pipeline.deliver()
        run.sender_clock[0] += VISIBILITY_TIMEOUT_SECONDS
        if moved == 0:
            return


@pytest.mark.parametrize(
    ("step", "failure", "inject", "expected_tickets"),
    SCENARIOS,
    ids=[f"{step}: {failure}" for step, failure, _, _ in SCENARIOS],
)
def test_a_failure_at_each_step_leaves_one_ticket_at_most_one_email_and_no_lying_answer(
    run, stand_ins, aws, api_event, lambda_context, step, failure, inject, expected_tickets
):
    # GIVEN a failure injected at one step of the escalation's path
    tickets = lambda: aws.table_items(stand_ins.tickets_table)  # noqa: E731
    pipeline = TicketPipeline(stand_ins, run.forwarder, run.sender)
    inject(run)
    # WHEN the page submits (and retries as its contract says) and the pipeline runs until nothing moves
    answers = submit_as_the_page(run, api_event, lambda_context, tickets)
    run_the_pipeline(run, pipeline)
    # THEN there is the expected number of tickets, at most one email per ticket, and a ticket without its email
    # waits in the DLQ (whose alarm calls a human); every answer was true when it was given (checked on the way)
    found = tickets()
    emails = {t["ticketId"]: [m for m in pipeline.sent_mail() if t["ticketId"] in m.subject] for t in found}
    dead = [message["ticketId"] for message in pipeline.dead_letters(aws)]
    FIGURES.append(
        {
            "step": step,
            "failure": failure,
            "answers": " → ".join(answers),
            "tickets": len(found),
            "emails": sum(len(sent) for sent in emails.values()),
            "status": ", ".join(str(t["status"]) for t in found) or "-",
            "dlq": len(dead),
            "verdict": "fired: " + "; ".join(run.faults.fired) if run.faults.fired else "NOT FIRED",
        }
    )
    assert run.faults.fired, "the injected failure never happened: the scenario tests nothing"
    assert len(found) == expected_tickets, f"tickets: {found}"
    for ticket in found:
        sent = emails[ticket["ticketId"]]
        assert len(sent) <= 1, f"{ticket['ticketId']} was emailed {len(sent)} times"
        if not sent:
            assert ticket["ticketId"] in dead, f"{ticket['ticketId']} has no email and no human was told"
        elif ticket["status"] != "sent":
            assert ticket["ticketId"] in dead, f"{ticket['ticketId']} was emailed but not marked sent, silently"
    if expected_tickets == 0:
        assert answers[-1].startswith("503 (nothing kept)"), answers
