"""The metrics the dashboard and alarms read are the ones the functions really emit.

Each function runs here as deployed (its `POWERTOOLS_SERVICE_NAME` is its folder, as `components.python_function`
sets it; metrics enabled), through a conversation that produces every custom metric: turns of each kind, votes, a
priority escalation from the page and from the bot, its email. Their CloudWatch EMF output is captured from stdout
and compared with `contracts.metrics`, and with every custom metric the dashboard's body and the alarms name.
"""

from __future__ import annotations

import copy
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.schema import load_definition
from components.dashboard import DashboardNames, custom_metric, dashboard_body, fallback_rate_queries
from contracts.knowledge import KNOWLEDGE_INTENT_NAME
from contracts.metrics import ALL_METRICS, CONVERSATION_PROPERTY, ESCALATION_SEND_FAILURES, SERVICE_DIMENSION
from contracts.query_log import FALLBACK_INTENT_NAME
from contracts.stack import METRICS_NAMESPACE
from local.stand_ins import StandInNames
from tests.functions.escalation_pipeline import TicketPipeline

SESSION = "us-east-1:7a1d6c1e-frustrated"
EVENTS = Path(__file__).parent / "events"
Emitted = set[tuple[str, str, tuple[tuple[str, str], ...]]]
"""(namespace, metric name, dimensions as sorted pairs)."""


def emf_records(stdout: str) -> list[dict[str, Any]]:
    """The EMF records among the printed lines."""
    records = []
    for line in stdout.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "_aws" in record:
            records.append(record)
    return records


def value(record: dict[str, Any], name: str) -> float | None:
    """A metric's value in a record (Powertools writes one value as a one-item list); None when absent."""
    found = record.get(name)
    return found[0] if isinstance(found, list) and len(found) == 1 else found


def emitted_metrics(records: list[dict[str, Any]]) -> Emitted:
    """Every (namespace, name, dimensions) the records declare, as CloudWatch extracts them."""
    found: Emitted = set()
    for record in records:
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = tuple(sorted((key, str(record[key])) for key in dimension_set))
                for metric in directive["Metrics"]:
                    found.add((directive["Namespace"], metric["Name"], dimensions))
    return found


@pytest.fixture
def deployed(stand_ins: StandInNames, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], ModuleType]:
    """`deployed(function)`: a fresh import of the function's handler with its deployed service name and metrics on
    (the test session's copy is put back afterwards)."""
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    content = tmp_path / "bot_content.json"
    content.write_text(load_definition().code_hook_content(), encoding="utf-8")
    monkeypatch.setenv("BOT_CONTENT_PATH", str(content))

    def load(function: str) -> ModuleType:
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", function)
        module_name = f"functions.{function}.handler"
        monkeypatch.delitem(sys.modules, module_name, raising=False)
        return importlib.import_module(module_name)

    return load


def talk_to_human(session_id: str) -> dict[str, Any]:
    """A recorded Lex event fulfilling TalkToHuman with a name and an email."""
    event = copy.deepcopy(json.loads((EVENTS / "lex_fulfillment.json").read_text()))

    def slot(value: str) -> dict[str, Any]:
        return {
            "shape": "Scalar",
            "value": {"originalValue": value, "interpretedValue": value, "resolvedValues": [value]},
        }

    event["sessionId"] = session_id
    event["inputTranscript"] = "grace@example.com"
    event["sessionState"]["intent"] = {
        "name": "TalkToHuman",
        "slots": {"UserName": slot("Grace"), "UserEmail": slot("grace@example.com")},
        "state": "InProgress",
        "confirmationState": "None",
    }
    event["sessionState"]["sessionAttributes"] = {"lastUnansweredQuery": "nothing works"}
    event["interpretations"][0]["intent"] = event["sessionState"]["intent"]
    return event


@pytest.fixture
def conversation_output(
    deployed, stand_ins, api_event, lambda_context, capsys: pytest.CaptureFixture[str]
) -> list[dict[str, Any]]:
    """The EMF records of a whole conversation: a NEGATIVE fallback turn, a knowledge-base turn, a vote changed
    from down to up, an escalation from the page and one from the bot (both priority), and their emails."""
    store_query = deployed("store_query")
    turns = [
        {"timestamp": 1_763_700_000_000, "intentName": FALLBACK_INTENT_NAME, "sentiment": "NEGATIVE"},
        {"timestamp": 1_763_700_060_000, "intentName": KNOWLEDGE_INTENT_NAME, "sentiment": "NEUTRAL"},
    ]
    for turn in turns:
        row = {"sessionId": SESSION, "userQuery": "why", "botResponse": "because", **turn}
        assert store_query.lambda_handler(api_event("POST", "/store-query", row), lambda_context)["statusCode"] == 201
    for rating in ("down", "up"):
        vote = {"sessionId": SESSION, "timestamp": turns[1]["timestamp"], "rating": rating}
        assert store_query.lambda_handler(api_event("POST", "/feedback", vote), lambda_context)["statusCode"] == 200
    escalation = {"sessionId": SESSION, "userQuery": "a person, please", "userEmail": "g@example.com", "userName": "G"}
    escalate = deployed("escalate")
    assert escalate.lambda_handler(api_event("POST", "/escalate", escalation), lambda_context)["statusCode"] == 202
    fulfillment = deployed("fulfillment")
    opened = fulfillment.lambda_handler(talk_to_human(SESSION), lambda_context)
    assert "ticketId" in opened["sessionState"]["sessionAttributes"], opened
    pipeline = TicketPipeline(stand_ins, deployed("forward_tickets"), deployed("send_escalation"))
    pipeline.drain()
    assert len(pipeline.sent_mail()) == 2
    return emf_records(capsys.readouterr().out)


def test_every_metric_of_the_contract_is_emitted_with_exactly_its_dimensions(conversation_output):
    # GIVEN the EMF the functions printed during a conversation that has every kind of event
    emitted = emitted_metrics(conversation_output)
    # WHEN / THEN each metric of contracts.metrics is among them, in our namespace, with its service dimension only
    for metric in ALL_METRICS:
        expected = (METRICS_NAMESPACE, metric.name, tuple(sorted(metric.dimensions.items())))
        assert expected in emitted, f"{metric.name} of {metric.function} was not emitted as {expected}: {emitted}"


def test_each_turn_counts_once_with_the_kinds_it_has_and_names_its_conversation(conversation_output):
    # GIVEN the store-query function's records of the two stored turns
    turns = [record for record in conversation_output if "Turns" in record]
    # WHEN / THEN there is one record per turn, with the turn's kinds counted 1 and the others 0
    kinds = [
        tuple(
            value(record, name) for name in ("Turns", "FallbackTurns", "KnowledgeBaseTurns", "NegativeSentimentTurns")
        )
        for record in turns
    ]
    assert kinds == [(1.0, 1.0, 0.0, 1.0), (1.0, 0.0, 1.0, 0.0)]
    assert {record[CONVERSATION_PROPERTY] for record in turns} == {SESSION}
    assert all(record[SERVICE_DIMENSION] == "store_query" for record in turns)


def test_a_changed_vote_counts_each_vote_once(conversation_output):
    # GIVEN the records of the two votes (down, then up)
    votes = [(value(record, "ThumbsDown"), value(record, "ThumbsUp")) for record in conversation_output]
    votes = [vote for vote in votes if vote != (None, None)]
    # THEN each vote counted once, for its own rating
    assert votes == [(1.0, None), (None, 1.0)]


def test_the_dashboard_and_the_alarms_read_only_metrics_the_functions_emit(conversation_output):
    # GIVEN what the functions emitted, and the custom metrics the dashboard's widgets and the alarms read
    emitted = emitted_metrics(conversation_output)
    names = DashboardNames(
        region="us-east-1",
        functions={f: f"{f}-fn" for f in ("store_query", "escalate", "fulfillment", "send_escalation")},
        log_groups={"store_query": "/aws/lambda/store-query"},
        api_name="api",
        dead_letter_queue_name="dlq",
        bot_id="BOT",
        bot_alias_id="ALIAS",
        locale_id="en_US",
    )
    read: Emitted = set()
    for widget in dashboard_body(names)["widgets"]:
        for line in widget["properties"].get("metrics", []):
            plain = [part for part in line if not isinstance(part, dict)]
            if plain and plain[0] == METRICS_NAMESPACE:
                read.add((plain[0], plain[1], tuple(sorted(zip(plain[2::2], plain[3::2], strict=True)))))
    for query in fallback_rate_queries(min_turns=20):
        if "metric" in query:
            metric = query["metric"]
            read.add((metric["namespace"], metric["metric_name"], tuple(sorted(metric["dimensions"].items()))))
    alarm = custom_metric(ESCALATION_SEND_FAILURES)
    read.add((alarm.namespace, alarm.name, tuple(sorted((k, str(v)) for k, v in alarm.dimensions.items()))))
    # WHEN / THEN every one of them is among what was emitted, names and dimensions exactly
    assert len(read) >= 10, f"the dashboard reads too few custom metrics: {read}"
    assert read <= emitted, f"read but never emitted: {sorted(read - emitted)}"
