"""Moving resources into a new component without replacing them: aliases to where a deployed stack has them.

`pulumi up` keeps a deployed resource when the program registers one with the same URN, or with an alias naming
the old URN. When a refactoring moves resources from one component into another (renamed after its new owner),
`Formerly` says where they were, and the new component registers each child with an alias to that place.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Formerly:
    """Where a component's resources were before a refactoring moved them into it: children of the component
    whose URN is `parent`, named `{name}-...` where they are now `{component}-...`."""

    parent: pulumi.Input[str]
    """The URN of the component that held the resources (`pulumi.create_urn(name, type)`)."""
    name: str
    """The name their names began with there."""

    def former_name(self, component: str, child: str) -> str:
        """The name `child`, a resource of the component named `component`, had before: `name` for `component`."""
        if not child.startswith(f"{component}-"):
            raise ValueError(f"{child!r} is not named after its component {component!r}, so it has no former name")
        return self.name + child.removeprefix(component)

    def renamed(self, component: str, child: str) -> pulumi.Alias:
        """An alias for a resource that kept its parent and had its former name (e.g. a permission the component
        grants on another component's function)."""
        return pulumi.Alias(name=self.former_name(component, child))

    def options(self, component: str) -> pulumi.ResourceOptions:
        """The component's options: each direct child gets an alias to its former name under the former parent."""
        owner: list[pulumi.Resource] = []

        def alias_direct_children(
            args: pulumi.ResourceTransformationArgs,
        ) -> pulumi.ResourceTransformationResult | None:
            if not owner:  # the first resource a component's transformation sees is the component itself
                owner.append(args.resource)
                return None
            if args.opts.parent is not owner[0]:
                return None  # a grandchild inherits its parent's alias from the engine
            moved = pulumi.Alias(name=self.former_name(component, args.name), parent=self.parent)
            return pulumi.ResourceTransformationResult(
                args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(aliases=[moved]))
            )

        return pulumi.ResourceOptions(transformations=[alias_direct_children])
