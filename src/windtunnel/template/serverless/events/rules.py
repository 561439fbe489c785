"""``schedule`` and ``eventBridge`` events: EventBridge rules that invoke functions.

Follows ``package/compile/events/schedule.js`` and ``event-bridge/`` of serverless/serverless.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from windtunnel.template.serverless import naming
from windtunnel.template.serverless.context import CompileContext, function_arn

__all__ = ["compile_event_bridge", "compile_schedules"]


def compile_schedules(ctx: CompileContext) -> None:
    """Add ``{Fn}EventsRuleSchedule{N}`` and its permission for each schedule expression."""
    for key in ctx.functions:
        number = 0
        for index, event in enumerate(ctx.events(key)):
            if "schedule" not in event:
                continue
            where = f"functions.{key}.events.{index}.schedule"
            config = event["schedule"]
            if isinstance(config, dict):
                rates = config.get("rate")
                rates = rates if isinstance(rates, list) else [rates]
                state = "DISABLED" if config.get("enabled") is False else "ENABLED"
                if config.get("method") == "scheduler":
                    # NOTE: EventBridge Scheduler schedules (method: scheduler) are not compiled.
                    raise ctx.unsupported(
                        f"schedule event of function '{key}' uses method: scheduler",
                        f"{where}.method",
                    )
                if len(rates) > 1 and config.get("name"):
                    raise ctx.invalid(
                        "You cannot specify a name when defining more than one rate expression",
                        where,
                    )
            else:
                rates = [config]
                config = {}
                state = "ENABLED"

            target: dict[str, Any] = {}
            input_value = config.get("input")
            if isinstance(input_value, dict):
                if isinstance(input_value.get("body"), str):
                    input_value = {**input_value, "body": json.loads(input_value["body"])}
                input_value = json.dumps(input_value, separators=(",", ":"))
            if input_value:
                target["Input"] = input_value
            if config.get("inputPath"):
                target["InputPath"] = config["inputPath"]
            if config.get("inputTransformer"):
                transformer = config["inputTransformer"]
                target["InputTransformer"] = {
                    "InputTemplate": transformer.get("inputTemplate"),
                    "InputPathsMap": transformer.get("inputPathsMap"),
                }
            target["Arn"] = function_arn(key)
            target["Id"] = f"{key}Schedule"

            for expression in rates:
                number += 1
                rule_id = naming.schedule_logical_id(key, number)
                properties: dict[str, Any] = {"ScheduleExpression": expression, "State": state}
                if config.get("name"):
                    properties["Name"] = config["name"]
                if config.get("description"):
                    properties["Description"] = config["description"]
                properties["Targets"] = [dict(target)]
                ctx.resources[rule_id] = {"Type": "AWS::Events::Rule", "Properties": properties}
                ctx.resources[naming.schedule_permission_logical_id(key, number)] = {
                    "Type": "AWS::Lambda::Permission",
                    "Properties": {
                        "FunctionName": function_arn(key),
                        "Action": "lambda:InvokeFunction",
                        "Principal": "events.amazonaws.com",
                        "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
                    },
                }


def _hash_name(name: str, suffix: str) -> str:
    digest = hashlib.md5(name.encode()).hexdigest()
    return f"{name[: 31 - len(suffix)]}{digest}-{suffix}"


def _rule_name(function_name: str, index: int) -> str:
    # event-bridge/utils.js makeAndHashRuleName: rule names are at most 64 characters.
    name = f"{function_name}-rule-{index}"
    return _hash_name(name, f"rule-{index}") if len(name) > 64 else name


def _target_id(rule_name: str) -> str:
    target_id = f"{rule_name}-target"
    return _hash_name(target_id, "target") if len(target_id) > 64 else target_id


def compile_event_bridge(ctx: CompileContext) -> None:
    """Add the rule, permission and (when named) event bus of each eventBridge event."""
    options = ctx.provider.get("eventBridge") or {}
    if options.get("useCloudFormation") is False:
        # NOTE: the custom-resource EventBridge integration of Framework v2 is not compiled.
        raise ctx.unsupported(
            "provider.eventBridge.useCloudFormation: false", "provider.eventBridge"
        )
    for key in ctx.functions:
        function_name = ctx.function_name(key)
        for position, event in enumerate(ctx.events(key), start=1):
            if "eventBridge" not in event:
                continue
            # The Framework numbers eventBridge rules by their position among all the
            # function's events, counting from 1.
            config = event["eventBridge"]
            where = f"functions.{key}.events.{position - 1}.eventBridge"
            inputs = [config.get(k) for k in ("input", "inputPath", "inputTransformer")]
            if len([value for value in inputs if value]) > 1:
                raise ctx.invalid(
                    "You can only set one of input, inputPath, or inputTransformer properties "
                    "for eventBridge events.",
                    where,
                )
            rule_name = config.get("name") or _rule_name(function_name, position)
            event_bus = config.get("eventBus")
            bus_name = event_bus
            creates_bus = False
            if isinstance(event_bus, str) and event_bus.startswith("arn"):
                bus_name = event_bus[event_bus.index("/") + 1 :]
            elif isinstance(event_bus, str) and event_bus != "default":
                creates_bus = True
                ctx.resources[naming.event_bus_logical_id(event_bus)] = {
                    "Type": "AWS::Events::EventBus",
                    "Properties": {"Name": event_bus},
                }

            target: dict[str, Any] = {"Arn": function_arn(key), "Id": _target_id(rule_name)}
            if config.get("input") is not None:
                target["Input"] = json.dumps(config["input"], separators=(",", ":"))
            if config.get("inputPath"):
                target["InputPath"] = config["inputPath"]
            if config.get("inputTransformer"):
                target["InputTransformer"] = {
                    k[0].upper() + k[1:]: v for k, v in config["inputTransformer"].items()
                }
            if config.get("retryPolicy"):
                target["RetryPolicy"] = {
                    k[0].upper() + k[1:]: v for k, v in config["retryPolicy"].items()
                }
            if config.get("deadLetterQueueArn"):
                target["DeadLetterConfig"] = {"Arn": config["deadLetterQueueArn"]}

            rule: dict[str, Any] = {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Description": config.get("description"),
                    "EventBusName": None if bus_name == "default" else bus_name,
                    "EventPattern": config.get("pattern"),
                    "Name": rule_name,
                    "ScheduleExpression": config.get("schedule"),
                    "State": "DISABLED" if config.get("enabled") is False else "ENABLED",
                    "Targets": [target],
                },
            }
            if creates_bus:
                rule["DependsOn"] = naming.event_bus_logical_id(str(event_bus))
            stub = f"{function_name}-rule-{position}"
            ctx.resources[naming.event_bridge_rule_logical_id(stub)] = rule

            arn_path = [bus_name, rule_name] if bus_name else [rule_name]
            ctx.resources[naming.event_bridge_permission_logical_id(key, position)] = {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": function_arn(key),
                    "Principal": "events.amazonaws.com",
                    "SourceArn": {
                        "Fn::Join": [
                            ":",
                            [
                                "arn",
                                {"Ref": "AWS::Partition"},
                                "events",
                                {"Ref": "AWS::Region"},
                                {"Ref": "AWS::AccountId"},
                                {"Fn::Join": ["/", ["rule", *arn_path]]},
                            ],
                        ]
                    },
                },
            }
