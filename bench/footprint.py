"""What the system weighs: the page's first load, each Lambda package, and each handler's cold import."""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pulumi

from contracts.stack import FUNCTION_ENVIRONMENT

REPO = Path(__file__).resolve().parent.parent
FUNCTIONS = tuple(FUNCTION_ENVIRONMENT)  # every function the stack deploys
IMPORT_ROUNDS = 5


def page_weight() -> list[tuple[str, str]]:
    """The gzipped first load of the chat page, as the site build measured it (site/dist/size.json)."""
    size_file = REPO / "site" / "dist" / "size.json"
    if not size_file.exists():
        return [("first load", "not built: run `make site`")]
    size = json.loads(size_file.read_text())
    rows = [("first load (gzip)", f"{size['firstLoadGzipBytes'] / 1024:.1f} KB of {size['budgetBytes'] / 1024:.0f} KB")]
    rows += [(f"  {name}", f"{count / 1024:.1f} KB") for name, count in size["files"].items()]
    return rows


def package_sizes() -> list[tuple[str, str]]:
    """Each function's deployment package, zipped as PythonFunction packages it (Powertools comes from the layer)."""
    from components.python_function import package

    rows = []
    for name in FUNCTIONS:
        archive = package(name, {"bot_content.json": "{}"} if name == "fulfillment" else {})
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path, asset in archive.assets.items():
                if isinstance(asset, pulumi.FileAsset):
                    zipped.writestr(path, Path(asset.path).read_bytes())
                elif isinstance(asset, pulumi.StringAsset):
                    zipped.writestr(path, asset.text)
        rows.append((f"{name} package", f"{len(buffer.getvalue()) / 1024:.1f} KB"))
    return rows


def cold_imports() -> list[tuple[str, str]]:
    """Median wall time to import each handler in a fresh interpreter: the code's share of a cold start."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'functions' / 'shared'}",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    rows = []
    for name in FUNCTIONS:
        timings = []
        for _ in range(IMPORT_ROUNDS):
            began = time.perf_counter()
            subprocess.run(  # noqa: S603 - our own interpreter on our own module
                [sys.executable, "-c", f"import functions.{name}.handler"], check=True, env=env, cwd=REPO
            )
            timings.append((time.perf_counter() - began) * 1000)
        rows.append((f"{name} cold import", f"{statistics.median(timings):.0f} ms"))
    baseline = []
    for _ in range(IMPORT_ROUNDS):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
        baseline.append((time.perf_counter() - began) * 1000)
    rows.append(("(interpreter alone)", f"{statistics.median(baseline):.0f} ms"))
    return rows
