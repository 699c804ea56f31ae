"""A Lambda handler that logs with Powertools and prints, as the real handlers do."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

logger = Logger()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.info("handled", extra={"marker": event["marker"]})
    print(f"printed {event['marker']}")
    return {"ok": True}
