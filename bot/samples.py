"""Two sample customers (12345 and 67890), loaded into the customer table of stacks that ask for sample data."""

from __future__ import annotations

import json
from pathlib import Path

SAMPLE_CUSTOMERS_PATH = Path(__file__).with_name("sample_customers.json")


def load_sample_customers(path: Path = SAMPLE_CUSTOMERS_PATH) -> list[dict[str, str]]:
    """The sample customers, every attribute a string (AccountBalance is stored as a DynamoDB number)."""
    customers: list[dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return customers
