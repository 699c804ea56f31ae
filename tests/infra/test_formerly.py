"""Formerly: a component's children registered with aliases to where a deployed stack has them."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from components.formerly import Formerly

OLD_PARENT = "urn:pulumi:test::support-chatbot::support-chatbot:index:Old::old"


def aliases(resource) -> list[tuple[str, str]]:
    """(name, parent) of each alias a registration carries."""
    return [(alias.name, alias.parent) for alias in resource.aliases]


class Box(pulumi.ComponentResource):
    """A component with a child and a grandchild, named after it."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Box", name, None, opts)
        inner = pulumi.ComponentResource("test:index:Inner", f"{name}-inner", None, pulumi.ResourceOptions(parent=self))
        aws.sqs.Queue(f"{name}-inner-queue", opts=pulumi.ResourceOptions(parent=inner))
        aws.sqs.Queue(f"{name}-queue", opts=pulumi.ResourceOptions(parent=self))


def test_direct_children_get_their_former_name_under_the_former_parent(run_pulumi):
    # GIVEN a component whose resources were children of `old`, named old-...
    formerly = Formerly(parent=OLD_PARENT, name="old")
    # WHEN it is registered with the options Formerly gives it
    mocks = run_pulumi(lambda: Box("new", formerly.options("new")))
    # THEN each direct child carries an alias to its former name and parent; the component itself carries none
    assert aliases(mocks.named("new-queue")) == [("old-queue", OLD_PARENT)]
    assert aliases(mocks.named("new-inner")) == [("old-inner", OLD_PARENT)]
    assert aliases(mocks.named("new")) == [], "the component is new: it has no former self"
    # AND a grandchild carries none of its own: the engine gives it its parent's alias, re-prefixed
    assert aliases(mocks.named("new-inner-queue")) == []


def test_a_renamed_resource_keeps_its_parent():
    # GIVEN / WHEN a resource of component `new` that stayed where it was, under another component's resource
    alias = Formerly(parent=OLD_PARENT, name="old").renamed("new", "new-invoke")
    # THEN its alias names only its former name
    assert (alias.name, alias.parent) == ("old-invoke", ...)


def test_a_child_not_named_after_its_component_has_no_former_name():
    # GIVEN / WHEN / THEN a name that does not start with the component's is refused, naming both
    with pytest.raises(ValueError, match="'stray' is not named after its component 'new'"):
        Formerly(parent=OLD_PARENT, name="old").former_name("new", "stray")
