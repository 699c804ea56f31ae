"""OriginSecret under Pulumi mocks: two generated values take turns, a rotation renews only the one CloudFront is to
send next, and the API keeps accepting the one sent before; both are secrets."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.origin_secret import OriginSecret, OriginSecretArgs, slot_generation

RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


def origin_secret(rotation: int):
    """A program: an OriginSecret at `rotation`; returns what it offers and whether each is a secret."""

    def program():
        secret = OriginSecret("origin-secret", OriginSecretArgs(rotation=rotation))
        return {
            "header_value": secret.header_value,
            "accepted": secret.accepted,
            "header_value_is_secret": pulumi.Output.from_input(secret.header_value.is_secret()),
            "accepted_is_secret": pulumi.Output.from_input(secret.accepted.is_secret()),
        }

    return program


def values(mocks) -> dict[str, str]:
    return {p.name: p.outputs["result"] for p in mocks.of_type(RANDOM_PASSWORD)}


@pytest.mark.parametrize("rotation", [0, 1, 2, 7])
def test_a_rotation_renews_only_the_value_cloudfront_sends_next(run_pulumi, rotation):
    # GIVEN the secret at one rotation, and at the next
    before = run_pulumi(origin_secret(rotation))
    after = run_pulumi(origin_secret(rotation + 1))
    old, new = values(before), values(after)
    # WHEN / THEN exactly one value is new, and it is the one CloudFront now sends
    renewed = [name for name in old if old[name] != new[name]]
    assert len(renewed) == 1, f"rotation {rotation} -> {rotation + 1} renewed {renewed}"
    assert after.values["header_value"] == new[renewed[0]]
    # AND the value sent before is still accepted, so edges that still send it are not refused
    assert before.values["header_value"] in json.loads(after.values["accepted"])
    assert before.values["header_value"] != after.values["header_value"]


def test_the_api_accepts_exactly_the_two_values(run_pulumi):
    # GIVEN / WHEN an OriginSecret
    mocks = run_pulumi(origin_secret(0))
    # THEN the API is given both values, and CloudFront sends one of them
    accepted = json.loads(mocks.values["accepted"])
    assert sorted(accepted) == sorted(values(mocks).values())
    assert mocks.values["header_value"] in accepted
    assert all(len(value) == 48 for value in accepted)


def test_the_values_are_secrets_made_of_letters_and_digits(run_pulumi):
    # GIVEN / WHEN an OriginSecret
    mocks = run_pulumi(origin_secret(0))
    # THEN what it offers is secret (encrypted in the state, masked in previews and logs) ...
    assert mocks.values["header_value_is_secret"] is True
    assert mocks.values["accepted_is_secret"] is True
    # ... and each value is generated without special characters (a header value needs no escaping)
    for password in mocks.of_type(RANDOM_PASSWORD):
        assert (password.inputs["length"], password.inputs["special"]) == (48, False), password.urn


def test_each_slot_is_renewed_on_every_other_rotation():
    # GIVEN rotations 0 to 5 WHEN each slot's generation is read THEN each rotation renews exactly one slot, in turn
    generations = [(slot_generation(0, n), slot_generation(1, n)) for n in range(6)]
    assert generations == [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 3)]


def test_a_negative_rotation_is_refused(run_pulumi):
    with pytest.raises(ValueError, match="rotation must be 0 or more"):
        run_pulumi(origin_secret(-1))
