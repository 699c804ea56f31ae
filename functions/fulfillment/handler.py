"""The Lex V2 code hook: answers the intents that need data, validates slots, and opens tickets.

Intents whose answer is plain text (IT how-tos, thanks, cancel) are answered by Lex from `bot/definition.yaml` and
never reach this function. Every word this function says is in that file too (each locale's `messages`, `cards`
and the slot prompts), packaged with it as `bot_content.json`. Whatever arrives, the answer is a valid Lex
response: a malformed event or a failing table gets a polite reply and an error log, never an exception.

Decisions:
- A refused slot value gets the reason (`customer_id_refused`, `user_email_refused`...), and the slot is asked
  again; after the slot's `max_retries` refusals in a row the intent fails with `retries_exhausted`, which offers a
  person. The count lives in the session attribute `refusedSlot` ("Intent.Slot:n"), as Lex keeps none for us.
- A word that asks for a person ("agent", "a person": the locale's `handover_words`) is never taken as the name.
- TalkToHuman's ticket carries the question the user could not get answered (`lastUnansweredQuery`, kept by the
  fallback) and the conversation so far, read from the query log by session id (never from the client), capped. A
  session with a turn Lex found NEGATIVE opens a priority ticket ("[Priority]" in the team's email).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ValidationError

from chatbot_shared.bot_content import BotContent, LocaleWording, load_bot_content
from chatbot_shared.environment import FunctionEnvironment
from chatbot_shared.escalation.desk import DeskNames, TicketDesk, TicketLimitReachedError
from chatbot_shared.escalation.models import EscalationRequest, Turn
from chatbot_shared.lex import CodeHookEvent, CodeHookResponse, Intent, close, delegate, elicit_slot
from chatbot_shared.query_log import QueryLogReader, QueryLogReadError, conversation_is_negative, transcript
from contracts.conversation import (
    BALANCE,
    BALANCE_LOOKUP_FAILED,
    CUSTOMER_ID_REFUSED,
    FALLBACK_OFFER,
    HANDOVER_OFFER,
    MALFORMED_EVENT,
    ORDER_LOOKUP_FAILED,
    ORDER_STATUS,
    RETRIES_EXHAUSTED,
    TICKET_FAILED,
    TICKET_LIMIT_REACHED,
    TICKET_OPENED,
    UNKNOWN_CUSTOMER,
    UNKNOWN_INTENT,
    UNKNOWN_PRODUCT,
    USER_EMAIL_REFUSED,
    USER_NAME_IS_A_REQUEST,
    USER_NAME_REFUSED,
    CodeHookMessage,
)
from contracts.metrics import ESCALATIONS_FROM_BOT, PRIORITY_ESCALATIONS_FROM_BOT
from contracts.stack import (
    BOT_CONTENT_PATH,
    CUSTOMERS_TABLE,
    CUSTOMERS_TABLE_NAME,
    MAX_USER_TEXT_CHARS,
    METRICS_NAMESPACE,
    QUERY_LOG_TABLE_NAME,
)

FUNCTION = "fulfillment"
CUSTOMER_KEY = CUSTOMERS_TABLE.hash_key.name
PACKAGED_BOT_CONTENT = Path(__file__).with_name("bot_content.json")  # written into the package by ChatbotBot


@dataclass(frozen=True)
class Settings:
    """Everything this function reads from its environment (`contracts.stack.FUNCTION_ENVIRONMENT[FUNCTION]`)."""

    customers_table: str
    desk: DeskNames
    query_log_table: str
    """Where TalkToHuman reads the conversation so far."""
    bot_content_path: Path
    """The packaged `bot_content.json`, unless BOT_CONTENT_PATH (set only by the local stack and tests) says."""

    @classmethod
    def read(cls, source: Mapping[str, str] | None = None) -> Settings:
        """Read from `source` (default: the process environment); ConfigurationError names a missing variable."""
        env = FunctionEnvironment(FUNCTION, source)
        return cls(
            customers_table=env.require(CUSTOMERS_TABLE_NAME),
            desk=DeskNames.to_open_tickets(env),
            query_log_table=env.require(QUERY_LOG_TABLE_NAME),
            bot_content_path=Path(env.optional(BOT_CONTENT_PATH) or PACKAGED_BOT_CONTENT),
        )


@cache
def settings() -> Settings:
    """This function's settings, read on first use."""
    return Settings.read()


logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)  # the namespace alarms and dashboards read

# Session attributes the chat page reads (`escalationOffered`) or this function keeps between turns.
ESCALATION_OFFERED = "escalationOffered"
UNANSWERED_QUERY = "lastUnansweredQuery"
TICKET_ID = "ticketId"
REFUSED_SLOT = "refusedSlot"  # "Intent.Slot:n": the slot whose value was refused n times in a row

CUSTOMER_ID = re.compile(r"^\d{1,20}$")
# What TalkToHuman says to ask again for a slot, when the escalation core refuses the name or email Lex collected.
REFUSED_SLOT_MESSAGES: dict[str, CodeHookMessage] = {"UserName": USER_NAME_REFUSED, "UserEmail": USER_EMAIL_REFUSED}
SLOT_OF_FIELD = {"userName": "UserName", "userEmail": "UserEmail"}
LOOKUP_FAILED = {"OrderStatus": ORDER_LOOKUP_FAILED, "BillingInquiry": BALANCE_LOOKUP_FAILED}
ASKED_FOR_A_PERSON = "The user asked to talk to a person."  # the ticket's question when none went unanswered
WORD = re.compile(r"[^\W\d_]+")


class Customer(BaseModel):
    """A row of the customer table: CustomerId, Name, LastOrderId, LastOrderStatus and AccountBalance (a number)."""

    customer_id: str
    name: str
    last_order_id: str
    last_order_status: str
    account_balance: Decimal


class CustomerLookupError(Exception):
    """The customer table could not be read."""


class CustomerDirectory:
    """The customer table; tests may swap the instance."""

    def __init__(self, table_name: str | None = None) -> None:
        self._table_name = table_name

    @cached_property
    def table(self) -> Any:
        """The table, made on first use so importing the module never creates a client."""
        return boto3.resource("dynamodb").Table(self._table_name or settings().customers_table)

    def find(self, customer_id: str) -> Customer | None:
        """The customer with `customer_id`, None if there is none; CustomerLookupError if the table fails."""
        try:
            item = self.table.get_item(Key={CUSTOMER_KEY: customer_id}).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise CustomerLookupError(str(exc)) from exc
        if item is None:
            return None
        return Customer(
            customer_id=item[CUSTOMER_KEY],
            name=item["Name"],
            last_order_id=item["LastOrderId"],
            last_order_status=item["LastOrderStatus"],
            account_balance=Decimal(str(item["AccountBalance"])),
        )


customers = CustomerDirectory()
desk = TicketDesk(lambda: settings().desk)  # tests swap it
query_log = QueryLogReader(lambda: settings().query_log_table)  # tests swap it


@cache
def bot_content() -> BotContent:
    """The catalogue and wording from `bot_content.json` (packaged by ChatbotBot, or at BOT_CONTENT_PATH)."""
    return load_bot_content(settings().bot_content_path)


def wording(event: CodeHookEvent | None = None) -> LocaleWording:
    """The words for the event's locale (the definition's first locale when there is no event to go by)."""
    return bot_content().wording(event.bot.locale_id if event is not None else None)


# --- pure replies: no AWS, easy to test -------------------------------------------------------------


def order_status_reply(customer: Customer, words: LocaleWording) -> str:
    """The customer's last order and where it is."""
    return words.say(
        ORDER_STATUS, name=customer.name, order_id=customer.last_order_id, order_status=customer.last_order_status
    )


def balance_reply(customer: Customer, words: LocaleWording) -> str:
    """The customer's balance, to the cent."""
    return words.say(BALANCE, name=customer.name, balance=str(customer.account_balance.quantize(Decimal("0.01"))))


def asks_for_a_person(name: str, transcript_text: str, handover_words: frozenset[str]) -> bool:
    """Whether a "name" is really a request for a person: a handover word ("agent") in it, or in the sentence it
    was taken from ("a person" gives the name "a")."""

    def words(text: str) -> set[str]:
        found = {word.casefold() for word in WORD.findall(text)}
        return found | {word.removesuffix("s") for word in found}  # "agents" asks as much as "agent"

    said, heard = words(name), words(transcript_text)
    return bool(said & handover_words) or (said <= heard and bool(heard & handover_words))


def refusal_count(attributes: Mapping[str, str], intent: str, slot: str) -> int:
    """How many values of `slot` of `intent` were refused in a row before this one (the `refusedSlot` attribute)."""
    refused, _, count = attributes.get(REFUSED_SLOT, "").rpartition(":")
    return int(count) if refused == f"{intent}.{slot}" and count.isdigit() else 0


def product_reply(product: str, catalogue: Mapping[str, str], words: LocaleWording) -> str:
    """The catalogue's answer for `product` (any case, simple plural), or the answer that points to sales."""
    answers = {name.casefold(): answer for name, answer in catalogue.items()}
    key = product.strip().casefold()
    for candidate in (key, key.removesuffix("s"), key.removesuffix("es")):
        if candidate in answers:
            return answers[candidate]
    return words.say(UNKNOWN_PRODUCT, product=product)


# --- intent handlers ------------------------------------------------------------------------------------

Handler = Callable[[CodeHookEvent, dict[str, str], LambdaContext | None], CodeHookResponse]


def refuse_slot(event: CodeHookEvent, attributes: dict[str, str], slot: str, reason: str) -> CodeHookResponse:
    """Ask for `slot` again, saying why its value was refused; after the slot's `max_retries` refusals in a row,
    give up on the intent and offer a person instead (as Lex does after its own retries)."""
    intent, words = event.intent, wording(event)
    refusals = refusal_count(attributes, intent.name, slot) + 1
    if refusals > words.max_retries(intent.name, slot):
        metrics.add_metric(name="SlotRetriesExhausted", unit=MetricUnit.Count, value=1)
        given_up = {key: value for key, value in attributes.items() if key != REFUSED_SLOT}
        given_up[ESCALATION_OFFERED] = "true"
        return close(intent, "Failed", words.say(RETRIES_EXHAUSTED), given_up, card=words.card(HANDOVER_OFFER))
    metrics.add_metric(name="SlotValueRefused", unit=MetricUnit.Count, value=1)
    counted = {**attributes, REFUSED_SLOT: f"{intent.name}.{slot}:{refusals}"}
    return elicit_slot(intent, slot, reason, counted, card=words.slot_card(intent.name, slot))


def handle_customer_question(
    event: CodeHookEvent, attributes: dict[str, str], _: LambdaContext | None
) -> CodeHookResponse:
    """OrderStatus and BillingInquiry: validate the customer id, then look the customer up."""
    intent, words = event.intent, wording(event)
    customer_id = intent.slot_text("CustomerId")
    if customer_id is not None and not CUSTOMER_ID.match(customer_id):
        return refuse_slot(event, attributes, "CustomerId", words.say(CUSTOMER_ID_REFUSED))
    if event.invocation_source == "DialogCodeHook":
        return delegate(intent, attributes)
    if customer_id is None:
        return elicit_slot(intent, "CustomerId", words.slot_prompt(intent.name, "CustomerId"), attributes)
    try:
        customer = customers.find(customer_id)
    except CustomerLookupError:
        logger.exception("customer lookup failed", extra={"intent": intent.name})
        metrics.add_metric(name="CustomerLookupFailed", unit=MetricUnit.Count, value=1)
        return close(intent, "Failed", words.say(LOOKUP_FAILED.get(intent.name, BALANCE_LOOKUP_FAILED)), attributes)
    if customer is None:
        metrics.add_metric(name="CustomerNotFound", unit=MetricUnit.Count, value=1)
        return close(intent, "Fulfilled", words.say(UNKNOWN_CUSTOMER, customer_id=customer_id), attributes)
    reply = order_status_reply(customer, words) if intent.name == "OrderStatus" else balance_reply(customer, words)
    return close(intent, "Fulfilled", reply, attributes)


def handle_product_info(event: CodeHookEvent, attributes: dict[str, str], _: LambdaContext | None) -> CodeHookResponse:
    """ProductInfo: answer from the catalogue in `bot/definition.yaml`."""
    intent, words = event.intent, wording(event)
    product = intent.slot_text("ProductName")
    if product is None:
        prompt, card = words.slot_prompt(intent.name, "ProductName"), words.slot_card(intent.name, "ProductName")
        return elicit_slot(intent, "ProductName", prompt, attributes, card=card)
    return close(intent, "Fulfilled", product_reply(product, bot_content().products, words), attributes)


def handle_fallback(event: CodeHookEvent, attributes: dict[str, str], _: LambdaContext | None) -> CodeHookResponse:
    """FallbackIntent: offer a person, and remember what went unanswered for the ticket."""
    metrics.add_metric(name="EscalationOffered", unit=MetricUnit.Count, value=1)
    remembered = {**attributes, ESCALATION_OFFERED: "true"}
    if event.input_transcript.strip():
        remembered[UNANSWERED_QUERY] = event.input_transcript.strip()[:MAX_USER_TEXT_CHARS]
    words = wording(event)
    return close(event.intent, "Fulfilled", words.say(FALLBACK_OFFER), remembered, card=words.card(HANDOVER_OFFER))


def escalation_request(
    event: CodeHookEvent, name: str, email: str, query: str, history: list[Turn] | None = None
) -> EscalationRequest | str:
    """The escalation core's request, or the slot to ask again for: the core's own rules judge name and email."""
    try:
        # Validated as wire data, turns included: the local stack re-imports the escalation models for each stack it
        # starts, so a Turn instance made by an earlier import would not pass as this import's Turn.
        return EscalationRequest.model_validate(
            {
                "sessionId": event.session_id,
                "userQuery": query[:MAX_USER_TEXT_CHARS],
                "userEmail": email,
                "userName": name,
                "conversationHistory": [turn.model_dump(exclude_none=True) for turn in history or []],
            }
        )
    except ValidationError as exc:
        refused = [SLOT_OF_FIELD[str(e["loc"][0])] for e in exc.errors() if e["loc"] and e["loc"][0] in SLOT_OF_FIELD]
        if not refused:
            raise  # the session id or query, which the user did not type as a slot: a bug to log, not to re-ask
        return refused[0]


def conversation_so_far(session_id: str) -> list[Turn]:
    """The session's turns from the query log, capped; none when the log cannot be read (the ticket still opens)."""
    try:
        return transcript(query_log.session_turns(session_id))
    except QueryLogReadError:
        logger.exception("could not read the conversation from the query log")
        metrics.add_metric(name="QueryLogReadFailed", unit=MetricUnit.Count, value=1)
        return []


def handle_talk_to_human(
    event: CodeHookEvent, attributes: dict[str, str], context: LambdaContext | None
) -> CodeHookResponse:
    """TalkToHuman: check the name and email Lex collected, then open a ticket with the question the user could not
    get answered and the conversation so far."""
    intent, words = event.intent, wording(event)
    name, email = intent.slot_text("UserName"), intent.slot_text("UserEmail")
    if name is not None and asks_for_a_person(name, event.input_transcript, words.handover_words):
        return refuse_slot(event, attributes, "UserName", words.say(USER_NAME_IS_A_REQUEST))
    # The question is what the fallback could not answer, never this turn's text (the user's email, by now).
    query = attributes.get(UNANSWERED_QUERY) or ASKED_FOR_A_PERSON
    # Validate what is filled so far; a stand-in fills the other slot until the user has given it.
    checked = escalation_request(event, name or "Guest", email or "guest@example.com", query)
    if isinstance(checked, str):
        return refuse_slot(event, attributes, checked, words.say(REFUSED_SLOT_MESSAGES[checked]))
    if event.invocation_source == "DialogCodeHook" or name is None or email is None:
        return delegate(intent, attributes)
    request = escalation_request(event, name, email, query, conversation_so_far(event.session_id))
    if isinstance(request, str):  # the same name and email passed above: cannot happen, but never a crash
        return refuse_slot(event, attributes, request, words.say(REFUSED_SLOT_MESSAGES[request]))
    priority = conversation_is_negative(query_log, event.session_id)
    try:
        receipt = desk.open(request, lambda_context=context, channel="bot", priority=priority)
    except TicketLimitReachedError as exc:  # a polite answer, not a failure: the earlier tickets are with the team
        metrics.add_metric(name="TicketLimitReached", unit=MetricUnit.Count, value=1)
        return close(intent, "Failed", words.say(TICKET_LIMIT_REACHED, limit=str(exc.limit)), attributes)
    except Exception:  # any failure must still answer Lex; the user can try again
        logger.exception("could not open a ticket from the bot")
        return close(intent, "Failed", words.say(TICKET_FAILED), attributes)
    metrics.add_metric(name=ESCALATIONS_FROM_BOT.name, unit=MetricUnit.Count, value=1)
    if priority:
        metrics.add_metric(name=PRIORITY_ESCALATIONS_FROM_BOT.name, unit=MetricUnit.Count, value=1)
    opened = {**attributes, ESCALATION_OFFERED: "false", TICKET_ID: receipt.ticket_id}
    opened.pop(UNANSWERED_QUERY, None)
    reply = words.say(TICKET_OPENED, name=name, ticket_id=receipt.ticket_id, email=email)
    return close(intent, "Fulfilled", reply, opened)


HANDLERS: dict[str, Handler] = {
    "OrderStatus": handle_customer_question,
    "BillingInquiry": handle_customer_question,
    "ProductInfo": handle_product_info,
    "FallbackIntent": handle_fallback,
    "TalkToHuman": handle_talk_to_human,
}


def respond(event: CodeHookEvent, context: LambdaContext | None = None) -> CodeHookResponse:
    """Route the event to its intent's handler; an intent with no handler gets a helpful close."""
    attributes = dict(event.session_state.session_attributes)
    handler = HANDLERS.get(event.intent.name)
    if handler is None:
        logger.warning("no handler for intent", extra={"intent": event.intent.name})
        return close(event.intent, "Fulfilled", wording(event).say(UNKNOWN_INTENT), attributes)
    response = handler(event, attributes, context)
    action = response.session_state.dialog_action
    if action is None or action.type != "ElicitSlot":  # the refused slot was accepted, or the dialog moved on
        response.session_state.session_attributes.pop(REFUSED_SLOT, None)
    return response


def malformed_event_reply(raw: Any) -> dict[str, Any]:
    """A valid Lex close for an event this function could not read."""
    session_state = raw.get("sessionState") if isinstance(raw, dict) else None
    intent_raw = session_state.get("intent") if isinstance(session_state, dict) else None
    name = intent_raw.get("name") if isinstance(intent_raw, dict) else None
    intent = Intent(name=name if isinstance(name, str) and name else "FallbackIntent")
    return close(intent, "Failed", wording().say(MALFORMED_EVENT), {}).to_lex()


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="sessionId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lex V2 code hook entry point."""
    try:
        lex_event = CodeHookEvent.model_validate(event)
        lex_event.intent  # noqa: B018 - raises when sessionState.intent is missing
    except (ValidationError, ValueError) as exc:
        logger.error("malformed Lex event", extra={"reason": str(exc)[:500]})
        metrics.add_metric(name="MalformedEvent", unit=MetricUnit.Count, value=1)
        return malformed_event_reply(event)
    metrics.add_metric(name=f"{lex_event.intent.name}Handled", unit=MetricUnit.Count, value=1)
    return respond(lex_event, context).to_lex()
