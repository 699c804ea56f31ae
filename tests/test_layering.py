"""The layering rules in `.importlinter` hold, and breaking one fails `make lint`'s import check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("components", "contracts", "local", "bot", "functions")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter over the tree at `root` as `make lint` does."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": f"{root}:{root / 'functions' / 'shared'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_project_keeps_every_layering_rule():
    result = lint_imports(REPO)
    assert result.returncode == 0, f"import-linter found a broken layering rule:\n{result.stdout}{result.stderr}"


def test_a_local_module_importing_a_component_breaks_the_build(tmp_path):
    # GIVEN a copy of the project where the local stack imports infrastructure code
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    config_js = tmp_path / "local" / "config_js.py"
    config_js.write_text(config_js.read_text() + "\nimport components.chat_site  # noqa: E402\n")
    # WHEN the import rules are checked
    result = lint_imports(tmp_path)
    # THEN the check fails and names the rule and the offending import
    assert result.returncode != 0, f"a broken rule passed:\n{result.stdout}"
    assert "local/ imports neither components/ nor pulumi" in result.stdout
    assert "local.config_js -> components.chat_site" in result.stdout
