"""``windtunnel env``: temporary AWS environments, one stack per application and Git branch."""

from __future__ import annotations

import argparse
import json
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from windtunnel.cli.common import parse_parameters
from windtunnel.constants import DEFAULT_ENVIRONMENT_TTL
from windtunnel.environments.aws import make_session
from windtunnel.environments.cleanup import delete_environment
from windtunnel.environments.deploy import (
    create_stack,
    describe_stack,
    read_template,
    run_tool,
    tag_stack,
    tool_deployment,
)
from windtunnel.environments.inventory import (
    EnvironmentRecord,
    format_duration,
    list_environments,
    prune_environments,
)
from windtunnel.environments.naming import application_name, current_branch, stack_name
from windtunnel.environments.tags import EnvironmentSpec, format_time, parse_ttl
from windtunnel.errors import WindtunnelError
from windtunnel.template.loader import find_definition

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``env`` command group: create, delete, list, prune and name."""
    group = commands.add_parser(
        "env", help="temporary AWS environments, one stack per Git branch",
        description="Deploy an application to AWS as a temporary stack named after the "
                    "application and the Git branch, run tests against it, and delete it. "
                    "Stacks are tagged with their branch and expiry time, so 'env prune' can "
                    "delete the ones that a CI job left behind.")
    subcommands = group.add_subparsers(title="commands", metavar="COMMAND", required=True)

    create = subcommands.add_parser(
        "create", help="deploy the application as a temporary stack",
        description="Deploy the application at PATH as the stack <app>-<branch>. By default "
                    "the template goes to CloudFormation's CreateStack directly, which needs "
                    "a CloudFormation or SAM template without local artifacts; --tool "
                    "deploys with the application's own tool instead. Prints the stack "
                    "events until the stack is created, then its outputs.")
    _add_name_options(create)
    create.add_argument("--ttl", default=DEFAULT_ENVIRONMENT_TTL, metavar="DURATION",
                        help=f"how long the environment lives before 'env prune' deletes it, "
                             f"as a number with a unit w, d, h, m or s (default: "
                             f"{DEFAULT_ENVIRONMENT_TTL})")
    create.add_argument("--tool", choices=("sam", "serverless", "cdk"),
                        help="deploy with 'sam build' and 'sam deploy', 'serverless deploy' "
                             "or 'cdk deploy' instead of calling CreateStack")
    create.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a template parameter value; repeat for several")
    create.add_argument("--dry-run", action="store_true",
                        help="print the stack name, tags and commands, and deploy nothing")
    _add_aws_options(create)
    create.set_defaults(run=run_create)

    delete = subcommands.add_parser(
        "delete", help="delete a temporary stack and what blocks its deletion",
        description="Empty the stack's S3 buckets (every object version and delete "
                    "marker), stop its running Step Functions executions, then delete the "
                    "stack and print its events until it is gone. Resources whose "
                    "DeletionPolicy keeps them are left as they are. Only stacks that 'env "
                    "create' tagged are deleted.")
    delete.add_argument("name", metavar="NAME", help="the stack name, as 'env list' shows it")
    _add_aws_options(delete)
    delete.set_defaults(run=run_delete)

    listing = subcommands.add_parser(
        "list", help="list the temporary stacks with their branch, age and expiry",
        description="List the stacks that carry the windtunnel:environment tag in the "
                    "account and region.")
    listing.add_argument("--json", action="store_true", help="print the list as JSON")
    _add_aws_options(listing)
    listing.set_defaults(run=run_list)

    prune = subcommands.add_parser(
        "prune", help="delete the temporary stacks whose expiry time has passed",
        description="List the environments whose windtunnel:expires-at time has passed. "
                    "Without --yes nothing is deleted; with it, each one is deleted as 'env "
                    "delete' does. Exit status 1 when a deletion failed.")
    prune.add_argument("--yes", action="store_true",
                       help="delete the expired environments instead of only listing them")
    _add_aws_options(prune)
    prune.set_defaults(run=run_prune)

    name = subcommands.add_parser(
        "name", help="print the stack name that 'env create' would use",
        description="Print the stack name for the application at PATH and the branch, for "
                    "CI steps that need it before or after 'env create'.")
    _add_name_options(name)
    name.set_defaults(run=run_name)


def _add_name_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", type=Path, default=None, metavar="PATH",
                        help="a template file, or a directory with template.yaml, "
                             "serverless.yml or cdk.out (default: the current directory)")
    parser.add_argument("--app", metavar="NAME",
                        help="the application name (default: the Serverless Framework "
                             "service, stack_name in samconfig.toml, or the directory name)")
    parser.add_argument("--branch", metavar="BRANCH",
                        help="the Git branch (default: the branch checked out at PATH, or "
                             "$GITHUB_HEAD_REF, $GITHUB_REF_NAME or $CI_COMMIT_REF_NAME on "
                             "a detached HEAD)")


def _add_aws_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", metavar="REGION",
                        help="the AWS region (default: $AWS_REGION, $AWS_DEFAULT_REGION or "
                             "the profile's region)")
    parser.add_argument("--profile", metavar="PROFILE",
                        help="the AWS profile (default: $AWS_PROFILE or the default one)")
    # Also accepted before the command; SUPPRESS keeps the earlier value when absent here.
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks and debug logs")


def _report(line: str) -> None:
    print(line, flush=True)


def _spec(arguments: argparse.Namespace, definition: Path, *,
          now: datetime | None = None) -> EnvironmentSpec:
    app = arguments.app or application_name(definition)
    directory = definition if definition.is_dir() else definition.parent
    branch = arguments.branch or current_branch(directory)
    ttl = parse_ttl(getattr(arguments, "ttl", DEFAULT_ENVIRONMENT_TTL))
    created = now or datetime.now(UTC)
    return EnvironmentSpec(name=stack_name(app, branch), app=app, branch=branch,
                           expires_at=created + ttl)


def run_name(arguments: argparse.Namespace) -> int:
    """Print the stack name."""
    definition = find_definition(arguments.path or Path.cwd())
    print(_spec(arguments, definition).name)
    return 0


def run_create(arguments: argparse.Namespace) -> int:
    """Deploy the environment and print its outputs."""
    definition = find_definition(arguments.path or Path.cwd())
    spec = _spec(arguments, definition)
    parameters = parse_parameters(arguments.param)

    if arguments.tool is None:
        body, capabilities = read_template(definition)
        if arguments.dry_run:
            _print_plan(spec, [f"CreateStack of {definition} with capabilities "
                               f"{' '.join(capabilities)}"])
            return 0
        session = make_session(region=arguments.region, profile=arguments.profile)
        stack = create_stack(session.client("cloudformation"), spec, body=body,
                             capabilities=capabilities, parameters=parameters,
                             report=_report)
        _print_ready(stack, spec)
        return 0

    # The tools take the region as an option, so it is resolved before they run.
    session = make_session(region=arguments.region, profile=arguments.profile)
    deployment = tool_deployment(arguments.tool, definition, spec,
                                 region=str(session.region_name), profile=arguments.profile,
                                 parameters=parameters)
    if arguments.dry_run:
        _print_plan(spec, [f"(in {deployment.directory}) {shlex.join(command)}"
                           for command in deployment.commands])
        return 0

    run_tool(deployment, report=_report)
    client = session.client("cloudformation")
    if arguments.tool == "serverless":
        # The Framework has no option for stack tags, so they are added afterwards.
        stack = tag_stack(client, spec, report=_report)
    else:
        stack = _deployed_stack(client, spec, arguments.tool)
    _print_ready(stack, spec)
    return 0


def _deployed_stack(client: Any, spec: EnvironmentSpec, tool: str) -> dict[str, Any]:
    try:
        return describe_stack(client, spec.name)
    except WindtunnelError:
        if tool != "cdk":
            raise
        raise WindtunnelError(
            f"'cdk deploy' succeeded, but no stack is named {spec.name}: give the stack the "
            f"name in the context value windtunnel:environment, as "
            f"docs/temporary-environments.md shows") from None


def _print_plan(spec: EnvironmentSpec, steps: list[str]) -> None:
    print(f"Stack {spec.name} (dry run; nothing was deployed)")
    for key, value in spec.tags().items():
        print(f"  tag {key}={value}")
    for step in steps:
        print(f"  {step}")


def _print_ready(stack: dict[str, Any], spec: EnvironmentSpec) -> None:
    print(f"Environment {spec.name} is ready ({stack['StackStatus']}); it expires at "
          f"{format_time(spec.expires_at)}")
    outputs = stack.get("Outputs") or []
    if outputs:
        print("  Outputs:")
        width = max(len(output["OutputKey"]) for output in outputs)
        for output in outputs:
            print(f"    {output['OutputKey'].ljust(width)}  {output.get('OutputValue', '')}")
    print(f"  export AWS_SAM_STACK_NAME={spec.name}")


def run_delete(arguments: argparse.Namespace) -> int:
    """Delete the environment."""
    session = make_session(region=arguments.region, profile=arguments.profile)
    delete_environment(session, arguments.name, report=_report)
    print(f"Environment {arguments.name} is deleted")
    return 0


def run_list(arguments: argparse.Namespace) -> int:
    """Print the environments as a table or as JSON."""
    session = make_session(region=arguments.region, profile=arguments.profile)
    records = list_environments(session.client("cloudformation"))
    now = datetime.now(UTC)
    if arguments.json:
        print(json.dumps([_record_json(record, now) for record in records], indent=2))
        return 0
    if not records:
        print(f"No environments in {session.region_name}")
        return 0
    rows = [("NAME", "BRANCH", "STATUS", "AGE", "EXPIRES")]
    rows += [(record.name, record.branch, record.status,
              format_duration(record.age(now)), _expiry(record, now)) for record in records]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())
    return 0


def _expiry(record: EnvironmentRecord, now: datetime) -> str:
    if record.expires_at is None:
        return "never"
    if record.is_expired(now):
        return f"expired {format_duration(now - record.expires_at)} ago"
    return f"in {format_duration(record.expires_at - now)}"


def _record_json(record: EnvironmentRecord, now: datetime) -> dict[str, Any]:
    return {
        "name": record.name,
        "stackId": record.stack_id,
        "status": record.status,
        "app": record.app,
        "branch": record.branch,
        "createdAt": format_time(record.created),
        "ageSeconds": int(record.age(now).total_seconds()),
        "expiresAt": format_time(record.expires_at) if record.expires_at else None,
        "expired": record.is_expired(now),
    }


def run_prune(arguments: argparse.Namespace) -> int:
    """List the expired environments, and delete them with --yes."""
    session = make_session(region=arguments.region, profile=arguments.profile)
    now = datetime.now(UTC)
    result = prune_environments(session, now=now, delete=arguments.yes, report=_report)
    if not result.expired:
        print("No expired environments")
        return 0
    if not arguments.yes:
        print(f"{len(result.expired)} expired environments (run with --yes to delete them):")
        for record in result.expired:
            print(f"  {record.name}  {record.branch}  {_expiry(record, now)}")
        return 0
    print(f"Deleted {len(result.deleted)} of {len(result.expired)} expired environments")
    for name, message in result.failed.items():
        print(f"  {name} was not deleted: {message}")
    return 1 if result.failed else 0
