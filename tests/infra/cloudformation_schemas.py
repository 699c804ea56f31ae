"""aws-native resources checked against their CloudFormation resource schemas, offline.

pulumi-aws-native sends each resource to the Cloud Control API, which validates it against the type's
CloudFormation schema (`aws-native:lex:Bot` is `AWS::Lex::Bot`). cfn-lint ships every one of those schemas for
every region; `validate` turns the resource's Pulumi inputs (camelCase) into the CloudFormation document
(PascalCase), guided by the schema so free-form objects (policy documents, tags maps) keep their keys, and
validates it with jsonschema: required properties, enums, patterns, lengths, ranges, types, unknown properties.

Names are matched case-insensitively because aws-native's camelCase is not always CloudFormation's PascalCase
lower-cased at the first letter (`idleSessionTtlInSeconds` is `IdleSessionTTLInSeconds`). Schema patterns are
ECMAScript regexes searched in the value (JSON Schema's rule); they are compiled with the `regex` package, which
reads the forms Python's `re` does not.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import regex
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # type: ignore[import-untyped]
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from tests.infra.conftest import RecordedResource

# aws-native renames a few CloudFormation properties that clash with Pulumi's own names.
RENAMED_BY_AWS_NATIVE = {"awsId": "Id"}


@dataclass(frozen=True)
class SchemaViolation:
    """An input the CloudFormation schema refuses: which resource, which property, what value, which rule."""

    urn: str
    property: str
    value: Any
    rule: str

    def __str__(self) -> str:
        return f"{self.urn}: {self.property} = {_short(self.value)} breaks {self.rule}"


def cloudformation_type(type_token: str, region: str) -> str:
    """`aws-native:lex:Bot` -> `AWS::Lex::Bot`, as cfn-lint's schema list for `region` spells it."""
    package, service, resource = type_token.split(":")
    if package != "aws-native":
        raise ValueError(f"{type_token} is not an aws-native type")
    wanted = f"aws::{service}::{resource}".lower()
    spelled = _types_by_lowercase(region).get(wanted)
    if spelled is None:
        raise LookupError(f"{type_token}: cfn-lint has no CloudFormation schema for {wanted} in {region}")
    return spelled


@functools.cache
def _types_by_lowercase(region: str) -> dict[str, str]:
    return {name.lower(): name for name in PROVIDER_SCHEMA_MANAGER.get_resource_types(region)}


@functools.cache
def resource_schema(cfn_type: str, region: str) -> dict[str, Any]:
    """The CloudFormation resource schema of `cfn_type` in `region`, as cfn-lint ships it."""
    return dict(PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, cfn_type).schema)


def validate(resource: RecordedResource, region: str) -> list[SchemaViolation]:
    """Every way `resource`'s inputs break its CloudFormation schema (nothing: it would pass Cloud Control's check)."""
    cfn_type = cloudformation_type(resource.type, region)
    schema = resource_schema(cfn_type, region)
    paths: dict[tuple[str | int, ...], str] = {(): ""}
    document = to_cloudformation(schema, schema, resource.inputs, (), "", paths)
    validator = _validator(schema)
    found = []
    for error in validator.iter_errors(document):
        for leaf in _leaves(error):
            found += _violations(resource.urn, cfn_type, leaf, paths)
    return found


def _violations(
    urn: str, cfn_type: str, error: ValidationError, paths: Mapping[tuple[str | int, ...], str]
) -> list[SchemaViolation]:
    """`error` as violations that name the Pulumi input: each unknown property, each missing one, or the value."""
    where = tuple(error.absolute_path)
    parent = paths.get(where, ".".join(map(str, where)))
    location = f"{cfn_type} schema at {'/'.join(str(p) for p in error.absolute_schema_path)}"

    def child(name: str) -> str:
        camel = name[:1].lower() + name[1:]
        return paths.get((*where, name)) or (f"{parent}.{camel}" if parent else camel)

    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = set(schema.get("properties", {}))
        patterns = [regex.compile(p) for p in schema.get("patternProperties", {})]
        extras = [k for k in error.instance if k not in known and not any(p.search(k) for p in patterns)]
        rule = f"additionalProperties false: not a property of this object ({location})"
        return [SchemaViolation(urn, child(name), error.instance[name], rule) for name in extras]
    if error.validator == "required" and isinstance(error.instance, Mapping):
        required = list(schema.get("required", []))
        missing = [name for name in required if name not in error.instance]
        rule = f"required {required} ({location})"
        return [SchemaViolation(urn, child(name), "(missing)", rule) for name in missing]
    rule = f"{error.validator} {_short(error.validator_value)} ({location})"
    return [SchemaViolation(urn, parent or "(the resource)", error.instance, rule)]


def to_cloudformation(
    root: Mapping[str, Any],
    node: Mapping[str, Any],
    value: Any,
    cfn_path: tuple[str | int, ...],
    pulumi_path: str,
    paths: dict[tuple[str | int, ...], str],
) -> Any:
    """`value` as CloudFormation spells it under schema `node`; `paths` learns each CloudFormation path's Pulumi
    path, so a failure names the input the program set."""
    node = _resolve(root, node)
    if isinstance(value, Mapping):
        properties = _properties(root, node)
        if not properties:  # free-form JSON (a policy document) or a map: keys are data, not property names
            return dict(value)
        by_lowercase = {name.lower(): name for name in properties}
        converted: dict[str, Any] = {}
        for key, item in value.items():
            name = RENAMED_BY_AWS_NATIVE.get(key) or by_lowercase.get(key.lower()) or key[:1].upper() + key[1:]
            child_path = (*cfn_path, name)
            paths[child_path] = f"{pulumi_path}.{key}" if pulumi_path else key
            converted[name] = to_cloudformation(
                root, properties.get(name, {}), item, child_path, paths[child_path], paths
            )
        return converted
    if isinstance(value, list):
        items = node.get("items", {})
        result = []
        for index, item in enumerate(value):
            paths[(*cfn_path, index)] = f"{pulumi_path}[{index}]"
            result.append(to_cloudformation(root, items, item, (*cfn_path, index), f"{pulumi_path}[{index}]", paths))
        return result
    if isinstance(value, float) and value.is_integer() and "integer" in _types(root, node):
        return int(value)  # Pulumi has one number type; the provider sends an integer where the schema says so
    return value


def _properties(root: Mapping[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    """The properties an object node may have, its combinators' (oneOf/anyOf/allOf) included."""
    found = dict(node.get("properties", {}))
    for combinator in ("oneOf", "anyOf", "allOf"):
        for branch in node.get(combinator, []):
            for name, spec in _properties(root, _resolve(root, branch)).items():
                found.setdefault(name, spec)
    return found


def _types(root: Mapping[str, Any], node: Mapping[str, Any]) -> set[str]:
    declared = node.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    for combinator in ("oneOf", "anyOf"):
        for branch in node.get(combinator, []):
            types |= _types(root, _resolve(root, branch))
    return types


def _resolve(root: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local `$ref`s (`#/definitions/Name`)."""
    seen = 0
    while "$ref" in node and seen < 32:
        target: Any = root
        for part in str(node["$ref"]).lstrip("#/").split("/"):
            target = target[part]
        node, seen = target, seen + 1
    return node


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """The innermost errors: for a failed oneOf/anyOf, the errors of its closest branch."""
    if error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None:
            yield from _leaves(best)
            return
    yield error


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _search_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """JSON Schema's `pattern` (a search, not a full match), compiled by `regex`."""
    if isinstance(instance, str) and _compiled(pattern).search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


_CloudFormationValidator = jsonschema.validators.extend(Draft7Validator, {"pattern": _search_pattern})


def _validator(schema: dict[str, Any]) -> Any:
    # Schemas carry cfn-lint's own keywords (insertionOrder, tagging, handlers); jsonschema ignores unknown ones.
    return _CloudFormationValidator(schema)
