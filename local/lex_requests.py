"""Lex V2 request bodies, checked as Lex checks them before any dialog runs: 400 ValidationException otherwise.

The shapes and constraints come from botocore's own `lexv2-runtime` service model (the one boto3 clients
are built from): which members a body has, their types, required members, enums, lengths and patterns,
down to `sessionState.intent.slots` and `dialogAction.subSlotToElicit`. On top of the model, what Lex
refuses that the model does not say:

- a body that is not UTF-8 JSON, or that uses `NaN`, `Infinity` or a number JSON cannot represent as a
  finite double (`1e999`); a string holding a lone surrogate (`"\\ud800"`), which is not Unicode text;
- session and request attributes over Lex's size limit (`MAX_ATTRIBUTES_BYTES`).

Lengths count UTF-16 code units, as Lex's quotas do ("character limits are calculated as the number of
Unicode code units"). Members the model does not know are ignored, as AWS's JSON services ignore them.
Messages follow the AWS shape: `1 validation error detected: Value at 'sessionState.dialogAction.type'
failed to satisfy constraint: Member must satisfy enum value set: [...]`.
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import TYPE_CHECKING, Any

from local.lex_runtime import LexValidationError

if TYPE_CHECKING:
    from botocore.model import Shape, StructureShape

MAX_ATTRIBUTES_BYTES = 12 * 1024
"""Session attributes and request attributes of one request together, in UTF-8 bytes: Lex's documented runtime
quota ("the maximum size of request and session attributes combined is 12 KB"). botocore's model carries no
size for these maps, so the figure is written here."""
MAX_ERRORS_LISTED = 5


def recognize_text_body(raw: bytes) -> dict[str, Any]:
    """The body of a RecognizeText request, decoded and checked; LexValidationError says what is wrong."""
    body = decode_json(raw)
    check_body(body, _operation_input("RecognizeText"))
    if isinstance(body.get("sessionState"), dict):
        _check_attributes_size(body)
    return body


def decode_json(raw: bytes) -> dict[str, Any]:
    """A JSON object from UTF-8 bytes, refusing what Lex refuses: NaN, infinities and lone surrogates."""
    try:
        text = raw.decode("utf-8") if raw else "{}"
    except UnicodeDecodeError as exc:
        raise LexValidationError(f"The request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise LexValidationError("The request body is not valid JSON: it is nested too deeply") from None
    except ValueError as exc:
        raise LexValidationError(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise LexValidationError("The request body is not valid JSON: it must be an object")
    where = _lone_surrogate_path(value)
    if where is not None:
        raise LexValidationError(
            f"1 validation error detected: Value at '{where}' failed to satisfy constraint: "
            "Member must be valid Unicode text (it holds an unpaired surrogate)"
        )
    return value


def check_body(body: dict[str, Any], shape: StructureShape) -> None:
    """Check the body members of an operation's input against botocore's shapes; LexValidationError lists
    the first few violations, AWS-style."""
    errors: list[str] = []
    members = {name: member for name, member in shape.members.items() if not member.serialization.get("location")}
    try:
        _check_structure(body, members, shape.required_members, "", errors)
    except RecursionError:
        errors.append("Value failed to satisfy constraint: Member must not be nested this deeply")
    if errors:
        count = len(errors)
        listed = "; ".join(errors[:MAX_ERRORS_LISTED])
        raise LexValidationError(f"{count} validation error{'s' if count > 1 else ''} detected: {listed}")


def _check_attributes_size(body: dict[str, Any]) -> None:
    size = 0
    for attributes in (body["sessionState"].get("sessionAttributes"), body.get("requestAttributes")):
        if isinstance(attributes, dict):
            size += sum(len(str(k).encode()) + len(str(v).encode()) for k, v in attributes.items())
    if size > MAX_ATTRIBUTES_BYTES:
        raise LexValidationError(
            "1 validation error detected: Value at 'sessionState.sessionAttributes' failed to satisfy constraint: "
            f"session and request attributes together must be at most {MAX_ATTRIBUTES_BYTES} bytes (got {size})"
        )


# --- the walk over botocore's shapes ---------------------------------------------------------------------------


def _check(value: Any, shape: Shape, path: str, errors: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            errors.append(_violation(path, "Member must be an object"))
            return
        _check_structure(value, shape.members, shape.required_members, path + ".", errors)  # type: ignore[attr-defined]
    elif kind == "map":
        _check_map(value, shape, path, errors)
    elif kind == "list":
        if not isinstance(value, list):
            errors.append(_violation(path, "Member must be a list"))
            return
        _check_size(len(value), shape, path, errors, "have length")
        for index, item in enumerate(value):
            _check(item, shape.member, f"{path}.{index + 1}", errors)  # type: ignore[attr-defined]
    elif kind == "string":
        _check_string(value, shape, path, errors)
    elif kind in {"integer", "long"}:
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(_violation(path, "Member must be an integer"))
            return
        _check_size(value, shape, path, errors, "have value")
    elif kind == "boolean" and not isinstance(value, bool):
        errors.append(_violation(path, "Member must be a boolean"))
    elif kind in {"double", "float"} and (not isinstance(value, int | float) or isinstance(value, bool)):
        errors.append(_violation(path, "Member must be a number"))


def _check_structure(
    value: dict[str, Any], members: dict[str, Shape], required: list[str], prefix: str, errors: list[str]
) -> None:
    for name in required:
        if value.get(name) is None and name in members:
            errors.append(f"Value null at '{prefix}{name}' failed to satisfy constraint: Member must not be null")
    for name, member in members.items():
        if value.get(name) is not None:  # null is absent, as AWS's JSON protocols read it
            _check(value[name], member, prefix + name, errors)


def _check_map(value: Any, shape: Shape, path: str, errors: list[str]) -> None:
    if not isinstance(value, dict):
        errors.append(_violation(path, "Member must be an object (a map)"))
        return
    _check_size(len(value), shape, path, errors, "have number of entries")
    for key, item in value.items():
        _check_string(key, shape.key, f"{path}.key", errors)  # type: ignore[attr-defined]
        if item is None:
            if shape.value.type_name != "structure":  # type: ignore[attr-defined]  # a null slot is an empty slot
                errors.append(f"Value null at '{path}.{key}' failed to satisfy constraint: Member must not be null")
        else:
            _check(item, shape.value, f"{path}.{key}", errors)  # type: ignore[attr-defined]


def _check_string(value: Any, shape: Shape, path: str, errors: list[str]) -> None:
    if not isinstance(value, str):
        errors.append(_violation(path, "Member must be a string"))
        return
    enum = getattr(shape, "enum", None)
    if enum and value not in enum:
        errors.append(_violation(path, f"Member must satisfy enum value set: [{', '.join(enum)}]"))
        return
    units = len(value.encode("utf-16-le")) // 2
    _check_size(units, shape, path, errors, "have length")
    pattern = shape.metadata.get("pattern")
    if pattern and units <= shape.metadata.get("max", units) and not _compiled(pattern).fullmatch(value):
        errors.append(_violation(path, f"Member must satisfy regular expression pattern: {pattern}"))


def _check_size(size: int, shape: Shape, path: str, errors: list[str], what: str) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        errors.append(_violation(path, f"Member must {what} greater than or equal to {low}"))
    if high is not None and size > high:
        errors.append(_violation(path, f"Member must {what} less than or equal to {high}"))


def _violation(path: str, constraint: str) -> str:
    return f"Value at '{path}' failed to satisfy constraint: {constraint}"


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@functools.cache
def _operation_input(operation: str) -> StructureShape:
    """The input shape of a `lexv2-runtime` operation, from botocore's model (loaded once, ~10 ms)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("lexv2-runtime")
    shape = model.operation_model(operation).input_shape
    assert shape is not None
    return shape


# --- JSON that is not data ----------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:40]} is too large for a number")
    return number


def _lone_surrogate_path(value: Any) -> str | None:
    """Where the first string holding a lone surrogate is (`sessionState.sessionAttributes.key`), or None."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return None  # the common case, checked at C speed
    except UnicodeEncodeError:
        pass
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return path or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                if _has_surrogate(str(key)):
                    return f"{path}.key" if path else "key"
                pending.append((child_path, child))
        elif isinstance(item, list):
            pending.extend((f"{path}.{index + 1}", child) for index, child in enumerate(item))
    return "body"


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(char) <= 0xDFFF for char in text)
