"""Name temporary environments after the application and the Git branch."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import tomllib
from pathlib import Path

from windtunnel.constants import ENV_GITHUB_HEAD_REF, ENV_GITHUB_REF_NAME, ENV_GITLAB_REF_NAME
from windtunnel.errors import WindtunnelError
from windtunnel.template.yaml import load_template_text

__all__ = [
    "MAX_STACK_NAME_LENGTH",
    "application_name",
    "current_branch",
    "stack_name",
    "tag_value",
]

logger = logging.getLogger(__name__)

# CloudFormation's StackName: "must start with an alphabetical character", may contain
# only alphanumeric characters and hyphens, and "can't be longer than 128 characters"
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
MAX_STACK_NAME_LENGTH = 128
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9-]+")
_HYPHENS = re.compile(r"-{2,}")
_HASH_LENGTH = 8

# Tag values propagate to the stack's resources, and the strictest services (S3, IAM)
# allow letters, digits, spaces and _ . : / = + - @ in at most 256 characters.
_TAG_VALUE_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_.:/=+@-]+")
_MAX_TAG_VALUE_LENGTH = 256

_SERVERLESS_FILES = ("serverless.yml", "serverless.yaml", "serverless.json")


def stack_name(app: str, branch: str) -> str:
    """Return the stack name ``<app>-<branch>``, changed to fit CloudFormation's rules.

    Every run of characters other than letters, digits and hyphens becomes one hyphen,
    and a name that does not start with a letter gets an ``env-`` prefix. A name longer
    than 128 characters is cut, and its last 8 characters become a hash of the app and
    branch, so that two long branch names with a common start still get two stacks.
    """
    app_part = _slug(app)
    branch_part = _slug(branch)
    if not app_part:
        raise WindtunnelError(f"the application name {app!r} has no letter or digit; "
                              f"pass a name with --app")
    if not branch_part:
        raise WindtunnelError(f"the branch name {branch!r} has no letter or digit; "
                              f"pass a name with --branch")

    name = f"{app_part}-{branch_part}"
    if not name[0].isalpha():
        name = f"env-{name}"
    if len(name) <= MAX_STACK_NAME_LENGTH:
        return name

    digest = hashlib.sha256(f"{app}\n{branch}".encode()).hexdigest()[:_HASH_LENGTH]
    kept = name[:MAX_STACK_NAME_LENGTH - _HASH_LENGTH - 1].rstrip("-")
    return f"{kept}-{digest}"


def tag_value(text: str) -> str:
    """Return ``text`` with the characters that some services reject in tags replaced."""
    return _TAG_VALUE_NOT_ALLOWED.sub("-", text)[:_MAX_TAG_VALUE_LENGTH]


def _slug(text: str) -> str:
    return _HYPHENS.sub("-", _NOT_ALLOWED.sub("-", text)).strip("-")


def current_branch(directory: Path) -> str:
    """Return the Git branch checked out in ``directory``.

    A detached HEAD, which CI systems check out for pull requests, falls back to the
    branch name that GitHub Actions or GitLab CI set in the environment.
    """
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=directory, capture_output=True,
            text=True, check=False, timeout=30)
    except FileNotFoundError:
        raise WindtunnelError("git is not installed, so the branch is unknown; pass it "
                              "with --branch") from None
    branch = completed.stdout.strip()
    if completed.returncode != 0:
        logger.debug("git rev-parse failed in %s: %s", directory, completed.stderr.strip())
        branch = ""
    if branch and branch != "HEAD":
        return branch

    for variable in (ENV_GITHUB_HEAD_REF, ENV_GITHUB_REF_NAME, ENV_GITLAB_REF_NAME):
        value = os.environ.get(variable, "").strip()
        if value:
            logger.debug("branch %s from $%s", value, variable)
            return value
    where = "a detached HEAD" if branch == "HEAD" else "not a Git working tree"
    raise WindtunnelError(f"{directory} is {where}, so the branch is unknown; pass it "
                          f"with --branch")


def application_name(definition: Path) -> str:
    """Return the application's name: the Serverless Framework service, the stack name in
    samconfig.toml, or else the name of the application's directory."""
    if definition.name in _SERVERLESS_FILES:
        return _serverless_service(definition)

    directory = definition if definition.is_dir() else definition.parent
    if directory.name == "cdk.out":
        directory = directory.parent
    configured = _samconfig_stack_name(directory)
    if configured:
        return configured
    return directory.resolve().name


def _serverless_service(definition: Path) -> str:
    try:
        document = load_template_text(definition.read_text(encoding="utf-8"), file=definition)
    except OSError as error:
        raise WindtunnelError(f"cannot read {definition}: {error.strerror}") from None
    service = document.get("service") if isinstance(document, dict) else None
    # Framework v1 also accepted "service: {name: ...}".
    if isinstance(service, dict):
        service = service.get("name")
    if not isinstance(service, str) or not service or "${" in service:
        raise WindtunnelError(f"{definition} has no literal 'service' name; pass the "
                              f"application name with --app")
    return service


def _samconfig_stack_name(directory: Path) -> str | None:
    config = directory / "samconfig.toml"
    if not config.is_file():
        return None
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        logger.debug("samconfig.toml in %s not read: %s", directory, error)
        return None
    default = data.get("default", {})
    for section in ("deploy", "global"):
        name = default.get(section, {}).get("parameters", {}).get("stack_name")
        if isinstance(name, str) and name:
            return name
    return None
