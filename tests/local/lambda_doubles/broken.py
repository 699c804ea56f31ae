"""A Lambda handler that raises on request, and answers something JSON cannot carry on request."""

from __future__ import annotations

import os
from typing import Any


class BrokenError(Exception):
    """What this handler raises."""


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    if event.get("raise"):
        raise BrokenError(event["raise"])
    if event.get("not_json"):
        return {"value": {1, 2}}  # a set: JSON has none
    return {"pid": os.getpid()}
