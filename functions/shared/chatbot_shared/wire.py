"""What every JSON body of the API shares: wire names as titles, strict models, and the common field rules.

Wire names are camelCase (`sessionId`), also in Python constructors (each field names its alias); attributes
are snake_case. `PATTERN_REASONS` says, for each pattern a field may carry, what a 422 answers when a value
does not match (instead of the pattern itself); `chatbot_shared.rest.JsonApi` always knows these.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr
from pydantic.fields import ComputedFieldInfo, FieldInfo

from contracts.stack import MAX_EPOCH_MS, MAX_SESSION_ID_CHARS, MIN_EPOCH_MS, SESSION_ID_PATTERN

# No C0/C1 control characters (CR, LF, TAB, NUL, NEL...) and no Unicode line or paragraph separators.
NO_CONTROL_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]+$"
PATTERN_REASONS = {
    SESSION_ID_PATTERN: "may contain only letters, digits, '.', '_', ':' and '-'",
    NO_CONTROL_PATTERN: "must not contain line breaks or other control characters",
}

SessionId = Annotated[StrictStr, Field(min_length=1, max_length=MAX_SESSION_ID_CHARS, pattern=SESSION_ID_PATTERN)]
"""A chat's Lex session id, as the page sends it."""


def _integral_number(value: object) -> object:
    """JSON has one kind of number: `1763890172742.0` is the integer the OpenAPI document describes (JSON Schema's
    `integer` admits a zero fraction), so it is taken as that int. Anything else (1.5, true, "12") is left for the
    strict check to refuse."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


INTEGRAL_NUMBER = BeforeValidator(_integral_number)
WireInt = Annotated[StrictInt, INTEGRAL_NUMBER]
"""An integer as JSON carries it: an int, or a number with a zero fraction; never a bool or a string."""
EpochMs = Annotated[StrictInt, Field(ge=MIN_EPOCH_MS, le=MAX_EPOCH_MS), INTEGRAL_NUMBER]
"""A moment of a chat, in epoch milliseconds."""


def wire_title(name: str, field: FieldInfo | ComputedFieldInfo) -> str:
    """A field's title in JSON Schema and OpenAPI: its wire name (`sessionId`, not `Sessionid`)."""
    return field.alias or name


class WireModel(BaseModel):
    """camelCase on the wire (and in constructors: each field names its alias), snake_case attributes in Python,
    strict types, unknown fields refused."""

    model_config = ConfigDict(
        strict=True, extra="forbid", serialize_by_alias=True, frozen=True, field_title_generator=wire_title
    )
