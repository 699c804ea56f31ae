"""Write the README's configuration reference from the settings model (`components.settings`).

Run `.venv/bin/python scripts/generate_settings_table.py` after adding or changing a setting; the table between
the README's `settings-table` markers is replaced, and a test fails while it differs from what the model says.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"


def with_table(readme: str, table: str) -> str:
    """`readme` with the text between the markers replaced by `table`."""
    head, found_start, rest = readme.partition(START)
    _, found_end, tail = rest.partition(END)
    if not (found_start and found_end):
        raise SystemExit(f"{README}: the markers {START} and {END} are missing")
    return f"{head}{START}\n{table}{END}{tail}"


def main() -> None:
    """Rewrite README.md's configuration table in place."""
    sys.path.insert(0, str(REPO))
    from components.settings import configuration_table

    README.write_text(with_table(README.read_text(encoding="utf-8"), configuration_table()), encoding="utf-8")


if __name__ == "__main__":
    main()
