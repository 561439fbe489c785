"""Stack names of temporary environments follow CloudFormation's StackName rules.

CreateStack's StackName "can contain only alphanumeric characters (case sensitive) and
hyphens. It must start with an alphabetical character and can't be longer than 128
characters" (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from windtunnel.environments.naming import (
    application_name,
    current_branch,
    stack_name,
    tag_value,
)
from windtunnel.errors import WindtunnelError

_STACK_NAME_RULE = re.compile(r"^[A-Za-z][-A-Za-z0-9]*$")


@pytest.mark.parametrize(("app", "branch", "expected"), [
    ("orders", "main", "orders-main"),
    ("orders", "feature/JIRA-12_add items", "orders-feature-JIRA-12-add-items"),
    ("orders", "fix//double--hyphen", "orders-fix-double-hyphen"),
    ("cart_service", "-leading-and-trailing-", "cart-service-leading-and-trailing"),
    ("2048-game", "main", "env-2048-game-main"),
    ("orders", "dependabot/pip/boto3-1.35.0", "orders-dependabot-pip-boto3-1-35-0"),
])
def test_stack_name_sanitized(app: str, branch: str, expected: str) -> None:
    """Characters outside letters, digits and hyphens become single hyphens."""
    name = stack_name(app, branch)

    assert name == expected
    assert _STACK_NAME_RULE.match(name)


def test_long_name_truncated_with_hash() -> None:
    """A name over 128 characters is cut and ends in a hash of the app and branch."""
    first = stack_name("orders", "feature/" + "a" * 200 + "-one")
    second = stack_name("orders", "feature/" + "a" * 200 + "-two")

    assert len(first) == 128
    assert len(second) == 128
    assert _STACK_NAME_RULE.match(first)
    assert first != second
    assert first[:119] == second[:119]
    assert re.fullmatch(r"[0-9a-f]{8}", first[-8:])


def test_name_of_128_characters_kept() -> None:
    """A name of exactly 128 characters is the maximum and stays as it is."""
    branch = "b" * (128 - len("orders-"))

    assert stack_name("orders", branch) == f"orders-{branch}"


def test_truncated_name_does_not_end_in_hyphens() -> None:
    """The cut never leaves two hyphens before the hash."""
    name = stack_name("orders", "x" * 112 + "-" + "y" * 50)

    assert len(name) <= 128
    assert "--" not in name
    assert _STACK_NAME_RULE.match(name)


@pytest.mark.parametrize(("app", "branch"), [("orders", "///"), ("___", "main")])
def test_name_without_letters_rejected(app: str, branch: str) -> None:
    """An app or branch with no letter or digit cannot name a stack."""
    with pytest.raises(WindtunnelError, match="no letter or digit"):
        stack_name(app, branch)


def test_tag_value_replaces_rejected_characters() -> None:
    """Branch names keep the characters that every service accepts in tag values."""
    assert tag_value("feature/a_b.c:d=e+f@g-h") == "feature/a_b.c:d=e+f@g-h"
    assert tag_value("fix #12 (urgent)!") == "fix-12-urgent-"
    assert len(tag_value("x" * 300)) == 256


def _git(directory: Path, *arguments: str) -> None:
    subprocess.run(["git", *arguments], cwd=directory, check=True, capture_output=True,
                   timeout=30)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A Git repository with one commit on the branch feature/basket."""
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "-c", "user.email=dev@example.com", "-c", "user.name=dev",
         "commit", "-q", "--allow-empty", "-m", "first")
    _git(tmp_path, "checkout", "-q", "-b", "feature/basket")
    return tmp_path


def test_branch_from_git(repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The branch is the one checked out."""
    monkeypatch.setenv("GITHUB_HEAD_REF", "not-used")

    assert current_branch(repository) == "feature/basket"


def test_detached_head_uses_ci_branch(repository: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A detached HEAD, as CI checks out pull requests, falls back to GITHUB_HEAD_REF."""
    _git(repository, "checkout", "-q", "--detach")
    monkeypatch.delenv("GITHUB_REF_NAME", raising=False)
    monkeypatch.setenv("GITHUB_HEAD_REF", "feature/from-pr")

    assert current_branch(repository) == "feature/from-pr"


def test_detached_head_without_ci_rejected(repository: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a branch anywhere, the error names --branch."""
    _git(repository, "checkout", "-q", "--detach")
    for name in ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME"):
        monkeypatch.delenv(name, raising=False)

    with pytest.raises(WindtunnelError, match=r"detached HEAD.*--branch"):
        current_branch(repository)


def test_app_name_from_serverless_service(tmp_path: Path) -> None:
    """A Serverless Framework app is named by its service."""
    definition = tmp_path / "serverless.yml"
    definition.write_text("service: cart\nprovider:\n  name: aws\n", encoding="utf-8")

    assert application_name(definition) == "cart"


def test_app_name_with_variable_service_rejected(tmp_path: Path) -> None:
    """A service built from variables needs --app."""
    definition = tmp_path / "serverless.yml"
    definition.write_text("service: ${self:custom.name}\n", encoding="utf-8")

    with pytest.raises(WindtunnelError, match="--app"):
        application_name(definition)


def test_app_name_from_samconfig(tmp_path: Path) -> None:
    """A SAM app is named by samconfig.toml's stack_name, as 'sam deploy' names it."""
    (tmp_path / "template.yaml").write_text("Resources: {}\n", encoding="utf-8")
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[default.deploy.parameters]\nstack_name = "orders-api"\n',
        encoding="utf-8")

    assert application_name(tmp_path / "template.yaml") == "orders-api"


def test_app_name_from_directory(tmp_path: Path) -> None:
    """Without a configured name, the application's directory names it."""
    application = tmp_path / "inventory"
    (application / "cdk.out").mkdir(parents=True)

    assert application_name(application / "cdk.out") == "inventory"
