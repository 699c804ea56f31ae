"""`python -m bench`: every benchmark, as one short table. Exits 1 if a benchmark's own checks fail."""

from __future__ import annotations

import sys

from bench import admin, api_fuzz, footprint, knowledge, load_local, nlu


def main() -> int:
    load_local.print_table(footprint.page_weight(), "Chat page (site/dist)")
    load_local.print_table(footprint.package_sizes(), "Lambda packages (Powertools from the public layer)")
    load_local.print_table(footprint.cold_imports(), "Handler cold import (fresh interpreter, median of 5)")
    nlu.report()
    knowledge_ok = knowledge.report()
    report = load_local.run()
    load_local.print_table(report.lines(), "Local stack under load (python -m local, loopback)")
    for error in report.errors[:10]:
        print(f"  error: {error}", file=sys.stderr)
    runs, seconds = api_fuzz.run()
    load_local.print_table(api_fuzz.report(runs, seconds), "API fuzzing (schemathesis, positive and negative)")
    load_local.print_table(admin.report(), "Admin list latency (GET /admin/turns, 100,000 turns in moto)")
    return 0 if report.ok and knowledge_ok and api_fuzz.ok(runs, api_fuzz.DEFAULT_EXAMPLES) else 1


if __name__ == "__main__":
    sys.exit(main())
