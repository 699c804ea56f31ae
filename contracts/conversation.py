"""The code hook's wording contract: each message the fulfillment function says, the placeholders it fills in, and
the quick-reply cards it shows.

The words live in `bot/definition.yaml` (`messages:` and `cards:` in each locale), where support staff edit them;
`bot/schema.py` checks that every locale words exactly these messages, using only the placeholders listed
here, and has every card; the fulfillment function fills them in from `bot_content.json`. A placeholder is
written `{name}`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeHookMessage:
    """One thing the fulfillment function says: its name in the definition, what it may mention, and when."""

    name: str
    placeholders: frozenset[str]
    """The values the function fills in; a template may use any of them, and no other."""
    said_when: str
    """When the function says it, completing "the fulfillment function says it when ..." (for error messages)."""


def _message(name: str, said_when: str, *placeholders: str) -> CodeHookMessage:
    return CodeHookMessage(name, frozenset(placeholders), said_when)


ORDER_STATUS = _message("order_status", "OrderStatus found the customer's order", "name", "order_id", "order_status")
BALANCE = _message("balance", "BillingInquiry found the customer's balance", "name", "balance")
UNKNOWN_CUSTOMER = _message("unknown_customer", "no customer has the id the user gave", "customer_id")
CUSTOMER_ID_REFUSED = _message("customer_id_refused", "the customer id is not digits only (it asks again)")
ORDER_LOOKUP_FAILED = _message("order_lookup_failed", "OrderStatus could not read the customer table")
BALANCE_LOOKUP_FAILED = _message("balance_lookup_failed", "BillingInquiry could not read the customer table")
UNKNOWN_PRODUCT = _message("unknown_product", "ProductInfo's catalogue has nothing on the product", "product")
FALLBACK_OFFER = _message("fallback_offer", "the bot did not understand (FallbackIntent) and offers a person")
USER_NAME_REFUSED = _message("user_name_refused", "TalkToHuman got a name that cannot go into a ticket (it asks again)")
USER_NAME_IS_A_REQUEST = _message(
    "user_name_is_a_request", 'TalkToHuman got a word asking for a person ("agent") as the name (it asks again)'
)
USER_EMAIL_REFUSED = _message("user_email_refused", "TalkToHuman got no valid email address (it asks again)")
RETRIES_EXHAUSTED = _message(
    "retries_exhausted", "a slot's value was refused as many times as the slot's max_retries allow; it offers a person"
)
TICKET_OPENED = _message("ticket_opened", "TalkToHuman opened the ticket", "name", "ticket_id", "email")
TICKET_FAILED = _message("ticket_failed", "TalkToHuman could not open the ticket")
TICKET_LIMIT_REACHED = _message(
    "ticket_limit_reached",
    "the ticket desk refuses a ticket over the hourly limit per chat or address (TicketLimitReachedError)",
    "limit",
)
UNKNOWN_INTENT = _message("unknown_intent", "an intent reaches it that it has no answer for")
MALFORMED_EVENT = _message("malformed_event", "it cannot read the event Lex sent")

CODE_HOOK_MESSAGES: dict[str, CodeHookMessage] = {
    message.name: message
    for message in (
        ORDER_STATUS,
        BALANCE,
        UNKNOWN_CUSTOMER,
        CUSTOMER_ID_REFUSED,
        ORDER_LOOKUP_FAILED,
        BALANCE_LOOKUP_FAILED,
        UNKNOWN_PRODUCT,
        FALLBACK_OFFER,
        USER_NAME_REFUSED,
        USER_NAME_IS_A_REQUEST,
        USER_EMAIL_REFUSED,
        RETRIES_EXHAUSTED,
        TICKET_OPENED,
        TICKET_FAILED,
        TICKET_LIMIT_REACHED,
        UNKNOWN_INTENT,
        MALFORMED_EVENT,
    )
}
"""Every message of the fulfillment function, by name: each locale of the definition words all of them."""


@dataclass(frozen=True)
class CodeHookCard:
    """Quick replies the fulfillment function shows with a message: its name in the definition's `cards`, and when."""

    name: str
    shown_when: str
    """When the function shows it, completing "the fulfillment function shows it ..." (for error messages)."""


HANDOVER_OFFER = CodeHookCard("handover_offer", "with fallback_offer and retries_exhausted: a yes/no to a person")

CODE_HOOK_CARDS: dict[str, CodeHookCard] = {card.name: card for card in (HANDOVER_OFFER,)}
"""Every card of the fulfillment function, by name: each locale of the definition has all of them."""
