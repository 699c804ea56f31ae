"""IAM building blocks shared by the components: trust policies and named-resource grants.

Every statement names its actions and resources; there is no `*` action anywhere, and a `*` resource
only where AWS offers no resource-level permission (the caller says why in a comment).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class Statement:
    """One Allow statement: exact actions on named resources, with optional conditions."""

    actions: Sequence[str]
    resources: Sequence[pulumi.Input[str]]
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.actions or any("*" in action for action in self.actions):
            raise ValueError(f"a statement needs exact actions, got {list(self.actions)}")
        if not self.resources:
            raise ValueError("a statement needs at least one resource")


def policy_document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """The JSON policy document for `statements`, resolved once every resource ARN is known."""
    resolved = pulumi.Output.all(*[pulumi.Output.all(*s.resources) for s in statements])

    def render(resources_per_statement: list[list[str]]) -> str:
        body = []
        for statement, resources in zip(statements, resources_per_statement, strict=True):
            entry: dict[str, Any] = {
                "Effect": "Allow",
                "Action": sorted(set(statement.actions)),
                "Resource": resources[0] if len(resources) == 1 else list(resources),
            }
            if statement.conditions:
                entry["Condition"] = {op: dict(values) for op, values in statement.conditions.items()}
            body.append(entry)
        return json.dumps({"Version": "2012-10-17", "Statement": body})

    return resolved.apply(render)


def service_trust_policy(service: str, *, source_account: str | None = None, source_arn: str | None = None) -> str:
    """A trust policy letting one AWS service (e.g. `lambda.amazonaws.com`) assume the role.

    `source_account` and `source_arn` (may end in `*`) pin it to that service acting for this account's resources
    (no confused deputy); give them where the service sends those keys when it assumes the role, as Lex does."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    conditions: dict[str, dict[str, str]] = {}
    if source_account is not None:
        conditions["StringEquals"] = {"aws:SourceAccount": source_account}
    if source_arn is not None:
        conditions["ArnLike"] = {"aws:SourceArn": source_arn}
    if conditions:
        statement["Condition"] = conditions
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def cloudfront_read_policy(bucket_arn: str, distribution_arn: str, *, sid: str) -> str:
    """A bucket policy: CloudFront may read objects (statement `sid`), only on behalf of this one distribution;
    nothing reaches the bucket without TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": f"{bucket_arn}/*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
                },
                deny_insecure_transport(bucket_arn),
            ],
        }
    )


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """A bucket policy statement refusing every request to the bucket and its objects not made over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def grant(
    name: str,
    role: aws.iam.Role,
    statements: Sequence[Statement],
    parent: pulumi.Resource,
) -> aws.iam.RolePolicy:
    """Attach an inline policy `name` with `statements` to `role`, as a child of the resource's owner."""
    return aws.iam.RolePolicy(
        name,
        role=role.id,
        policy=policy_document(statements),
        opts=pulumi.ResourceOptions(parent=parent),
    )


class Grants:
    """The inline policies an owner has granted: one per (grantee, purpose), so a repeated grant is harmless.

    Owners grant access to their own resources (`table.grant_write_data("fulfillment", role)`, CDK style);
    each policy is named `{owner}-{grantee}-{purpose}` and is a child of the owner.
    """

    def __init__(self, owner: pulumi.Resource, owner_name: str) -> None:
        self._owner = owner
        self._owner_name = owner_name
        self._granted: dict[tuple[str, str], aws.iam.RolePolicy] = {}

    def grant(
        self, grantee: str, purpose: str, role: aws.iam.Role, statements: Sequence[Statement]
    ) -> aws.iam.RolePolicy:
        """The policy letting `role` do `statements`, made on the first call for (grantee, purpose)."""
        key = (grantee, purpose)
        if key not in self._granted:
            name = f"{self._owner_name}-{grantee}-{purpose}"
            self._granted[key] = grant(name, role, statements, parent=self._owner)
        return self._granted[key]
