"""Resource handlers for EventBridge buses, rules, bus policies, archives and API destinations."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from windtunnel.deploy.resources.base import (
    Provisioned,
    ResourceContext,
    ResourceCreationFailed,
    provisions,
    require_properties,
)
from windtunnel.deploy.resources.properties import (
    check_properties,
    coerce_integer,
    coerce_integers,
    not_emulated,
)

# Properties that each type's CloudFormation schema accepts in a template. Read-only
# attributes are left out because a template cannot set them.
_PROPERTIES = {
    "AWS::Events::EventBus": frozenset({
        "DeadLetterConfig", "Description", "EventSourceName", "KmsKeyIdentifier", "LogConfig",
        "Name", "Policy", "Tags",
    }),
    "AWS::Events::Rule": frozenset({
        "Description", "EventBusName", "EventPattern", "Name", "RoleArn", "ScheduleExpression",
        "State", "Tags", "Targets",
    }),
    "AWS::Events::EventBusPolicy": frozenset({
        "Action", "Condition", "EventBusName", "Principal", "Statement", "StatementId",
    }),
    "AWS::Events::Archive": frozenset({
        "ArchiveName", "Description", "EventPattern", "KmsKeyIdentifier", "RetentionDays",
        "SourceArn",
    }),
    "AWS::Events::Connection": frozenset({
        "AuthParameters", "AuthorizationType", "Description", "InvocationConnectivityParameters",
        "KmsKeyIdentifier", "Name",
    }),
    "AWS::Events::ApiDestination": frozenset({
        "ConnectionArn", "Description", "HttpMethod", "InvocationEndpoint",
        "InvocationRateLimitPerSecond", "Name",
    }),
}

# EventBridge's name limits: rules 64 characters, archives 48, connections and API
# destinations 64.
_RULE_NAME_MAX = 64
_ARCHIVE_NAME_MAX = 48
_CONNECTION_NAME_MAX = 64



def _as_json(value: Any) -> str:
    """Serialize a value that a template may give as an object or as a JSON string."""
    return value if isinstance(value, str) else json.dumps(value)


def _tags(tags: Iterable[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    return [{"Key": str(tag["Key"]), "Value": str(tag["Value"])} for tag in tags or ()]


def _bus_name(name_or_arn: str) -> str:
    """Return the bus name from a bus name or a bus ARN (``...:event-bus/name``)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.rsplit("event-bus/", 1)[-1]
    return name_or_arn


@provisions("AWS::Events::EventBus")
def create_event_bus(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create an event bus and set its resource-based policy."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "Name")
    events = context.client("events")

    name = str(properties["Name"])
    request: dict[str, Any] = {"Name": name}
    for key in ("EventSourceName", "Description", "KmsKeyIdentifier", "DeadLetterConfig",
                "LogConfig"):
        if key in properties:
            request[key] = properties[key]
    if properties.get("Tags"):
        request["Tags"] = _tags(properties["Tags"])
    arn = events.create_event_bus(**request)["EventBusArn"]

    policy = None
    if "Policy" in properties:
        policy = _as_json(properties["Policy"])
        events.put_permission(EventBusName=name, Policy=policy)
    return Provisioned(physical_id=name,
                       attributes={"Arn": arn, "Name": name, "Policy": policy})


def _target_request(target: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Translate the template target at ``path`` into a PutTargets entry, coercing its numbers."""
    require_properties(target, "Arn", "Id")
    entry = dict(target)
    retry = entry.get("RetryPolicy")
    if retry is not None:
        entry["RetryPolicy"] = coerce_integers(retry, f"{path}/RetryPolicy")
    return entry


@provisions("AWS::Events::Rule")
def create_rule(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a rule on the default or a custom bus and put its targets."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    events = context.client("events")

    name = properties.get("Name") or context.physical_name(max_length=_RULE_NAME_MAX)
    request: dict[str, Any] = {"Name": name, "State": properties.get("State", "ENABLED")}
    if "EventPattern" in properties:
        request["EventPattern"] = _as_json(properties["EventPattern"])
    for key in ("ScheduleExpression", "Description", "RoleArn", "EventBusName"):
        if key in properties:
            request[key] = properties[key]
    if properties.get("Tags"):
        request["Tags"] = _tags(properties["Tags"])
    arn = events.put_rule(**request)["RuleArn"]

    targets = [_target_request(target, f"Targets/{index}")
               for index, target in enumerate(properties.get("Targets", ()))]
    if targets:
        target_request: dict[str, Any] = {"Rule": name, "Targets": targets}
        if "EventBusName" in properties:
            target_request["EventBusName"] = properties["EventBusName"]
        failed = events.put_targets(**target_request).get("FailedEntries") or []
        if failed:
            raise ResourceCreationFailed(
                f"PutTargets failed for target {failed[0].get('TargetId')}: "
                f"{failed[0].get('ErrorMessage')}"
            )

    # Ref is the rule name on the default bus and "bus name|rule name" on a custom bus.
    bus_name = _bus_name(str(properties.get("EventBusName", "default")))
    physical_id = name if bus_name == "default" else f"{bus_name}|{name}"
    return Provisioned(physical_id=physical_id, attributes={"Arn": arn})


@provisions("AWS::Events::EventBusPolicy")
def create_event_bus_policy(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Add one statement to an event bus's resource-based policy."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "StatementId")
    events = context.client("events")

    statement_id = str(properties["StatementId"])
    bus_name = str(properties.get("EventBusName", "default"))
    if "Statement" in properties:
        # PutPermission takes a whole policy, so the statement joins the bus's current one.
        current = events.describe_event_bus(Name=bus_name).get("Policy")
        policy: dict[str, Any] = (json.loads(current) if current
                                  else {"Version": "2012-10-17", "Statement": []})
        statement = json.loads(_as_json(properties["Statement"]))
        statement["Sid"] = statement_id
        policy["Statement"] = [existing for existing in policy["Statement"]
                               if existing.get("Sid") != statement_id] + [statement]
        events.put_permission(EventBusName=bus_name, Policy=json.dumps(policy))
    else:
        require_properties(properties, "Action", "Principal")
        request: dict[str, Any] = {
            "EventBusName": bus_name,
            "StatementId": statement_id,
            "Action": properties["Action"],
            "Principal": properties["Principal"],
        }
        if "Condition" in properties:
            request["Condition"] = properties["Condition"]
        events.put_permission(**request)

    # NOTE: Ref is the statement ID here. Whether AWS also prefixes the bus name for a
    # custom bus is unconfirmed.
    return Provisioned(physical_id=statement_id)


@provisions("AWS::Events::Archive")
def create_archive(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create an archive of the events that reach a bus."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "SourceArn")
    events = context.client("events")

    name = properties.get("ArchiveName") or context.physical_name(max_length=_ARCHIVE_NAME_MAX)
    request: dict[str, Any] = {"ArchiveName": name, "EventSourceArn": properties["SourceArn"]}
    if "EventPattern" in properties:
        request["EventPattern"] = _as_json(properties["EventPattern"])
    if "RetentionDays" in properties:
        request["RetentionDays"] = coerce_integer(properties["RetentionDays"], "RetentionDays")
    for key in ("Description", "KmsKeyIdentifier"):
        if key in properties:
            request[key] = properties[key]
    arn = events.create_archive(**request)["ArchiveArn"]
    return Provisioned(physical_id=name, attributes={"Arn": arn})


def _arn_for_policy(arn: str) -> str:
    """Drop the generated ID that ends a connection or API destination ARN."""
    return arn.rsplit("/", 1)[0]


@provisions("AWS::Events::Connection")
def create_connection(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create a connection that stores the authorization for API destinations."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    if "InvocationConnectivityParameters" in properties:
        raise not_emulated(context.resource_type, "InvocationConnectivityParameters",
                           "private API connections need a VPC lattice resource",
                           type_first=True)
    events = context.client("events")

    name = properties.get("Name") or context.physical_name(max_length=_CONNECTION_NAME_MAX)
    request: dict[str, Any] = {"Name": name}
    for key in ("AuthorizationType", "AuthParameters", "Description", "KmsKeyIdentifier"):
        if key in properties:
            request[key] = properties[key]
    arn = events.create_connection(**request)["ConnectionArn"]
    secret_arn = events.describe_connection(Name=name).get("SecretArn")
    return Provisioned(physical_id=name, attributes={
        "Arn": arn, "ArnForPolicy": _arn_for_policy(arn), "SecretArn": secret_arn,
    })


@provisions("AWS::Events::ApiDestination")
def create_api_destination(context: ResourceContext, properties: dict[str, Any]) -> Provisioned:
    """Create an API destination that rules can target."""
    check_properties(properties, _PROPERTIES[context.resource_type])
    require_properties(properties, "ConnectionArn", "InvocationEndpoint", "HttpMethod")
    events = context.client("events")

    name = properties.get("Name") or context.physical_name(max_length=_CONNECTION_NAME_MAX)
    request: dict[str, Any] = {
        "Name": name,
        "ConnectionArn": properties["ConnectionArn"],
        "InvocationEndpoint": properties["InvocationEndpoint"],
        "HttpMethod": properties["HttpMethod"],
    }
    if "InvocationRateLimitPerSecond" in properties:
        request["InvocationRateLimitPerSecond"] = coerce_integer(
            properties["InvocationRateLimitPerSecond"], "InvocationRateLimitPerSecond")
    if "Description" in properties:
        request["Description"] = properties["Description"]
    arn = events.create_api_destination(**request)["ApiDestinationArn"]
    return Provisioned(physical_id=name,
                       attributes={"Arn": arn, "ArnForPolicy": _arn_for_policy(arn)})
