"""The program's resource graph as a deployed stack sees it: URNs, and which former URN each resource takes over.

`pulumi up` keeps a deployed resource (no replacement) when the new program registers a resource with the same
URN, or with an alias naming the old URN. `claimed_urns` replays the engine's alias rules over a mocked run
(pulumi/pulumi `pkg/resource/deploy/step_generator.go`: `generateAliases`, `collapseAliasToUrn`,
`inheritedChildAlias`): an alias spec collapses to a URN, and a child also inherits its parent's alias (the one the
parent matched), its name re-prefixed when it began with the parent's name.

Recording a stack's URNs, e.g. before a refactoring, from any checkout of the program (the data files under
`tests/infra/data/` say which):

    .venv/bin/python -m tests.infra.resource_graph --program /path/to/checkout --stack dev > urns.txt
"""

from __future__ import annotations

import argparse
import runpy
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pulumi
import yaml

from tests.infra.conftest import STACK_TYPE, AliasSpec, Mocks, RecordedResource, run_program

REPO = Path(__file__).resolve().parents[2]
PROGRAM_PACKAGES = ("components", "contracts", "bot", "chatbot_shared")


class AliasConflictError(AssertionError):
    """Two resources of the new program claim one old URN, or a resource claims the URN of another: the engine
    refuses such a program (`Duplicate resource alias`)."""


DATA = Path(__file__).resolve().parent / "data"
EVERY_OPTION = "every-option"
"""A stack no one ships, with every optional setting on (tests/infra/data/every-option.yaml): the resources only
some stacks have (CORS preflights, the alarm topic, the web ACL, ...) are recorded and kept too."""


def stack_config(stack: str, program: Path = REPO) -> dict[str, Any]:
    """The config of `Pulumi.<stack>.yaml` in `program` (of tests/infra/data/every-option.yaml for EVERY_OPTION)."""
    path = DATA / f"{stack}.yaml" if stack == EVERY_OPTION else program / f"Pulumi.{stack}.yaml"
    config: dict[str, Any] = yaml.safe_load(path.read_text())["config"]
    return config


def run_stack(stack: str, program: Path = REPO, transformations: Sequence[pulumi.ResourceTransformation] = ()) -> Mocks:
    """Run `program`'s __main__.py as `pulumi up` would for `stack`, returning every resource and the stack outputs.
    `transformations` are registered as stack transformations first (a test may change what the program registers).

    A program other than this checkout is imported from its own folder (its `components`, `bot`, ... replace ours
    for the run), so a recording of an earlier commit is that commit's graph."""
    other = program.resolve() != REPO
    if other:
        sys.path[:0] = [str(program), str(program / "functions" / "shared")]
        _forget_program_modules()

    def main() -> dict[str, Any]:
        for transformation in transformations:
            pulumi.runtime.register_stack_transformation(transformation)
        runpy.run_path(str(program / "__main__.py"), run_name="__main__")
        root = pulumi.runtime.get_root_resource()
        assert root is not None
        return dict(root.outputs)  # type: ignore[attr-defined]

    try:
        return run_program(main, config=stack_config(stack, program), stack=stack)
    finally:
        if other:
            del sys.path[:2]
            _forget_program_modules()


def urns(resources: Iterable[RecordedResource]) -> list[str]:
    """The URNs of `resources`, sorted (the stack itself is left out: it is the same for every program)."""
    return sorted(r.urn for r in resources if r.type != STACK_TYPE)


def type_of(urn: str) -> str:
    """The resource type of `urn` (the last type of its type chain)."""
    return urn.split("::")[2].split("$")[-1]


def count_by_type(urn_list: Iterable[str]) -> Counter[str]:
    """How many resources of each type `urn_list` holds."""
    return Counter(type_of(urn) for urn in urn_list)


def claimed_urns(resources: Sequence[RecordedResource], old_urns: Iterable[str]) -> dict[str, str]:
    """Old URN -> the URN of the new resource that takes it over, as the engine matches them in registration
    order: by the resource's own URN first, then by its aliases. Raises AliasConflictError where the engine
    would refuse the program."""
    old = set(old_urns)
    new_urns = {r.urn for r in resources}
    matched_alias: dict[str, str] = {}  # new URN -> the old URN it took over through an alias (the engine's `aliases`)
    claimed: dict[str, str] = {}
    for resource in resources:
        for candidate in [resource.urn, *_aliases(resource, matched_alias)]:
            if candidate not in old:
                continue
            if candidate != resource.urn:
                if candidate in new_urns:
                    raise AliasConflictError(f"{resource.urn} claims {candidate}, a resource of the new program")
                if candidate in claimed:
                    raise AliasConflictError(f"{resource.urn} and {claimed[candidate]} both claim {candidate}")
                matched_alias[resource.urn] = candidate
            claimed[candidate] = resource.urn
            break
    return claimed


def _aliases(resource: RecordedResource, matched_alias: dict[str, str]) -> list[str]:
    """Every URN the engine looks the resource up by after its own: its aliases, then those inherited from the
    alias its parent matched (the engine's `generateAliases`)."""
    own = [_collapse(resource, alias, matched_alias) for alias in resource.aliases]
    found = list(own)
    parent_alias = matched_alias.get(resource.parent)
    if parent_alias:
        parent_name = _name_of(resource.parent)
        found.append(_inherited(resource.type, resource.name, parent_name, parent_alias))
        found += [_inherited(type_of(urn), _name_of(urn), parent_name, parent_alias) for urn in own]
    return list(dict.fromkeys(found))


def _collapse(resource: RecordedResource, alias: AliasSpec, matched_alias: dict[str, str]) -> str:
    """An alias spec as a whole URN (the engine's `collapseAliasToUrn`)."""
    if alias.urn:
        return alias.urn
    parent = alias.parent or resource.parent
    if alias.parent:
        parent = matched_alias.get(parent, parent)  # a parent that took over an old URN stands for that URN
    if alias.no_parent or (parent and _qualified_type(parent) == STACK_TYPE):
        parent = ""
    name, type_ = alias.name or resource.name, alias.type or resource.type
    if parent:
        return f"{parent.rsplit('::', 1)[0]}${type_}::{name}"
    stack, project = _stack_and_project(resource.urn)
    return f"urn:pulumi:{alias.stack or stack}::{alias.project or project}::{type_}::{name}"


def _inherited(child_type: str, child_name: str, parent_name: str, parent_alias: str) -> str:
    """The alias a child inherits from its parent's alias (the engine's `inheritedChildAlias`): a child named after
    its parent (`{parent}-role`) is renamed after the alias (`{alias}-role`)."""
    name = child_name
    if child_name.startswith(parent_name):
        name = _name_of(parent_alias) + child_name.removeprefix(parent_name)
    stack, project = _stack_and_project(parent_alias)
    return f"urn:pulumi:{stack}::{project}::{_qualified_type(parent_alias)}${child_type}::{name}"


def _name_of(urn: str) -> str:
    return urn.split("::", 3)[3]


def _qualified_type(urn: str) -> str:
    return urn.split("::")[2]


def _stack_and_project(urn: str) -> tuple[str, str]:
    stack, project = urn.removeprefix("urn:pulumi:").split("::")[:2]
    return stack, project


def _forget_program_modules() -> None:
    for module in [m for m in sys.modules if m.split(".")[0] in PROGRAM_PACKAGES]:
        del sys.modules[module]


def main(argv: Sequence[str] | None = None) -> None:
    """Print the sorted URNs of a stack of a checkout of the program."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--program", type=Path, default=REPO, help="a checkout of the program (default: this one)")
    parser.add_argument("--stack", required=True, help="the stack file to run: Pulumi.<stack>.yaml")
    args = parser.parse_args(argv)
    print("\n".join(urns(run_stack(args.stack, args.program).resources)))


if __name__ == "__main__":
    main()
