"""OriginSecret: the secret CloudFront adds to every request it forwards to the REST API, and the values the API
accepts, so the API's own execute-api URL is no way around the edge (its WAF and rate limits).

The secret is generated (`pulumi_random.RandomPassword`, kept in the stack's state as a Pulumi secret: encrypted
there, masked in previews, never a stack output) and rotated by a setting. Two values take turns: rotation `n` makes
CloudFront send value `n % 2`, and moving to `n + 1` replaces only the other value, which CloudFront then sends. The
API accepts both, so requests from edges that still send the old value (CloudFront takes minutes to change) are not
refused. A leaked value stops being accepted after two rotations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_random

SECRET_LENGTH = 48  # letters and digits: about 285 bits, and nothing a header value must escape
SLOTS = 2


@dataclass
class OriginSecretArgs:
    """What an OriginSecret needs."""

    rotation: int = 0
    """How many times the secret has been rotated; one more rotates it once. Left out: never rotated."""


class OriginSecret(pulumi.ComponentResource):
    """The origin secret CloudFront sends (`header_value`) and the values the API accepts (`accepted`), both secret."""

    def __init__(self, name: str, args: OriginSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.rotation < 0:
            raise ValueError(f"OriginSecretArgs.rotation must be 0 or more, got {args.rotation}")
        super().__init__("support-chatbot:index:OriginSecret", name, None, opts)
        self.values = [
            pulumi_random.RandomPassword(
                f"{name}-{slot}",
                length=SECRET_LENGTH,
                special=False,
                # A new keeper is a new value: each slot is renewed on every other rotation (see slot_generation).
                keepers={"generation": str(slot_generation(slot, args.rotation))},
                opts=pulumi.ResourceOptions(parent=self),
            )
            for slot in range(SLOTS)
        ]
        self.header_value: pulumi.Output[str] = pulumi.Output.secret(self.values[args.rotation % SLOTS].result)
        """What CloudFront sends in `contracts.stack.ORIGIN_SECRET_HEADER`."""
        self.accepted: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(*[value.result for value in self.values]).apply(lambda values: json.dumps(list(values)))
        )
        """What the API functions accept, as `ORIGIN_SECRETS` (a JSON list): the value CloudFront sends and the one
        it sent before the last rotation."""
        self.register_outputs({})  # nothing: the values stay out of the component's outputs


def slot_generation(slot: int, rotation: int) -> int:
    """How many times `slot` has been renewed by rotation `rotation`: slot 1 at rotations 1, 3, 5 ..., slot 0 at
    2, 4, 6 ...; so each rotation renews exactly the slot that becomes the one CloudFront sends."""
    return (rotation + slot) // SLOTS
