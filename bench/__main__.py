"""`python -m bench`: every benchmark, as one short table. Exits 1 if a benchmark's own checks fail."""

from __future__ import annotations

import statistics
import sys
import time

from bench import api_fuzz, footprint, load_local
from bot.schema import load_definition
from local.lex_nlu import Classifier

NLU_ROUNDS = 200
UTTERANCES = (
    "What is my order status for customer 12345?",
    "Tell me about your laptops",
    "I forgot my password",
    "The purple elephant sings opera at midnight",
)


def nlu_latency() -> list[tuple[str, str]]:
    """How long the local runtime takes to classify one utterance (pure, no HTTP): the runtime's own cost."""
    classifier = Classifier(load_definition().locales["en_US"])
    timings: list[float] = []
    for _ in range(NLU_ROUNDS):
        for text in UTTERANCES:
            began = time.perf_counter()
            classifier.classify(text)
            timings.append((time.perf_counter() - began) * 1000)
    p99 = statistics.quantiles(timings, n=100, method="inclusive")[98]
    return [
        ("classify p50", f"{statistics.median(timings):.2f} ms"),
        ("classify p99", f"{p99:.2f} ms"),
        ("samples compared per call", str(len(classifier.templates))),
    ]


def main() -> int:
    load_local.print_table(footprint.page_weight(), "Chat page (site/dist)")
    load_local.print_table(footprint.package_sizes(), "Lambda packages (Powertools from the public layer)")
    load_local.print_table(footprint.cold_imports(), "Handler cold import (fresh interpreter, median of 5)")
    load_local.print_table(nlu_latency(), "Local Lex runtime NLU (in-process, no HTTP)")
    report = load_local.run()
    load_local.print_table(report.lines(), "Local stack under load (python -m local, loopback)")
    for error in report.errors[:10]:
        print(f"  error: {error}", file=sys.stderr)
    runs, seconds = api_fuzz.run()
    load_local.print_table(api_fuzz.report(runs, seconds), "API fuzzing (schemathesis, positive and negative)")
    return 0 if report.ok and api_fuzz.ok(runs, api_fuzz.DEFAULT_EXAMPLES) else 1


if __name__ == "__main__":
    sys.exit(main())
