"""A Lambda handler that takes its time: it sleeps `event["seconds"]` and says which process ran it, and when."""

from __future__ import annotations

import os
import time
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.time()
    time.sleep(float(event.get("seconds", 0)))
    return {"pid": os.getpid(), "started": started, "ended": time.time(), "function": context.function_name}
