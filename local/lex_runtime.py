"""A Lex V2-compatible runtime for the local stack: RecognizeText, GetSession and DeleteSession over `bot/`.

No HTTP here: `LexRuntime` takes the request's path parameters and JSON body and returns the JSON body Lex V2
would answer (shapes from botocore's `lexv2-runtime` service model), or raises a `LexError` carrying Lex's
error type and HTTP status. The fulfillment Lambda is a plain callable (`CodeHook`), so tests can pass a
fake and the local stack passes the real handler.

Dialog, as Lex runs it: classify the utterance (`local.lex_nlu`), fill the slots found in it, call the dialog
code hook when the intent has one, elicit missing slots with the definition's prompts and quick replies
(re-prompting up to `max_retries`, then handing over to FallbackIntent, as Lex V2 does), call the fulfillment code
hook, or close with the intent's `answer`. An utterance no intent matches is first offered to the knowledge base
when the runtime has one (`local.knowledge`): a good passage answers it as Lex's QnAIntent does (intent
`QnAIntent`, Fulfilled, the answer and its sources in session attributes); only what the documents do not cover
goes to FallbackIntent. As in Lex, this never happens while a slot is being elicited. The local NLU is looser than
Lex's: with its nearest-sample model "I forgot my password" is an unsure CancelIntent (0.47) and "set up email on
my iPhone" an unsure ProductInfo (it names a product). So an intent chosen with less than `SURE_INTENT` confidence
gives way to a passage that scores at least as well, less `DOCUMENTS_MARGIN` (measured on bench/paraphrases.yaml:
no intent paraphrase is lost to the documents, see tests/local/test_local_knowledge.py).

While a slot is elicited, the user may change their mind as in Lex V2: a built-in cancel or start over, or an
answer that is clearly another intent, leaves the question. Sessions keep their attributes and the intent in
progress, expire after the bot's idle TTL, and are locked per session so concurrent conversations never share
state.
"""

from __future__ import annotations

import copy
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from chatbot_shared.lex import CodeHookResponse
from contracts.knowledge import ANSWER_ATTRIBUTE, KNOWLEDGE_INTENT_NAME, SOURCES_ATTRIBUTE, SOURCES_SEPARATOR
from contracts.stack import MAX_SESSION_ID_CHARS, MAX_USER_TEXT_CHARS, SESSION_ID_PATTERN
from local.lex_nlu import FALLBACK_INTENT, MAX_INTERPRETATIONS, Classifier, Match, SlotValue, extract_value, tokenize

if TYPE_CHECKING:
    from bot.schema import BotDefinition, Intent, Locale, ResponseCard, Slot
    from local.knowledge import KnowledgeBase

CodeHook = Callable[[dict[str, Any]], dict[str, Any]]
"""The fulfillment Lambda: takes a Lex V2 code-hook event, returns its response (a dict)."""

MIN_SESSION_ID_CHARS = 2  # botocore's SessionId: 2 to MAX_SESSION_ID_CHARS characters of SESSION_ID_PATTERN
_SESSION_ID = re.compile(SESSION_ID_PATTERN)
SWITCH_CONFIDENCE = 0.9  # an answer that fills the slot changes the subject only when it is near-certainly another
# ...or a confident cancel / start over ("nah, forget that"); a first name that merely resembles one ("Star",
# "Mindy") scores well below this.
LEAVE_CONFIDENCE = 0.8
MESSAGE_VERSION = "1.0"
SURE_INTENT = 0.9  # an exact or template match, or a near-certain paraphrase, is never second-guessed by documents
DOCUMENTS_MARGIN = 0.1  # an unsure intent gives way to a passage scoring at least its confidence less this
# Lex's AMAZON.EmailAddress takes `username@domain` as the user said it; whether that is an address the support team
# can reply to is the code hook's call, and it says why not ("ana@example" has no top-level domain).
_SAID_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")
CONFIRM_DEFAULT = "Shall I go ahead?"
DENIED = "Okay, I won't do that. What else can I help you with?"
ELICIT_INTENT_DEFAULT = "What can I help you with?"
_YES = frozenset({"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "correct", "confirm", "please", "y", "right"})
_NO = frozenset({"no", "nope", "nah", "cancel", "n", "not", "stop", "wrong"})


class LexError(Exception):
    """An error Lex V2 answers with: its type (the `x-amzn-ErrorType`), HTTP status and message."""

    status = 400
    error_type = "ValidationException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, str]:
        return {"message": self.message}


class LexValidationError(LexError):
    """400 ValidationException: the request is malformed."""


class LexNotFoundError(LexError):
    """404 ResourceNotFoundException: no such bot, alias, locale or session."""

    status = 404
    error_type = "ResourceNotFoundException"


class LexDependencyFailedError(LexError):
    """424 DependencyFailedException: the code hook failed or answered something Lex cannot use."""

    status = 424
    error_type = "DependencyFailedException"


@dataclass(frozen=True)
class BotIdentity:
    """The ids the local bot answers to. botocore requires a botId of exactly 10 characters."""

    bot_id: str = "LOCALBOTID"
    alias_id: str = "LOCALALIAS"
    alias_name: str = "live"
    version: str = "1"


@dataclass
class Progress:
    """The intent in progress: its slots (Lex V2 shapes), state, and what the bot is waiting for."""

    name: str
    slots: dict[str, dict[str, Any] | None]
    state: str = "InProgress"
    confirmation_state: str = "None"
    eliciting: str | None = None
    retries: int = 0
    confirming: bool = False

    def intent_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "slots": copy.deepcopy(self.slots),
            "state": self.state,
            "confirmationState": self.confirmation_state,
        }


@dataclass
class Session:
    """One conversation's state."""

    session_id: str
    attributes: dict[str, str] = field(default_factory=dict)
    progress: Progress | None = None
    touched: float = 0.0
    last_response: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


class SessionStore:
    """Sessions by (bot, alias, locale, session id); idle ones expire after `ttl_seconds`. Thread-safe."""

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._sessions: dict[tuple[str, ...], Session] = {}
        self._lock = threading.Lock()

    @contextmanager
    def turn(self, key: tuple[str, ...]) -> Iterator[Session]:
        """A working copy of the session, locked for the turn; saved only if the turn ends without an error."""
        with self._lock:
            now = self._clock()
            self._sweep(now)
            session = self._sessions.setdefault(key, Session(session_id=key[-1], touched=now))
        with session.lock:
            working = Session(
                session_id=session.session_id,
                attributes=dict(session.attributes),
                progress=copy.deepcopy(session.progress),
                touched=session.touched,
                last_response=session.last_response,
            )
            yield working
            session.attributes = working.attributes
            session.progress = working.progress
            session.last_response = working.last_response
            session.touched = self._clock()

    def get(self, key: tuple[str, ...]) -> Session | None:
        """The live session, or None when there is none or it expired."""
        with self._lock:
            self._sweep(self._clock())
            return self._sessions.get(key)

    def delete(self, key: tuple[str, ...]) -> None:
        with self._lock:
            self._sessions.pop(key, None)

    def _sweep(self, now: float) -> None:
        expired = [key for key, session in self._sessions.items() if now - session.touched > self._ttl]
        for key in expired:
            if not self._sessions[key].lock.locked():
                del self._sessions[key]


class LexRuntime:
    """RecognizeText, GetSession and DeleteSession for one bot definition, as Lex V2 answers them."""

    def __init__(
        self,
        definition: BotDefinition,
        code_hook: CodeHook | None,
        *,
        identity: BotIdentity | None = None,
        clock: Callable[[], float] = time.monotonic,
        knowledge: KnowledgeBase | None = None,
    ) -> None:
        self.definition = definition
        self.knowledge = knowledge  # QnAIntent's documents; None: unmatched utterances go to FallbackIntent
        self.identity = identity or BotIdentity()
        self.code_hook = code_hook
        self.classifiers = {locale_id: Classifier(locale) for locale_id, locale in definition.locales.items()}
        self.sessions = SessionStore(definition.bot.idle_session_ttl_seconds, clock)

    # --- operations ---------------------------------------------------------------------------------------

    def recognize_text(self, bot_id: str, alias_id: str, locale_id: str, session_id: str, body: Any) -> dict[str, Any]:
        """RecognizeText: one user turn; the JSON body of Lex's answer."""
        locale = self._locale(bot_id, alias_id, locale_id, session_id)
        text, state_in, request_attributes = _parse_recognize_text(body, locale)
        with self.sessions.turn((bot_id, alias_id, locale_id, session_id)) as session:
            _adopt_session_state(session, state_in, locale)
            turn = _Turn(self, locale, self.classifiers[locale_id], session, text, request_attributes)
            turn.run()
            response = turn.response()
            session.last_response = response
        return copy.deepcopy(response)

    def get_session(self, bot_id: str, alias_id: str, locale_id: str, session_id: str) -> dict[str, Any]:
        """GetSession: the session's state and the last answer; 404 when there is no live session."""
        self._locale(bot_id, alias_id, locale_id, session_id)
        session = self.sessions.get((bot_id, alias_id, locale_id, session_id))
        if session is None or session.last_response is None:
            raise LexNotFoundError(f"Session {session_id} not found")
        last = copy.deepcopy(session.last_response)
        return {key: last[key] for key in ("sessionId", "messages", "interpretations", "sessionState") if key in last}

    def delete_session(self, bot_id: str, alias_id: str, locale_id: str, session_id: str) -> dict[str, Any]:
        """DeleteSession: forget the session (no error when there is none)."""
        self._locale(bot_id, alias_id, locale_id, session_id)
        self.sessions.delete((bot_id, alias_id, locale_id, session_id))
        return {"botId": bot_id, "botAliasId": alias_id, "localeId": locale_id, "sessionId": session_id}

    def _locale(self, bot_id: str, alias_id: str, locale_id: str, session_id: str) -> Locale:
        if bot_id != self.identity.bot_id:
            raise LexNotFoundError(f"Could not find bot {bot_id}; the local bot is {self.identity.bot_id}")
        if alias_id != self.identity.alias_id:
            raise LexNotFoundError(f"Could not find alias {alias_id}; the local alias is {self.identity.alias_id}")
        if locale_id not in self.definition.locales:
            raise LexNotFoundError(f"Could not find locale {locale_id} in bot {bot_id}")
        if not MIN_SESSION_ID_CHARS <= len(session_id) <= MAX_SESSION_ID_CHARS or not _SESSION_ID.fullmatch(session_id):
            raise LexValidationError(
                "1 validation error detected: Value at 'sessionId' failed to satisfy constraint: "
                f"Member must have length between {MIN_SESSION_ID_CHARS} and {MAX_SESSION_ID_CHARS} "
                f"and match pattern {SESSION_ID_PATTERN.strip('^$')}"
            )
        return self.definition.locales[locale_id]


# --- request parsing ------------------------------------------------------------------------------------------


def _parse_recognize_text(body: Any, locale: Locale) -> tuple[str, dict[str, Any], dict[str, str] | None]:
    if not isinstance(body, dict):
        raise LexValidationError("The request body must be a JSON object")
    text = body.get("text")
    if not isinstance(text, str) or not text:
        raise LexValidationError(
            "1 validation error detected: Value at 'text' failed to satisfy constraint: "
            "Member must not be null and must have length greater than or equal to 1"
        )
    if len(text) > MAX_USER_TEXT_CHARS:
        raise LexValidationError(
            f"1 validation error detected: Value at 'text' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_USER_TEXT_CHARS}"
        )
    state_in = body.get("sessionState") or {}
    if not isinstance(state_in, dict):
        raise LexValidationError("sessionState must be an object")
    if "sessionAttributes" in state_in:
        state_in = {**state_in, "sessionAttributes": _string_map(state_in["sessionAttributes"], "sessionAttributes")}
    request_attributes = body.get("requestAttributes")
    if request_attributes is not None:
        request_attributes = _string_map(request_attributes, "requestAttributes")
    return text, state_in, request_attributes


def _string_map(value: Any, name: str) -> dict[str, str]:
    if value is None:
        return {}
    valid = isinstance(value, dict) and all(isinstance(k, str) and k and isinstance(v, str) for k, v in value.items())
    if not valid:
        raise LexValidationError(f"{name} must map non-empty strings to strings")
    return dict(value)


def _adopt_session_state(session: Session, state_in: dict[str, Any], locale: Locale) -> None:
    """Apply the request's `sessionState` as Lex does: attributes replace the session's; a dialog action
    of ElicitSlot puts that slot in waiting, Close or ElicitIntent ends the intent in progress."""
    if "sessionAttributes" in state_in:
        session.attributes = state_in["sessionAttributes"]
    action = state_in.get("dialogAction")
    if action is None:
        return
    if not isinstance(action, dict) or action.get("type") not in {"Close", "ElicitIntent", "ElicitSlot", "Delegate"}:
        raise LexValidationError("sessionState.dialogAction.type must be Close, ElicitIntent, ElicitSlot or Delegate")
    if action["type"] in {"Close", "ElicitIntent"}:
        session.progress = None
    elif action["type"] == "ElicitSlot":
        intent_in = state_in.get("intent")
        name = intent_in.get("name") if isinstance(intent_in, dict) else None
        intent = _known_intent(locale, name, "sessionState.intent.name")
        slot = intent.slot(str(action.get("slotToElicit")))
        if slot is None:
            raise LexValidationError(f"sessionState.dialogAction.slotToElicit: {intent.name} has no such slot")
        slots: dict[str, dict[str, Any] | None] = {s.name: None for s in intent.slots}
        given = intent_in.get("slots") if isinstance(intent_in, dict) else None
        if isinstance(given, dict):
            slots.update({k: v for k, v in given.items() if k in slots and (v is None or isinstance(v, dict))})
        session.progress = Progress(intent.name, slots, eliciting=slot.name)


def _known_intent(locale: Locale, name: Any, where: str) -> Intent:
    try:
        return locale.intent(str(name))
    except KeyError:
        raise LexValidationError(f"{where}: the bot has no intent {name!r}") from None


# --- one turn ---------------------------------------------------------------------------------------------------


class _Turn:
    """One RecognizeText call: reads the session, runs the dialog, collects messages."""

    def __init__(
        self,
        runtime: LexRuntime,
        locale: Locale,
        classifier: Classifier,
        session: Session,
        text: str,
        request_attributes: dict[str, str] | None,
    ) -> None:
        self.runtime = runtime
        self.locale = locale
        self.classifier = classifier
        self.session = session
        self.text = text
        self.request_attributes = request_attributes
        self.request_id = str(uuid.uuid4())
        self.messages: list[dict[str, Any]] = []
        self.interpretations: list[dict[str, Any]] = []
        self.dialog_action: dict[str, Any] = {"type": "ElicitIntent"}
        self.shown_intent: dict[str, Any] | None = None  # the intent the answer reports (kept after a Close)
        self.answer_attributes: dict[str, str] = {}  # QnAIntent's answer and sources, for this response only

    # --- dialog ---------------------------------------------------------------------------------------------

    def run(self) -> None:
        progress = self.session.progress
        if progress is not None and progress.eliciting is not None:
            self._answer_slot(progress)
        elif progress is not None and progress.confirming:
            self._answer_confirmation(progress)
        else:
            self._new_intent(ask_documents=True)

    def _new_intent(
        self, chosen: Match | None = None, ranked: list[Match] | None = None, *, ask_documents: bool = False
    ) -> None:
        if chosen is None or ranked is None:
            chosen, ranked = self.classifier.classify(self.text)
        if ask_documents and chosen.score < SURE_INTENT and self._answer_from_documents(chosen, ranked):
            return
        intent = self.locale.intent(chosen.intent)
        slots: dict[str, dict[str, Any] | None] = {slot.name: None for slot in intent.slots}
        slots.update({name: value.to_lex() for name, value in chosen.slots.items() if name in slots})
        self.session.progress = Progress(intent.name, slots)
        self.interpretations = self._interpretations(chosen, ranked)
        self._after_input(intent)

    def _answer_from_documents(self, chosen: Match, ranked: list[Match]) -> bool:
        """QnAIntent: answer from the knowledge base when a passage covers the utterance better than the (unsure)
        intent chosen, if any; False when the intent or FallbackIntent should answer."""
        knowledge = self.runtime.knowledge
        found = knowledge.answer(self.text) if knowledge is not None else None
        if found is None:
            return False
        if chosen.intent != FALLBACK_INTENT and found.score < chosen.score - DOCUMENTS_MARGIN:
            return False
        # Like Lex, in this response's request attributes: they describe this one answer, never a later turn's.
        self.answer_attributes = {
            ANSWER_ATTRIBUTE: found.text,
            SOURCES_ATTRIBUTE: SOURCES_SEPARATOR.join(found.sources),
        }
        progress = Progress(KNOWLEDGE_INTENT_NAME, {}, state="Fulfilled")
        candidates = self._interpretations(Match(FALLBACK_INTENT, 0.0), ranked)
        self.interpretations = [
            {"intent": {**progress.intent_json(), "slots": {}}, "interpretationSource": "Lex"},
            *[item for item in candidates if item["intent"]["name"] != FALLBACK_INTENT][: MAX_INTERPRETATIONS - 2],
            *[item for item in candidates if item["intent"]["name"] == FALLBACK_INTENT],
        ]
        self.messages.append(_message(found.text))
        self._show(progress, {"type": "Close"})
        self.session.progress = None
        return True

    def _answer_slot(self, progress: Progress) -> None:
        intent = self.locale.intent(progress.name)
        slot = intent.slot(progress.eliciting or "")
        if slot is None:  # the definition changed under a live session: start afresh
            self._new_intent()
            return
        chosen, ranked = self.classifier.classify(self.text)
        values = self._slot_values(intent, slot)
        if self._changes_subject(progress, chosen, answered=bool(values)):
            self._new_intent(chosen, ranked)  # the user changed their mind: Lex switches intents
            return
        self.interpretations = self._interpretations(Match(progress.name, 1.0, values), ranked)
        if not values:
            progress.retries += 1
            if progress.retries > slot.max_retries:
                self._give_up(progress)
            else:
                self._elicit(progress, slot, [], retry=True)
            return
        for name, value in values.items():
            progress.slots[name] = value.to_lex()
        progress.eliciting = None
        progress.retries = 0
        self._after_input(intent)

    def _changes_subject(self, progress: Progress, chosen: Match, *, answered: bool) -> bool:
        """Whether an answer to a slot's prompt leaves the question, as Lex V2 switches intents mid-dialog: another
        intent does when the answer fills no slot and the intent clears the locale's threshold ("my internet is
        down" for a customer id); when the answer does fill the slot ("never mind" read as a first name), only a
        confident cancel or start over, or a near-certain other intent, does."""
        if chosen.intent in {progress.name, FALLBACK_INTENT}:
            return False
        if not answered:
            return chosen.score >= self.classifier.threshold
        leaves = self.locale.intent(chosen.intent).leaves_the_dialog
        return chosen.score >= (LEAVE_CONFIDENCE if leaves else SWITCH_CONFIDENCE)

    def _slot_values(self, intent: Intent, slot: Slot) -> dict[str, SlotValue]:
        """Values in an answer to `slot`'s prompt: a sample of the intent that names the slot
        ("my customer ID is 12345"), else the answer itself read as the slot's type."""
        sampled = self.classifier.best_for_intent(intent.name, self.text)
        if sampled is not None and slot.name in sampled.slots and sampled.score >= self.classifier.threshold:
            return dict(sampled.slots)
        value = extract_value(slot, self.locale, self.text)
        if value is None and slot.type == "AMAZON.EmailAddress" and (said := _SAID_EMAIL.search(self.text)):
            address = said.group().rstrip(".,;:!?")
            value = SlotValue(address, address, (address,))
        return {slot.name: value} if value is not None else {}

    def _answer_confirmation(self, progress: Progress) -> None:
        words = {token.word for token in tokenize(self.text)}
        intent = self.locale.intent(progress.name)
        self.interpretations = self._interpretations(Match(progress.name, 1.0), [])
        if words & _YES and not words & _NO:
            progress.confirmation_state = "Confirmed"
        elif words & _NO:
            progress.confirmation_state = "Denied"
        else:
            progress.retries += 1
            if progress.retries > 2:
                self._give_up(progress)
            else:
                self.messages.append(_message(CONFIRM_DEFAULT))
                self._show(progress, {"type": "ConfirmIntent"})
            return
        progress.confirming = False
        progress.retries = 0
        if intent.dialog_code_hook:
            self._dialog_hook(intent)
        elif progress.confirmation_state == "Confirmed":
            self._delegate(intent)
        else:
            self._close(progress, "Failed", [_message(DENIED)])

    def _after_input(self, intent: Intent) -> None:
        if intent.dialog_code_hook:
            self._dialog_hook(intent)
        else:
            self._delegate(intent)

    def _delegate(self, intent: Intent) -> None:
        """Lex's own next step: the next empty required slot, else fulfillment or the static answer."""
        progress = self._progress()
        missing = self._next_missing(intent, progress)
        if missing is not None:
            self._elicit(progress, missing, [])
        elif intent.fulfillment_code_hook:
            self._fulfil(intent)
        else:
            self._close(progress, "Fulfilled", [_message(intent.answer or "")])

    def _elicit(self, progress: Progress, slot: Slot, messages: list[dict[str, Any]], *, retry: bool = False) -> None:
        if not retry and progress.eliciting != slot.name:
            progress.retries = 0
        progress.eliciting = slot.name
        progress.state = "InProgress"
        self.messages.extend(messages or self._prompt(slot))
        self._show(progress, {"type": "ElicitSlot", "slotToElicit": slot.name})

    def _prompt(self, slot: Slot) -> list[dict[str, Any]]:
        """The definition's prompt for `slot`, with its quick replies when it offers some."""
        card = self.locale.slot_card(slot)
        return [_message(slot.prompt)] + ([_card_message(card)] if card is not None else [])

    def _give_up(self, progress: Progress) -> None:
        """Lex V2 invokes FallbackIntent when an answer is still no slot value (or no yes or no) after the prompt's
        retries: the intent in progress is dropped, and the fallback offers a person."""
        progress.eliciting = None
        progress.confirming = False
        self._new_intent(Match(FALLBACK_INTENT, 0.0), [])

    def _close(self, progress: Progress, state: str, messages: list[dict[str, Any]]) -> None:
        progress.state = state
        self.messages.extend(messages)
        self._show(progress, {"type": "Close"})
        self.session.progress = None

    def _show(self, progress: Progress, action: dict[str, Any]) -> None:
        self.dialog_action = action
        self.shown_intent = progress.intent_json()

    def _progress(self) -> Progress:
        if self.session.progress is None:
            raise RuntimeError("no intent in progress")
        return self.session.progress

    @staticmethod
    def _next_missing(intent: Intent, progress: Progress) -> Slot | None:
        return next((slot for slot in intent.slots if slot.required and progress.slots.get(slot.name) is None), None)

    # --- code hooks -----------------------------------------------------------------------------------------

    def _dialog_hook(self, intent: Intent) -> None:
        progress = self._progress()
        progress.state = "InProgress"
        proposed = None
        missing = self._next_missing(intent, progress)
        if missing is not None:
            proposed = {
                "dialogAction": {"type": "ElicitSlot", "slotToElicit": missing.name},
                "intent": progress.intent_json(),
                "prompt": {"attempt": "Initial"},
            }
        self._apply(self._invoke("DialogCodeHook", proposed), "DialogCodeHook")

    def _fulfil(self, intent: Intent) -> None:
        progress = self._progress()
        progress.state = "ReadyForFulfillment"
        self._apply(self._invoke("FulfillmentCodeHook", None), "FulfillmentCodeHook")

    def _invoke(self, source: str, proposed: dict[str, Any] | None) -> dict[str, Any]:
        hook = self.runtime.code_hook
        if hook is None:
            raise LexDependencyFailedError("Invalid Bot Configuration: the alias has no code hook (Lambda)")
        event = self._event(source, proposed)
        try:
            raw = hook(event)
        except Exception as exc:  # a raising Lambda is Lex's "Unhandled" error, never a crash of the runtime
            raise LexDependencyFailedError(
                f"Invalid Lambda Response: Received error response from Lambda: Unhandled ({type(exc).__name__})"
            ) from exc
        try:
            CodeHookResponse.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise LexDependencyFailedError(f"Invalid Lambda Response: {where}: {first['msg']}") from exc
        return dict(raw)

    def _event(self, source: str, proposed: dict[str, Any] | None) -> dict[str, Any]:
        progress = self._progress()
        identity = self.runtime.identity
        state: dict[str, Any] = {
            "sessionAttributes": dict(self.session.attributes),
            "activeContexts": [],
            "intent": progress.intent_json(),
            "originatingRequestId": self.request_id,
        }
        if progress.eliciting is not None:
            state["dialogAction"] = {"type": "ElicitSlot", "slotToElicit": progress.eliciting}
        event: dict[str, Any] = {
            "messageVersion": MESSAGE_VERSION,
            "invocationSource": source,
            "inputMode": "Text",
            "responseContentType": "text/plain; charset=utf-8",
            "sessionId": self.session.session_id,
            "inputTranscript": self.text,
            "bot": {
                "id": identity.bot_id,
                "name": self.runtime.definition.bot.name,
                "aliasId": identity.alias_id,
                "aliasName": identity.alias_name,
                "localeId": next(k for k, v in self.runtime.definition.locales.items() if v is self.locale),
                "version": identity.version,
            },
            "interpretations": [_event_interpretation(item) for item in self.interpretations],
            "sessionState": state,
            "transcriptions": [
                {
                    "transcription": self.text,
                    "transcriptionConfidence": 1.0,
                    "resolvedContext": {"intent": progress.name},
                    "resolvedSlots": {},
                }
            ],
        }
        if proposed is not None:
            event["proposedNextState"] = proposed
        if self.request_attributes is not None:
            event["requestAttributes"] = dict(self.request_attributes)
        return event

    def _apply(self, raw: dict[str, Any], source: str) -> None:
        """Honour a code hook's answer: its attributes, intent and dialog action."""
        state = raw["sessionState"]
        messages = [dict(message) for message in raw.get("messages") or []]
        if "sessionAttributes" in state:
            self.session.attributes = {str(k): str(v) for k, v in (state["sessionAttributes"] or {}).items()}
        progress = self._progress()
        if state.get("intent"):
            progress = self._take_intent(state["intent"], progress)
        action = state.get("dialogAction") or {"type": "Delegate"}
        kind = action["type"]
        intent = self.locale.intent(progress.name)
        if kind == "Close":
            closed_state = (state.get("intent") or {}).get("state") or "Fulfilled"
            self._close(progress, closed_state, messages)
        elif kind == "ElicitSlot":
            slot = intent.slot(action.get("slotToElicit") or "")
            if slot is None:
                wanted = action.get("slotToElicit")
                reason = f"slotToElicit {wanted!r} is not a slot of {intent.name}"
                raise LexDependencyFailedError(f"Invalid Lambda Response: {reason}")
            self._elicit(progress, slot, messages)
        elif kind == "ConfirmIntent":
            progress.confirming = True
            progress.eliciting = None
            progress.state = "InProgress"
            self.messages.extend(messages or [_message(CONFIRM_DEFAULT)])
            self._show(progress, {"type": "ConfirmIntent"})
        elif kind == "ElicitIntent":
            self.messages.extend(messages or [_message(ELICIT_INTENT_DEFAULT)])
            self.dialog_action = {"type": "ElicitIntent"}
            self.shown_intent = None
            self.session.progress = None
        elif source == "FulfillmentCodeHook":  # Delegate after fulfillment: Lex closes the intent
            self._close(progress, "Fulfilled", messages)
        else:
            self.messages.extend(messages)
            self._delegate(intent)

    def _take_intent(self, given: dict[str, Any], progress: Progress) -> Progress:
        intent = self.locale.intent(given["name"]) if given["name"] in _names(self.locale) else None
        if intent is None:
            raise LexDependencyFailedError(f"Invalid Lambda Response: the bot has no intent {given['name']!r}")
        if intent.name != progress.name:
            progress = Progress(intent.name, {slot.name: None for slot in intent.slots})
            self.session.progress = progress
        for name, value in (given.get("slots") or {}).items():
            if intent.slot(name) is None:
                raise LexDependencyFailedError(f"Invalid Lambda Response: {name!r} is not a slot of {intent.name}")
            progress.slots[name] = value
        if given.get("confirmationState"):
            progress.confirmation_state = given["confirmationState"]
        return progress

    # --- answer -----------------------------------------------------------------------------------------------

    def _interpretations(self, chosen: Match, ranked: list[Match]) -> list[dict[str, Any]]:
        """Lex's list: the chosen intent first, other candidates by confidence, FallbackIntent without a score."""
        others = [m for m in ranked if m.intent not in {chosen.intent, FALLBACK_INTENT} and m.score > 0]
        ordered = [chosen, *others]
        items: list[dict[str, Any]] = []
        for match in ordered[: MAX_INTERPRETATIONS - 1]:
            intent = self.locale.intent(match.intent)
            slots: dict[str, Any] = {slot.name: None for slot in intent.slots}
            slots.update({name: value.to_lex() for name, value in match.slots.items() if name in slots})
            item: dict[str, Any] = {
                "intent": {"name": match.intent, "slots": slots, "confirmationState": "None"},
                "interpretationSource": "Lex",
            }
            if match.intent != FALLBACK_INTENT:
                item["nluConfidence"] = {"score": match.score}
            items.append(item)
        if chosen.intent != FALLBACK_INTENT:
            items.append(
                {
                    "intent": {"name": FALLBACK_INTENT, "slots": {}, "confirmationState": "None"},
                    "interpretationSource": "Lex",
                }
            )
        return items

    def response(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "dialogAction": dict(self.dialog_action),
            "sessionAttributes": dict(self.session.attributes),
            "originatingRequestId": self.request_id,
        }
        if self.shown_intent is not None:
            state["intent"] = self.shown_intent
        shown = self.shown_intent
        if self.interpretations and shown is not None and self.interpretations[0]["intent"]["name"] == shown["name"]:
            self.interpretations[0]["intent"]["state"] = shown["state"]
            self.interpretations[0]["intent"]["slots"] = copy.deepcopy(shown["slots"])
        answer: dict[str, Any] = {
            "sessionState": state,
            "interpretations": self.interpretations,
            "sessionId": self.session.session_id,
        }
        if self.messages:
            answer["messages"] = self.messages
        if self.request_attributes is not None or self.answer_attributes:
            answer["requestAttributes"] = {**(self.request_attributes or {}), **self.answer_attributes}
        return answer


def _message(content: str) -> dict[str, Any]:
    return {"contentType": "PlainText", "content": content}


def _card_message(card: ResponseCard) -> dict[str, Any]:
    """Quick replies as Lex V2 sends them: an ImageResponseCard message (no `content`)."""
    return {"contentType": "ImageResponseCard", "imageResponseCard": card.to_lex()}


def _names(locale: Locale) -> set[str]:
    return {intent.name for intent in locale.intents}


def _event_interpretation(item: dict[str, Any]) -> dict[str, Any]:
    """A runtime interpretation in the code-hook event's shape (`nluConfidence` is a bare number there)."""
    shaped = {"intent": copy.deepcopy(item["intent"]), "interpretationSource": item["interpretationSource"]}
    if "nluConfidence" in item:
        shaped["nluConfidence"] = item["nluConfidence"]["score"]
    return shaped
