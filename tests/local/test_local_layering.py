"""The local stack stands on its own: it never loads the infrastructure code (`components/`) or pulumi.

It reads what it shares with the deployed stack from `contracts/`; importing `components/` would load pulumi
(about 0.4 s and a deployment tool's dependencies) into every `python -m local` and make the local stack
depend on infrastructure code. Checked in a fresh interpreter, so nothing this test session imported counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.local.stack_helpers import clean_env

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.local_stack

# Runs in the fresh interpreter: a finder first on sys.meta_path notes who imports a forbidden module (it finds
# nothing itself, so the import goes on as usual), then every module of local/ is imported and a stack is
# started and stopped, which also imports every function's handler.
PROBE = """
import importlib, json, pkgutil, sys, traceback

FORBIDDEN = ("components", "pulumi")
first_importers = {}

class NoteForbiddenImports:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top.startswith(FORBIDDEN) and top not in first_importers:
            frames = [f for f in traceback.extract_stack()[:-1] if "importlib._bootstrap" not in f.filename]
            first_importers[top] = [f"{f.filename}:{f.lineno}" for f in frames[-6:]]
        return None

sys.meta_path.insert(0, NoteForbiddenImports())
import local
for module in pkgutil.iter_modules(local.__path__, "local."):
    importlib.import_module(module.name)
from local.stack import LocalStack
stack = LocalStack("127.0.0.1", 0, log_level="WARNING")
stack.start()
loaded = set(sys.modules)
stack.stop()
loaded |= set(sys.modules)
offenders = sorted(name for name in loaded if name.partition(".")[0].startswith(FORBIDDEN))
print(json.dumps({"offenders": offenders, "first_importers": first_importers}))
"""


def test_the_local_stack_never_loads_components_or_pulumi() -> None:
    # GIVEN a fresh interpreter
    # WHEN it imports every module of local/ and starts and stops a local stack
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=clean_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"the probe failed:\n{result.stdout}\n{result.stderr}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # THEN no module of components/ or pulumi (pulumi, pulumi_aws, ...) was loaded
    importers = "\n".join(
        f"  {top} first imported from:\n    " + "\n    ".join(stack) for top, stack in report["first_importers"].items()
    )
    assert report["offenders"] == [], (
        f"the local stack loaded {report['offenders'][:10]} ({len(report['offenders'])} modules); "
        f"read shared facts from contracts/ instead.\n{importers}"
    )
