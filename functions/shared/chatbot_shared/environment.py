"""A function's environment, limited to the variables `contracts.stack` declares for it.

Each handler reads its environment in one place, a frozen `Settings` built by `FunctionEnvironment`, on first use
(so importing a handler needs no variable). This is the only module that touches `os.environ`: reading a
variable the contract does not list for the function is a programming error, and a missing required variable
is a `ConfigurationError` that names it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from contracts.stack import FUNCTION_ENVIRONMENT, LOCAL_ONLY_ENVIRONMENT, EnvVar


class ConfigurationError(Exception):
    """A variable the function needs is missing or malformed; the message names it and says what sets it."""


class FunctionEnvironment:
    """The variables of one function (its folder under `functions/`), read from `source` (default: `os.environ`)."""

    def __init__(self, function: str, source: Mapping[str, str] | None = None) -> None:
        self.function = function
        declared = FUNCTION_ENVIRONMENT[function] + LOCAL_ONLY_ENVIRONMENT.get(function, ())
        self.declared = {var.name: var for var in declared}
        self._source: Mapping[str, str] = os.environ if source is None else source

    def require(self, var: EnvVar) -> str:
        """The value of a required variable; ConfigurationError when it is unset or empty."""
        value = self._read(var, required=True)
        if value is None:
            raise ConfigurationError(
                f"environment variable {var.name} is not set: the {self.function} function needs it "
                f"(the stack sets every variable contracts.stack.FUNCTION_ENVIRONMENT[{self.function!r}] lists)"
            )
        return value

    def optional(self, var: EnvVar) -> str | None:
        """The value of an optional variable, or None when it is unset or empty."""
        return self._read(var, required=False)

    def optional_int(self, var: EnvVar, default: int) -> int:
        """An optional whole number, `default` when unset; ConfigurationError when it is not a whole number."""
        value = self.optional(var)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ConfigurationError(f"environment variable {var.name} must be a whole number, got {value!r}") from None

    def string_list(self, var: EnvVar) -> list[str]:
        """A required JSON list of strings, not empty; ConfigurationError otherwise."""
        value = self.require(var)
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not items or not all(isinstance(item, str) for item in items):
            raise ConfigurationError(f"environment variable {var.name} must be a JSON list of strings, got {value!r}")
        return items

    def _read(self, var: EnvVar, *, required: bool) -> str | None:
        declared = self.declared.get(var.name)
        if declared is None:
            raise LookupError(
                f"the {self.function} function reads {var.name}, which contracts.stack does not declare for it"
            )
        if declared.required != required:
            kind = "required" if declared.required else "optional"
            raise LookupError(f"contracts.stack declares {var.name} {kind} for the {self.function} function")
        return self._source.get(var.name) or None
