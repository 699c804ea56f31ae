"""The whole program's resource graph for each shipped stack, as `pulumi preview` would send it to the providers.

The deploy checks (CloudFormation schemas, AWS API constraints, the aws-native provider, the IAM policy docs) read
every resource `__main__.py` registers for `Pulumi.<stack>.yaml`, under Pulumi mocks, with no AWS and no CLI. A
run takes a few seconds, so each stack runs once per test session (`stack_graph`), whichever module asks first.

    from tests.infra.stack_graphs import SHIPPED_STACKS, stack_graph

    graph = stack_graph("prod")
    for resource in graph.of_package("aws-native"): ...
"""

from __future__ import annotations

import functools
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pulumi.runtime.mocks import MockResourceArgs

from tests.infra.conftest import ACCOUNT_ID, Mocks, RecordedResource, run_program

REPO = Path(__file__).resolve().parents[2]
SHIPPED_STACKS = ("dev", "prod")


class ProviderRecordingMocks(Mocks):
    """The infra tests' mocks, also remembering which provider each registration named.

    `MockResourceArgs.provider` is the provider reference the SDK sends (`<provider urn>::<provider id>`), empty
    when the resource leaves the choice to the engine's default provider for its package."""

    def __init__(self, region: str) -> None:
        super().__init__(account_id=ACCOUNT_ID, region=region)
        self.providers: dict[tuple[str, str], str] = {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.providers[(args.typ, args.name)] = args.provider or ""
        return super().new_resource(args)


@dataclass(frozen=True)
class StackGraph:
    """Every resource one stack's program registered, with the stack's settings and each resource's provider."""

    stack: str
    config: dict[str, Any]
    mocks: ProviderRecordingMocks

    @property
    def region(self) -> str:
        """The stack's `aws:region`, the one region everything of the stack should land in."""
        return str(self.config["aws:region"])

    @property
    def resources(self) -> list[RecordedResource]:
        """The custom resources (what providers create), providers themselves included; no components."""
        return [r for r in self.mocks.resources if r.custom]

    def of_package(self, package: str) -> list[RecordedResource]:
        """The custom resources of one provider package (`aws`, `aws-native`), providers excluded."""
        return [r for r in self.resources if r.type.split(":", 1)[0] == package]

    def provider_reference(self, resource: RecordedResource) -> str:
        """The provider reference the program gave `resource`: `<provider urn>::<id>`, or "" for the default."""
        return self.mocks.providers.get((resource.type, resource.name), "")

    def resource_by_urn(self, urn: str) -> RecordedResource | None:
        """The recorded resource with this URN, if the program registered one."""
        return next((r for r in self.mocks.resources if r.urn == urn), None)


def stack_config(stack: str) -> dict[str, Any]:
    """The `config:` of `Pulumi.<stack>.yaml`, as the CLI would hand it to the program."""
    document = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())
    return dict(document["config"])


def run_graph(program: Callable[[], object], config: Mapping[str, Any], stack: str = "test") -> StackGraph:
    """Run any `program` under mocks with `config` (which must set `aws:region`) and return its graph."""
    mocks = ProviderRecordingMocks(region=str(config["aws:region"]))
    run_program(program, config=config, stack=stack, mocks=mocks)
    return StackGraph(stack=stack, config=dict(config), mocks=mocks)


@functools.cache
def stack_graph(stack: str) -> StackGraph:
    """Run `__main__.py` for `stack` under mocks, once per session, and return what it registered."""
    if not (REPO / "site" / "dist" / "index.html").exists():
        raise RuntimeError("the chat page is not built, and the program needs it: run `make site`")

    def program() -> None:
        runpy.run_path(str(REPO / "__main__.py"), run_name="__main__")

    return run_graph(program, stack_config(stack), stack)
